-- THE usage interface to pricing. Grain (account_id, context, resource, usage_period,
-- known_period): usage of `usage_period` as known at `cutoff_at` (close of `known_period`,
-- capped at as_of; known_period 'latest' = as_of).
-- base_quantity: exact, in the resource's base unit (byte_seconds, bytes, core_seconds, count),
-- DECIMAL(38,9) (fractions only where sources send them, e.g. core_seconds of fractional
-- core-hours, or sub-second timestamps). quantity: billable units, DECIMAL(38,12), rounded half
-- away from zero = exact_divide(base_quantity, base_per_billable_unit, 12).
-- storage.files: base_quantity = quantity = the series' peak (the line IS the series).
-- Only lines with at least one contributing record.
--
-- Computed from aggregates, not from the record-level proof (int_account_usage_records_known,
-- whose per-line sums equal these lines: a data test checks it):
-- - counters (settled transfers, events): each record is aggregated once, under K = the
--   earliest cutoff of its usage period that is after its knowledge time; the
--   line at a cutoff is the sum over K <= cutoff. Work ~ records x 1, not records x cutoffs.
-- - contracts and gauges: their per-cutoff models are summed (peak for storage.files).

with windows as (
    select usage_period, known_period, cutoff_at from {{ ref('int_usage_knowledge_windows') }}
),

cutoffs as (
    -- each usage period's distinct cutoffs with the one before (macros/usage/usage_math.sql)
    {{ usage_cutoff_ranges() }}
),

transfer_records as (
    select account_id, context, resource, usage_period, known_at,
           CAST(settled_bytes AS DECIMAL(38,9)) as base_quantity
    from {{ ref('int_transfers_settled') }}
),

event_records as (
    select account_id, context, resource, {{ usage_period_of('occurred_at') }} as usage_period,
           knowledge_at as known_at, CAST(quantity_base AS DECIMAL(38,9)) as base_quantity
    from {{ ref('int_usage_events_deduplicated') }}
    where {{ scope_usage_time_filter('occurred_at') }}
),

counter_records as (
    select * from transfer_records
    union all
    select * from event_records
),

counters_first_known as (
    -- per line and first cutoff at which the records are known
    select
        r.account_id, r.context, r.resource, r.usage_period,
        c.cutoff_at as first_cutoff_at,
        sum(r.base_quantity) as base_quantity,
        count(*) as record_count
    from counter_records as r
    inner join cutoffs as c
        on c.usage_period = r.usage_period
        and r.known_at >= c.previous_cutoff_at
        and r.known_at < c.cutoff_at
    group by all
),

counters as (
    select
        f.account_id, f.context, f.resource, w.usage_period, w.known_period,
        w.cutoff_at,
        sum(f.base_quantity) as base_quantity,
        sum(f.record_count) as record_count
    from counters_first_known as f
    inner join windows as w
        on w.usage_period = f.usage_period
        and f.first_cutoff_at <= w.cutoff_at
    group by all
),

contracts as (
    select
        account_id, context, 'network.storage' as resource, usage_period, known_period,
        max(cutoff_at) as cutoff_at,
        sum(byte_seconds) as base_quantity,
        count(*) as record_count
    from {{ ref('int_storage_contracts_clipped') }}
    group by account_id, context, usage_period, known_period
),

gauges as (
    select
        account_id, context, resource, usage_period, known_period,
        max(cutoff_at) as cutoff_at,
        case when resource = 'storage.files' then max(CAST(value_base AS DECIMAL(38,9)))
             else sum(held_base_seconds) end as base_quantity,
        count(*) as record_count
    from {{ ref('int_gauge_intervals_capped') }}
    where holds_in_period
      and resource in ('storage.bytes_used', 'storage.files')
    group by account_id, context, resource, usage_period, known_period
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
        CAST(sum(record_count) AS BIGINT) as record_count
    from (
        select * from counters
        union all
        select * from contracts
        union all
        select * from gauges
    )
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
