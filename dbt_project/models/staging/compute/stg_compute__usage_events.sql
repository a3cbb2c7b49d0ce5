-- Every raw usage event, typed, with its reject reason (NULL = valid).
{%- set fields = ['_id', 'event_id', 'account_id', 'context', 'resource', 'quantity', 'unit', 'occurred_at', 'recorded_at'] %}
{%- set spec = {
    'required': ['_id', 'event_id', 'account_id', 'context', 'resource', 'quantity', 'unit', 'occurred_at', 'recorded_at'],
    'numbers': ['quantity'],
    'timestamps': ['occurred_at', 'recorded_at'],
    'negative': ['quantity'],
} %}

with r as (
    select * from {{ source('compute', 'usage_events') }}
),

p as (
    select r.*, {{ parsed_columns('r', spec) }} from r
),

resources as (
    select resource, kind from {{ ref('resources') }} where source_name = 'compute'
),

units as (
    select resource, unit, base_per_unit from {{ ref('unit_conversions') }}
)

select
    p._id as record_id,
    'compute' as source_name,
    'usage_events' as collection_name,
    p._knowledge_at as knowledge_at,
    p._batch_id as batch_id,
    {{ raw_document('p', fields) }} as raw_document,
    p."__t_event_id" as event_id,
    p."__t_account_id" as account_id,
    p."__t_context" as context,
    p."__t_resource" as resource,
    p."__n_quantity" as quantity,
    p."__t_unit" as unit,
    {{ to_base_units('p."__n_quantity"', 'u.base_per_unit') }} as quantity_base,
    p."__s_occurred_at" as occurred_at,
    p."__s_recorded_at" as recorded_at,
    {{ reject_reason('p', spec,
        invalid=[('u.base_per_unit is not null and p."__n_quantity" is not null and ' ~ to_base_units('p."__n_quantity"', 'u.base_per_unit') ~ ' is null', 'quantity')],
        unknown_resource="res.resource is null or res.kind <> 'counter'",
        unknown_unit='u.unit is null') }} as reject_reason
from p
left join resources as res on res.resource = p."__t_resource"
left join units as u on u.resource = p."__t_resource" and u.unit = p."__t_unit"
