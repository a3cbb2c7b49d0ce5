-- Every raw gauge sample, typed, with its reject reason (NULL = valid).
{%- set fields = ['_id', 'account_id', 'context', 'resource', 'value', 'unit', 'observed_at', 'recorded_at'] %}

with r as (
    select * from {{ source('storage', 'usage_samples') }}
),

resources as (
    select resource, kind from {{ ref('resources') }} where source_name = 'storage'
),

units as (
    select resource, unit, base_per_unit from {{ ref('unit_conversions') }}
)

select
    r._id as record_id,
    'storage' as source_name,
    'usage_samples' as collection_name,
    r._knowledge_at as knowledge_at,
    r._batch_id as batch_id,
    {{ raw_document('r', fields) }} as raw_document,
    {{ clean_text('r.account_id') }} as account_id,
    {{ clean_text('r.context') }} as context,
    {{ clean_text('r.resource') }} as resource,
    {{ parse_number('r.value') }} as value,
    {{ clean_text('r.unit') }} as unit,
    {{ to_base_units(parse_number('r.value'), 'u.base_per_unit') }} as value_base,
    {{ parse_timestamp('r.observed_at') }} as observed_at,
    {{ parse_timestamp('r.recorded_at') }} as recorded_at,
    {{ reject_reason(
        required=['_id', 'account_id', 'context', 'resource', 'value', 'unit', 'observed_at', 'recorded_at'],
        numbers=['value'],
        timestamps=['observed_at', 'recorded_at'],
        negative=['value'],
        unknown_resource="res.resource is null or res.kind <> 'gauge'",
        unknown_unit='u.unit is null'
    ) }} as reject_reason
from r
left join resources as res on res.resource = {{ clean_text('r.resource') }}
left join units as u on u.resource = {{ clean_text('r.resource') }} and u.unit = {{ clean_text('r.unit') }}
