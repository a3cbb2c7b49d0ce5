{{ config(materialized='incremental', incremental_strategy='append',
          pre_hook=["{{ clear_when_scoped() }}",
                    "{{ windows_delete_stale(keep_moved=false) }}"]) }}
-- depends_on: {{ ref('int_raw_batches') }}
-- The record-level proof of int_farmer_usage_known per (farmer_id, usage_period, known_period,
-- component): every contributing record with its exact base contribution. As in
-- int_account_usage_records_known, counters (settled transfers, audits: is_cumulative = true)
-- have one row at the first window that knows them and count in every window whose cutoff is
-- >= their cutoff_at; contract versions (is_cumulative = false) have one row per window.
-- - storage: contract version known at the cutoff (by the version's farmer_id), byte_seconds
--   (the same clipped interval as the renter side, failed audit included);
-- - download / upload: settled transfer (record = farmer report; related_record_id = renter
--   report), settled bytes;
-- - audit: each valid audit (first known per _id) of the farmer with audited_at in the period:
--   base_quantity 1, audit_passed its result.
-- Incremental as int_account_usage_records_known (macros/usage/windows_incremental.sql): kept
-- windows stay whole, the others are rewritten with their state rows and first-known counters.

{%- set incremental = incremental_run() %}

with {{ windows_to_write() }},

{{ records_first_windows() }},

storage as (
    select
        farmer_id,
        usage_period,
        known_period,
        cutoff_at,
        'storage' as component,
        source_name,
        collection_name,
        record_id,
        record_knowledge_at,
        failed_audit_record_id as related_record_id,
        byte_seconds as base_quantity,
        CAST(NULL AS BOOLEAN) as audit_passed,
        false as is_cumulative
    from {{ ref('int_storage_contracts_clipped') }} as c
    semi join windows as w
        on w.usage_period = c.usage_period
        and w.known_period = c.known_period
),

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
    select *
    from {{ ref('stg_storage_network__audits') }}
    where reject_reason is null
    qualify row_number() over (partition by record_id order by knowledge_at, batch_id) = 1
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

select *, {{ batch_seq_now() }} as built_through_batch_seq
from (
    select * from storage
    union all
    select * from transfers
    union all
    select * from audit_rows
)
