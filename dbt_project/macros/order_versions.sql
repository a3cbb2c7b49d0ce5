{#- Valid versions of a versioned document: identical (record_id, updated_at) repeats collapsed
    (earliest knowledge, then batch; the rest counted in duplicate_count), ordered per entity:
    valid_from = updated_at, valid_to = next version's updated_at (NULL for the latest). The version
    known at T is the one with valid_from < T <= valid_to (or valid_to NULL). -#}
{% macro order_versions(staging_model, entity_key) %}
with valid as (
    select * from {{ ref(staging_model) }} where reject_reason is null
),

ranked as (
    select
        *,
        row_number() over (partition by record_id, updated_at order by knowledge_at, batch_id) as rn,
        count(*) over (partition by record_id, updated_at) as n_rows
    from valid
),

versions as (
    select * exclude (rn, n_rows, reject_reason, raw_document), CAST(n_rows - 1 AS BIGINT) as duplicate_count
    from ranked
    where rn = 1
)

select
    *,
    updated_at as valid_from,
    lead(updated_at) over (partition by {{ entity_key }} order by updated_at) as valid_to,
    CAST(row_number() over (partition by {{ entity_key }} order by updated_at) AS INTEGER) as version_number,
    lead(updated_at) over (partition by {{ entity_key }} order by updated_at) is null as is_latest
from versions
{% endmacro %}
