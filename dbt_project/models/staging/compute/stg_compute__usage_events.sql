-- Every raw usage event, typed, with its reject reason (NULL = valid).
{%- set fields = ['_id', 'event_id', 'account_id', 'context', 'resource', 'quantity', 'unit', 'occurred_at', 'recorded_at'] %}

with r as (
    select * from {{ source('compute', 'usage_events') }}
),

resources as (
    select resource, kind from {{ ref('resources') }} where source_name = 'compute'
),

units as (
    select resource, unit, base_per_unit from {{ ref('unit_conversions') }}
)

select
    r._id as record_id,
    'compute' as source_name,
    'usage_events' as collection_name,
    r._knowledge_at as knowledge_at,
    r._batch_id as batch_id,
    {{ raw_document('r', fields) }} as raw_document,
    {{ clean_text('r.event_id') }} as event_id,
    {{ clean_text('r.account_id') }} as account_id,
    {{ clean_text('r.context') }} as context,
    {{ clean_text('r.resource') }} as resource,
    {{ parse_number('r.quantity') }} as quantity,
    {{ clean_text('r.unit') }} as unit,
    {{ to_base_units(parse_number('r.quantity'), 'u.base_per_unit') }} as quantity_base,
    {{ parse_timestamp('r.occurred_at') }} as occurred_at,
    {{ parse_timestamp('r.recorded_at') }} as recorded_at,
    {{ reject_reason(
        required=['_id', 'event_id', 'account_id', 'context', 'resource', 'quantity', 'unit', 'occurred_at', 'recorded_at'],
        numbers=['quantity'],
        timestamps=['occurred_at', 'recorded_at'],
        negative=['quantity'],
        unknown_resource="res.resource is null or res.kind <> 'counter'",
        unknown_unit='u.unit is null'
    ) }} as reject_reason
from r
left join resources as res on res.resource = {{ clean_text('r.resource') }}
left join units as u on u.resource = {{ clean_text('r.resource') }} and u.unit = {{ clean_text('r.unit') }}
