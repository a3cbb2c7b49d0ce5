{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='transfer_id',
          on_schema_change='append_new_columns',
          pre_hook="{{ transfer_discrepancies_delete_touched() }}",
          post_hook="{{ transfer_discrepancies_carry() }}") }}
-- depends_on: {{ ref('int_raw_batches') }}
-- Transfers that are not cleanly settled (SPEC 4.4), as known at as_of (reports with
-- knowledge_at < as_of, deduplicated, valid):
-- - missing_renter_report / missing_farmer_report: only one party's report is known (not billed,
--   not paid);
-- - byte_mismatch: both known, bytes differ by more than 1 % of the larger (|r - f| x 100 >
--   max(r, f)); billed and paid at settled_bytes = the smaller.
-- usage_period: the renter report's completed_at month, else the farmer report's.
-- Incremental per transfer_id: only transfers with a report rewritten by the dedup or known
-- between the stored cutoff_at and as_of are recomputed (macros/usage/transfer_discrepancies_incremental.sql).

with reports as not materialized (
    select *
    {%- if is_incremental() %}
    from ({{ rows_with_keys(ref('int_transfer_reports_deduplicated'), ['transfer_id'], transfer_discrepancies_touched()) }})
    {%- else %}
    from {{ ref('int_transfer_reports_deduplicated') }}
    {%- endif %}
    where knowledge_at < {{ as_of() }}
),

renter as (
    select * from reports where reporter = 'renter'
),

farmer as (
    select * from reports where reporter = 'farmer'
),

paired as (
    select
        coalesce(r.transfer_id, f.transfer_id) as transfer_id,
        CAST(r.bytes AS HUGEINT) as renter_bytes,
        CAST(f.bytes AS HUGEINT) as farmer_bytes,
        coalesce(r.account_id, f.account_id) as account_id,
        coalesce(r.context, f.context) as context,
        coalesce(f.farmer_id, r.farmer_id) as farmer_id,
        coalesce(r.resource, f.resource) as resource,
        coalesce(r.completed_at, f.completed_at) as completed_at,
        r.record_id as renter_record_id,
        f.record_id as farmer_record_id
    from renter as r
    full outer join farmer as f
        on f.transfer_id = r.transfer_id
),

classified as (
    select
        *,
        case
            when renter_bytes is null then 'missing_renter_report'
            when farmer_bytes is null then 'missing_farmer_report'
            when abs(renter_bytes - farmer_bytes) * 100 > greatest(renter_bytes, farmer_bytes) then 'byte_mismatch'
        end as reason
    from paired
)

select
    CAST(transfer_id AS VARCHAR) as transfer_id,
    CAST(reason AS VARCHAR) as reason,
    CAST(renter_bytes AS HUGEINT) as renter_bytes,
    CAST(farmer_bytes AS HUGEINT) as farmer_bytes,
    CAST(case when renter_bytes is not null and farmer_bytes is not null
              then least(renter_bytes, farmer_bytes) end AS HUGEINT) as settled_bytes,
    CAST(account_id AS VARCHAR) as account_id,
    CAST(context AS VARCHAR) as context,
    CAST(farmer_id AS VARCHAR) as farmer_id,
    CAST(resource AS VARCHAR) as resource,
    CAST(completed_at AS TIMESTAMP) as completed_at,
    CAST({{ usage_period_of('completed_at') }} AS VARCHAR) as usage_period,
    CAST(renter_record_id AS VARCHAR) as renter_record_id,
    CAST(farmer_record_id AS VARCHAR) as farmer_record_id,
    {{ as_of() }} as cutoff_at,
    {{ batch_seq_now(scope_free=true) }} as built_through_batch_seq
from classified
where reason is not null
