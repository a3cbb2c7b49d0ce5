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

pairs as (
    -- one group per transfer with only the two parties' bytes (at most one report per party
    -- after the dedup). Narrow on purpose: a full outer join of the renter and farmer reports
    -- carried every detail column through a hash table of 24 M transfers at L (6.2 GB peak);
    -- this aggregate peaks at 3.6 GB, and the details are fetched for the discrepancies only.
    select
        transfer_id,
        CAST(any_value(bytes) filter (where reporter = 'renter') AS HUGEINT) as renter_bytes,
        CAST(any_value(bytes) filter (where reporter = 'farmer') AS HUGEINT) as farmer_bytes
    from reports
    group by transfer_id
),

classified as (
    select
        *,
        case
            when renter_bytes is null then 'missing_renter_report'
            when farmer_bytes is null then 'missing_farmer_report'
            when abs(renter_bytes - farmer_bytes) * 100 > greatest(renter_bytes, farmer_bytes) then 'byte_mismatch'
        end as reason
    from pairs
),

discrepant as (
    select * from classified where reason is not null
),

details as (
    -- the discrepant transfers' reports, one row per transfer: the renter's values first
    select
        r.transfer_id,
        coalesce(any_value(r.account_id) filter (where r.reporter = 'renter'),
                 any_value(r.account_id) filter (where r.reporter = 'farmer')) as account_id,
        coalesce(any_value(r.context) filter (where r.reporter = 'renter'),
                 any_value(r.context) filter (where r.reporter = 'farmer')) as context,
        coalesce(any_value(r.farmer_id) filter (where r.reporter = 'farmer'),
                 any_value(r.farmer_id) filter (where r.reporter = 'renter')) as farmer_id,
        coalesce(any_value(r.resource) filter (where r.reporter = 'renter'),
                 any_value(r.resource) filter (where r.reporter = 'farmer')) as resource,
        coalesce(any_value(r.completed_at) filter (where r.reporter = 'renter'),
                 any_value(r.completed_at) filter (where r.reporter = 'farmer')) as completed_at,
        any_value(r.record_id) filter (where r.reporter = 'renter') as renter_record_id,
        any_value(r.record_id) filter (where r.reporter = 'farmer') as farmer_record_id
    from reports as r
    semi join discrepant as d
        on d.transfer_id = r.transfer_id
    group by r.transfer_id
),

paired as (
    select d.transfer_id, d.reason, d.renter_bytes, d.farmer_bytes, x.* exclude (transfer_id)
    from discrepant as d
    inner join details as x
        on x.transfer_id = d.transfer_id
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
from paired
