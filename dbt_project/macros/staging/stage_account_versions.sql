{#- Staging body shared by every collection of billed-account versions (storage_network.renters,
    compute.accounts, storage.accounts): one document shape, so one set of casts and reject rules. -#}
{% macro stage_account_versions(source_name, collection_name) %}
{%- set fields = ['_id', 'plan', 'discount_pct', 'updated_at'] %}
{%- set spec = {
    'required': ['_id', 'plan', 'updated_at'],
    'optional': ['discount_pct'],
    'numbers': ['discount_pct'],
    'timestamps': ['updated_at'],
} %}

with r as (
    select * from {{ source(source_name, collection_name) }}
),

p as (
    select r.*, {{ parsed_columns('r', spec) }} from r
)

select
    p._id as record_id,
    '{{ source_name }}' as source_name,
    '{{ collection_name }}' as collection_name,
    p._knowledge_at as knowledge_at,
    p._batch_id as batch_id,
    {{ raw_document('p', fields) }} as raw_document,
    p."__t__id" as account_id,
    p."__t_plan" as plan,
    TRY_CAST(coalesce(p."__n_discount_pct", 0) AS DECIMAL(9,4)) as discount_pct,
    p."__s_updated_at" as updated_at,
    {{ reject_reason('p', spec, invalid=[(
        'p."__n_discount_pct" < 0 or p."__n_discount_pct" > 100'
        ~ ' or p."__n_discount_pct" <> TRY_CAST(p."__n_discount_pct" AS DECIMAL(9,4))', 'discount_pct')]) }} as reject_reason
from p
{% endmacro %}
