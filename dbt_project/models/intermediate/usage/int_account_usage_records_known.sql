{{ config(materialized='view') }}
-- The record-level proof of int_account_usage_known: every raw record contributing to a line
-- (account_id, context, resource, usage_period, known_period), with its exact contribution in
-- the resource's base unit. Two kinds of rows (is_cumulative):
-- - counters (is_cumulative = true): settled transfers and usage events, ONE row each at the
--   first window that knows them; the line of a window holds the counters with cutoff_at <= its
--   cutoff. Stored incrementally in int_account_usage_counter_records_known.
-- - states (is_cumulative = false): contracts and gauges, whose contribution changes between
--   cutoffs: one row per window they contribute to.
-- So a line's base_quantity = SUM(states of the window) + SUM(counters first known at or
-- before its cutoff) (singular test assert_usage_records_sum_to_lines).
-- A view: the states are a projection of int_storage_contracts_clipped and
-- int_gauge_intervals_capped, which hold exactly the windows of int_usage_knowledge_windows at
-- their cutoffs, so they are not copied (a table rewrote the moved as_of windows' states, tens
-- of millions of rows, every daily run). Filters on the window (usage_period, known_period,
-- cutoff_at) reach the scans: UNION ALL, and the peaks are grouped by them.
-- - network.storage: the contract version known at the cutoff (record = contract _id + its
--   updated_at), byte_seconds clipped to the period; related_record_id = the failed audit that
--   cut it short, if any.
-- - storage.bytes_used: sample whose hold meets the period, value x held seconds.
-- - storage.files: sample whose hold meets the period; the sample holding the series' peak
--   (earliest observed_at among equal values) contributes the peak value, the others 0.

with counters as (
    select * exclude (is_window_header)
    from {{ ref('int_account_usage_counter_records_known') }}
    where not is_window_header
),

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
        false as is_cumulative,
        built_through_batch_seq
    from {{ ref('int_storage_contracts_clipped') }}
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
        false as is_cumulative,
        built_through_batch_seq
    from {{ ref('int_gauge_intervals_capped') }}
    where holds_in_period
      and resource = 'storage.bytes_used'
),

files_peaks as (
    -- per series window, the peak sample: largest value, then earliest observed_at, then lowest
    -- record_id. A grouped arg_min, not a row_number window: the window sorted every storage.files
    -- row of every window, and a join's filters (a proof's periods) cannot pass a window (L,
    -- the draft invoice's proof: 18.5 s with the window, 8.2 s with this)
    select
        account_id, context, resource, usage_period, known_period, cutoff_at,
        arg_min(record_id, (-value_base, observed_at, record_id)) as peak_record_id
    from {{ ref('int_gauge_intervals_capped') }}
    where holds_in_period
      and resource = 'storage.files'
    group by all
),

files as (
    select
        g.account_id,
        g.context,
        g.resource,
        g.usage_period,
        g.known_period,
        g.cutoff_at,
        g.source_name,
        g.collection_name,
        g.record_id,
        g.record_knowledge_at,
        CAST(NULL AS VARCHAR) as related_record_id,
        case
            when g.record_id = p.peak_record_id then CAST(g.value_base AS DECIMAL(38,9))
            else CAST(0 AS DECIMAL(38,9))
        end as base_quantity,
        false as is_cumulative,
        g.built_through_batch_seq
    from {{ ref('int_gauge_intervals_capped') }} as g
    inner join files_peaks as p
        -- a group per series window, as the window's partitions were (NULLs included)
        on p.account_id is not distinct from g.account_id
        and p.context is not distinct from g.context
        and p.resource is not distinct from g.resource
        and p.usage_period is not distinct from g.usage_period
        and p.known_period is not distinct from g.known_period
        and p.cutoff_at is not distinct from g.cutoff_at
    where g.holds_in_period
      and g.resource = 'storage.files'
)

select * from counters
union all by name
select * from contracts
union all by name
select * from bytes_used
union all by name
select * from files
