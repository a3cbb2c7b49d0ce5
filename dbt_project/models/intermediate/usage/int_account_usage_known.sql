-- THE usage interface to pricing. Grain (account_id, context, resource, usage_period,
-- known_period): usage of `usage_period` as known at `cutoff_at` (close of `known_period`,
-- capped at as_of; known_period 'latest' = as_of).
-- base_quantity: exact, in the resource's base unit (byte_seconds, bytes, core_seconds, count),
-- DECIMAL(38,9) (fractions only where sources send them, e.g. core_seconds of fractional
-- core-hours, or sub-second timestamps). quantity: billable units, DECIMAL(38,12), rounded half
-- away from zero = exact_divide(base_quantity, base_per_billable_unit, 12).
-- storage.files: base_quantity = quantity = the series' peak (the line IS the series).
-- Only lines with at least one contributing record.

with records as (
    select * from {{ ref('int_account_usage_records_known') }}
),

lines as (
    select
        account_id,
        context,
        resource,
        usage_period,
        known_period,
        max(cutoff_at) as cutoff_at,
        CAST(sum(base_quantity) AS DECIMAL(38,9)) as base_quantity,
        count(*) as record_count
    from records
    group by account_id, context, resource, usage_period, known_period
)

select
    l.account_id,
    l.context,
    l.resource,
    l.usage_period,
    l.known_period,
    l.cutoff_at,
    l.base_quantity,
    r.base_unit,
    {{ exact_divide('l.base_quantity', 'r.base_per_billable_unit', 12) }} as quantity,
    r.billable_unit,
    l.record_count
from lines as l
inner join {{ ref('resources') }} as r
    on r.resource = l.resource
