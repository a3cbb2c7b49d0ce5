{{ config(materialized='incremental', incremental_strategy='append',
          pre_hook=["{{ clear_when_scoped() }}",
                    "{{ windows_delete_stale(moved='extend') }}"],
          post_hook=["{{ windows_extend_moved() }}", "{{ windows_delete_moved() }}"]) }}
-- depends_on: {{ ref('int_raw_batches') }}
-- The stored part of int_farmer_usage_records_known (a view): its counter rows (settled
-- transfers, audits), as in int_account_usage_counter_records_known one row at the first window
-- that knows the record, counted in every window whose cutoff is >= its cutoff_at; plus one
-- header row per stored window (is_window_header).
-- - download / upload: settled transfer (record = farmer report; related_record_id = renter
--   report), settled bytes;
-- - audit: each valid audit (first known per _id) of the farmer with audited_at in the period:
--   base_quantity 1, audit_passed its result.
-- Incremental as int_account_usage_counter_records_known (macros/usage/windows_incremental.sql).

with {{ windows_to_write() }},

{{ records_first_windows() }},

transfers as (
    select
        t.farmer_id,
        w.usage_period,
        w.known_period,
        w.cutoff_at,
        replace(t.resource, 'network.', '') as component,
        t.source_name,
        t.collection_name,
        t.farmer_record_id as record_id,
        t.farmer_knowledge_at as record_knowledge_at,
        t.renter_record_id as related_record_id,
        CAST(t.settled_bytes AS DECIMAL(38,9)) as base_quantity,
        CAST(NULL AS BOOLEAN) as audit_passed,
        true as is_cumulative
    from {{ ref('int_transfers_settled') }} as t
    inner join first_windows as w
        on w.usage_period = t.usage_period
        and t.known_at >= w.previous_cutoff_at
        and t.known_at < w.cutoff_at
    where {{ windows_record_prefilter('t.known_at', 't.completed_at') }}
),

audits as (
    {{ audits_first_known() }}
),

audit_rows as (
    select
        a.farmer_id,
        w.usage_period,
        w.known_period,
        w.cutoff_at,
        'audit' as component,
        a.source_name,
        a.collection_name,
        a.record_id,
        a.knowledge_at as record_knowledge_at,
        a.contract_id as related_record_id,
        CAST(1 AS DECIMAL(38,9)) as base_quantity,
        a.passed as audit_passed,
        true as is_cumulative
    from audits as a
    inner join first_windows as w
        on w.usage_period = {{ usage_period_of('a.audited_at') }}
        and a.knowledge_at >= w.previous_cutoff_at
        and a.knowledge_at < w.cutoff_at
    where {{ windows_record_prefilter('a.knowledge_at', 'a.audited_at') }}
)

{{ records_counters_final_select(['transfers', 'audit_rows']) }}
