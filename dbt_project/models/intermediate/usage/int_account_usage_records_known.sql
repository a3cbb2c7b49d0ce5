{{ config(materialized='incremental', incremental_strategy='append',
          pre_hook=["{{ clear_when_scoped() }}",
                    "{{ windows_delete_stale(keep_moved=false) }}"]) }}
-- depends_on: {{ ref('int_raw_batches') }}
-- The record-level proof of int_account_usage_known: every raw record contributing to a line
-- (account_id, context, resource, usage_period, known_period), with its exact contribution in
-- the resource's base unit. Two kinds of rows (is_cumulative):
-- - counters (is_cumulative = true): a settled transfer or usage event counts, once known, in
--   every later window of its usage period. It has ONE row, at its first window: known_period
--   = the earliest window of the usage period whose cutoff is after the record's knowledge time
--   (cutoff_at = that window's cutoff). The line of a window holds the counters with
--   cutoff_at <= the window's cutoff. (Not one row per window: that repeated every counter
--   ~3.5 times.)
-- - states (is_cumulative = false): contracts and gauges, whose contribution changes between
--   cutoffs: one row per window they contribute to.
-- So a line's base_quantity = SUM(states of the window) + SUM(counters first known at or
-- before its cutoff) (singular test assert_usage_records_sum_to_lines).
-- - network.storage: the contract version known at the cutoff (record = contract _id + its
--   updated_at), byte_seconds clipped to the period; related_record_id = the failed audit that
--   cut it short, if any.
-- - network.download / network.upload: settled transfer (record = renter report;
--   related_record_id = farmer report), settled bytes.
-- - compute.*: usage event occurred in the period, quantity_base.
-- - storage.bytes_used: sample whose hold meets the period, value x held seconds.
-- - storage.files: sample whose hold meets the period; the sample holding the series' peak
--   (earliest observed_at among equal values) contributes the peak value, the others 0.
-- Incremental (macros/usage/windows_incremental.sql): windows valid as stored (cutoff unchanged
-- and <= the new knowledge) are kept with their state rows and the counters first known in
-- them; the others are rewritten whole: their state rows, and the counters whose first window
-- they are (for the moved as_of windows: the records known since the last close).

{%- set incremental = incremental_run() %}

with {{ windows_to_write() }},

{{ records_first_windows() }},

contracts as (
    select
        account_id,
        context,
        'network.storage' as resource,
        usage_period,
        known_period,
        cutoff_at,
        source_name,
        collection_name,
        record_id,
        record_knowledge_at,
        failed_audit_record_id as related_record_id,
        byte_seconds as base_quantity,
        false as is_cumulative
    from {{ ref('int_storage_contracts_clipped') }} as c
    semi join windows as w
        on w.usage_period = c.usage_period
        and w.known_period = c.known_period
),

transfers as (
    select
        t.account_id,
        t.context,
        t.resource,
        w.usage_period,
        w.known_period,
        w.cutoff_at,
        t.source_name,
        t.collection_name,
        t.renter_record_id as record_id,
        t.renter_knowledge_at as record_knowledge_at,
        t.farmer_record_id as related_record_id,
        CAST(t.settled_bytes AS DECIMAL(38,9)) as base_quantity,
        true as is_cumulative
    from {{ ref('int_transfers_settled') }} as t
    inner join first_windows as w
        on w.usage_period = t.usage_period
        and t.known_at >= w.previous_cutoff_at
        and t.known_at < w.cutoff_at
    where {{ windows_record_prefilter('t.known_at', 't.completed_at') }}
),

events as (
    select
        e.account_id,
        e.context,
        e.resource,
        w.usage_period,
        w.known_period,
        w.cutoff_at,
        e.source_name,
        e.collection_name,
        e.record_id,
        e.knowledge_at as record_knowledge_at,
        CAST(NULL AS VARCHAR) as related_record_id,
        CAST(e.quantity_base AS DECIMAL(38,9)) as base_quantity,
        true as is_cumulative
    from {{ ref('int_usage_events_deduplicated') }} as e
    inner join first_windows as w
        on w.usage_period = {{ usage_period_of('e.occurred_at') }}
        and e.knowledge_at >= w.previous_cutoff_at
        and e.knowledge_at < w.cutoff_at
    where {{ windows_record_prefilter('e.knowledge_at', 'e.occurred_at') }}
),

gauge_holds as (
    select g.*
    from {{ ref('int_gauge_intervals_capped') }} as g
    semi join windows as w
        on w.usage_period = g.usage_period
        and w.known_period = g.known_period
    where g.holds_in_period
),

bytes_used as (
    select
        account_id,
        context,
        resource,
        usage_period,
        known_period,
        cutoff_at,
        source_name,
        collection_name,
        record_id,
        record_knowledge_at,
        CAST(NULL AS VARCHAR) as related_record_id,
        held_base_seconds as base_quantity,
        false as is_cumulative
    from gauge_holds
    where resource = 'storage.bytes_used'
),

files as (
    select
        account_id,
        context,
        resource,
        usage_period,
        known_period,
        cutoff_at,
        source_name,
        collection_name,
        record_id,
        record_knowledge_at,
        CAST(NULL AS VARCHAR) as related_record_id,
        case
            when row_number() over (
                partition by account_id, context, resource, usage_period, known_period
                order by value_base desc, observed_at, record_id
            ) = 1 then CAST(value_base AS DECIMAL(38,9))
            else CAST(0 AS DECIMAL(38,9))
        end as base_quantity,
        false as is_cumulative
    from gauge_holds
    where resource = 'storage.files'
)

select *, {{ batch_seq_now() }} as built_through_batch_seq
from (
    select * from contracts
    union all
    select * from transfers
    union all
    select * from events
    union all
    select * from bytes_used
    union all
    select * from files
)
