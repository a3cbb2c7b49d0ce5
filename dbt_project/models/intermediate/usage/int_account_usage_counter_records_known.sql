{{ config(materialized='incremental', incremental_strategy='append',
          pre_hook=["{{ clear_when_scoped() }}",
                    "{{ windows_delete_stale(moved='extend') }}"],
          post_hook=["{{ windows_extend_moved() }}", "{{ windows_delete_moved() }}"]) }}
-- depends_on: {{ ref('int_raw_batches') }}
-- The stored part of int_account_usage_records_known (a view): its counter rows. A settled
-- transfer or usage event counts, once known, in every later window of its usage period. It
-- has ONE row, at its first window: known_period = the earliest window of the usage period
-- whose cutoff is after the record's knowledge time (cutoff_at = that window's cutoff). The
-- line of a window holds the counters with cutoff_at <= the window's cutoff. (Not one row per
-- window: that repeated every counter ~3.5 times.) Plus one header row per stored window
-- (is_window_header, see records_counters_final_select).
-- - network.download / network.upload: settled transfer (record = renter report;
--   related_record_id = farmer report), settled bytes.
-- - compute.*: usage event occurred in the period, quantity_base.
-- Incremental (macros/usage/windows_incremental.sql): windows valid as stored (cutoff unchanged
-- and <= the new knowledge) are kept with the counters first known in them; the others are
-- rewritten: the counters whose first window they are. A moved as_of window still valid at its
-- stored cutoff (no back-dated knowledge) is extended instead: the run writes the records known
-- since that cutoff and moves the stored ones to the new cutoff (windows_extend_moved).

with {{ windows_to_write() }},

{{ records_first_windows() }},

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
)

{{ records_counters_final_select(['transfers', 'events']) }}
