{{ config(materialized='view') }}
-- The record-level proof of int_farmer_usage_known per (farmer_id, usage_period, known_period,
-- component): every contributing record with its exact base contribution. As in
-- int_account_usage_records_known, counters (settled transfers, audits: is_cumulative = true)
-- have one row at the first window that knows them and count in every window whose cutoff is
-- >= their cutoff_at (stored in int_farmer_usage_counter_records_known); contract versions
-- (is_cumulative = false) have one row per window.
-- - storage: contract version known at the cutoff (by the version's farmer_id), byte_seconds
--   (the same clipped interval as the renter side, failed audit included): a projection of
--   int_storage_contracts_clipped, not a copy (see int_account_usage_records_known);
-- - download / upload: settled transfer (record = farmer report; related_record_id = renter
--   report), settled bytes;
-- - audit: each valid audit (first known per _id) of the farmer with audited_at in the period:
--   base_quantity 1, audit_passed its result.

with counters as (
    select * exclude (is_window_header)
    from {{ ref('int_farmer_usage_counter_records_known') }}
    where not is_window_header
),

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
        false as is_cumulative,
        built_through_batch_seq
    from {{ ref('int_storage_contracts_clipped') }}
)

select * from counters
union all by name
select * from storage
