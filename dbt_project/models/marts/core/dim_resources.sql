-- The resources of SPEC section 3 (resources seed), which source provides each (source and
-- collection), and the units a source may send for it (unit_conversions seed).
with resources as (
    select * from {{ ref('resources') }}
),

units as (
    select resource, string_agg(unit, ',' order by base_per_unit, unit) as accepted_units
    from {{ ref('unit_conversions') }}
    group by resource
)

select
    CAST(r.resource AS VARCHAR) as resource,
    CAST(r.source_name AS VARCHAR) as source_name,
    CAST(case
        when r.resource = 'network.storage' then 'contracts'
        when r.resource in ('network.download', 'network.upload') then 'transfer_reports'
        when r.source_name = 'compute' then 'usage_events'
        when r.source_name = 'storage' then 'usage_samples'
    end AS VARCHAR) as collection_name,
    CAST(r.kind AS VARCHAR) as kind,
    CAST(r.base_unit AS VARCHAR) as base_unit,
    CAST(r.billable_unit AS VARCHAR) as billable_unit,
    CAST(r.base_per_billable_unit AS DECIMAL(38,0)) as base_per_billable_unit,
    CAST(r.aggregation AS VARCHAR) as aggregation,
    CAST(r.description AS VARCHAR) as description,
    CAST(u.accepted_units AS VARCHAR) as accepted_units
from resources as r
left join units as u on u.resource = r.resource
