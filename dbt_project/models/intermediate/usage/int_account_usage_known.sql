{{ config(materialized='incremental', incremental_strategy='append',
          pre_hook=["{{ clear_when_scoped() }}",
                    "{{ windows_delete_stale(moved='extend') }}"],
          post_hook="{{ windows_delete_moved() }}") }}
-- depends_on: {{ ref('int_raw_batches') }}
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
-- Incremental (macros/usage/windows_incremental.sql): windows valid as stored (cutoff unchanged
-- and <= the new knowledge) are kept; the others (moved as_of windows, new ones, windows after
-- back-dated knowledge) are rewritten whole. A rewritten window's counters start from its base,
-- the latest kept window of its usage period, plus the records known since the base's cutoff.
-- A moved as_of window still valid at its stored cutoff is kept until the run has written it
-- anew (windows_delete_stale(moved='extend'), post_hook windows_delete_moved): it is its own
-- base, so a daily run aggregates only the counters known since the last run.

{%- set incremental = incremental_run() %}
{%- set state_resources = "('network.storage', 'storage.bytes_used', 'storage.files')" %}

with {{ windows_to_write() }},

{{ windows_bases(incremental) }},

transfer_records as (
    select account_id, context, resource, usage_period, known_at,
           CAST(settled_bytes AS DECIMAL(38,9)) as base_quantity
    from {{ ref('int_transfers_settled') }}
    where {{ windows_record_prefilter('known_at', 'completed_at') }}
),

event_records as (
    select account_id, context, resource, {{ usage_period_of('occurred_at') }} as usage_period,
           knowledge_at as known_at, CAST(quantity_base AS DECIMAL(38,9)) as base_quantity
    from {{ ref('int_usage_events_deduplicated') }}
    where {{ scope_usage_time_filter('occurred_at') }}
      and {{ windows_record_prefilter('knowledge_at', 'occurred_at') }}
),

counter_records as (
    select * from transfer_records
    union all
    select * from event_records
),

counters_first_known as (
    -- per line and first cutoff at which the records are known (buckets of this run only)
    select
        r.account_id, r.context, r.resource, r.usage_period,
        c.cutoff_at as first_cutoff_at,
        sum(r.base_quantity) as base_quantity,
        count(*) as record_count
    from counter_records as r
    inner join counter_buckets as c
        on c.usage_period = r.usage_period
        and r.known_at >= c.previous_cutoff_at
        and r.known_at < c.cutoff_at
    group by all
),

counters as (
    select
        f.account_id, f.context, f.resource, b.usage_period, b.known_period,
        b.cutoff_at, f.base_quantity, f.record_count
    from counters_first_known as f
    inner join window_bases as b
        on b.usage_period = f.usage_period
        and f.first_cutoff_at > b.base_cutoff_at
        and f.first_cutoff_at <= b.cutoff_at
    {%- if incremental %}
    union all
    -- the base's counter lines (counter and state resources are disjoint)
    select
        t.account_id, t.context, t.resource, b.usage_period, b.known_period,
        b.cutoff_at, t.base_quantity, t.record_count
    from {{ this }} as t
    inner join window_bases as b
        on b.usage_period = t.usage_period
        and b.base_known_period = t.known_period
    where t.resource not in {{ state_resources }}
    {%- endif %}
),

contracts as (
    select
        c.account_id, c.context, 'network.storage' as resource, c.usage_period, c.known_period,
        max(c.cutoff_at) as cutoff_at,
        sum(c.byte_seconds) as base_quantity,
        count(*) as record_count
    from {{ ref('int_storage_contracts_clipped') }} as c
    semi join windows as w
        on w.usage_period = c.usage_period
        and w.known_period = c.known_period
    group by c.account_id, c.context, c.usage_period, c.known_period
),

gauges as (
    select
        g.account_id, g.context, g.resource, g.usage_period, g.known_period,
        max(g.cutoff_at) as cutoff_at,
        case when g.resource = 'storage.files' then max(CAST(g.value_base AS DECIMAL(38,9)))
             else sum(g.held_base_seconds) end as base_quantity,
        count(*) as record_count
    from {{ ref('int_gauge_intervals_capped') }} as g
    semi join windows as w
        on w.usage_period = g.usage_period
        and w.known_period = g.known_period
    where g.holds_in_period
      and g.resource in ('storage.bytes_used', 'storage.files')
    group by g.account_id, g.context, g.resource, g.usage_period, g.known_period
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
    l.record_count,
    {{ batch_seq_now() }} as built_through_batch_seq
from lines as l
inner join {{ ref('resources') }} as r
    on r.resource = l.resource
