-- Every raw gauge sample, typed, with its reject reason (NULL = valid).
{%- set fields = ['_id', 'account_id', 'context', 'resource', 'value', 'unit', 'observed_at', 'recorded_at'] %}
{%- set spec = {
    'required': ['_id', 'account_id', 'context', 'resource', 'value', 'unit', 'observed_at', 'recorded_at'],
    'numbers': ['value'],
    'timestamps': ['observed_at', 'recorded_at'],
    'negative': ['value'],
} %}

with r as (
    select * from {{ source('storage', 'usage_samples') }}
),

p as (
    select r.*, {{ parsed_columns('r', spec) }} from r
),

resources as (
    select resource, kind from {{ ref('resources') }} where source_name = 'storage'
),

units as (
    select resource, unit, base_per_unit from {{ ref('unit_conversions') }}
)

select
    p._id as record_id,
    'storage' as source_name,
    'usage_samples' as collection_name,
    p._knowledge_at as knowledge_at,
    p._batch_id as batch_id,
    {{ raw_document('p', fields) }} as raw_document,
    p."__t_account_id" as account_id,
    p."__t_context" as context,
    p."__t_resource" as resource,
    p."__n_value" as value,
    p."__t_unit" as unit,
    {{ to_base_units('p."__n_value"', 'u.base_per_unit') }} as value_base,
    p."__s_observed_at" as observed_at,
    p."__s_recorded_at" as recorded_at,
    {{ reject_reason('p', spec,
        invalid=[('u.base_per_unit is not null and p."__n_value" is not null and ' ~ to_base_units('p."__n_value"', 'u.base_per_unit') ~ ' is null', 'value')],
        unknown_resource="res.resource is null or res.kind <> 'gauge'",
        unknown_unit='u.unit is null') }} as reject_reason
from p
left join resources as res on res.resource = p."__t_resource"
left join units as u on u.resource = p."__t_resource" and u.unit = p."__t_unit"
