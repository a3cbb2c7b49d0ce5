-- Shown in Dagster as an asset check of int_account_usage_records_known.
{{ config(meta={'dagster': {'ref': {'name': 'int_account_usage_records_known'}}}) }}
-- Record contributions sum exactly to their line, for accounts (base_quantity) and farmers
-- (storage_byte_seconds, download_bytes, upload_bytes, audits, audits_passed); no line without
-- records, no records without a line. A window's records: its state rows (is_cumulative =
-- false) and the counters first known at or before its cutoff (is_cumulative = true).
with windows as (
    select usage_period, known_period, cutoff_at from {{ ref('int_usage_knowledge_windows') }}
),

account_parts as (
    select account_id, context, resource, usage_period, known_period, cutoff_at, is_cumulative,
           sum(base_quantity) as total
    from {{ ref('int_account_usage_records_known') }}
    group by all
),

account_records as (
    select p.account_id, p.context, p.resource, w.usage_period, w.known_period, sum(p.total) as total
    from account_parts as p
    inner join windows as w
        on w.usage_period = p.usage_period
        and (w.known_period = p.known_period or (p.is_cumulative and p.cutoff_at <= w.cutoff_at))
    group by all
),

account_diff as (
    select 'account' as side, coalesce(l.account_id, r.account_id) as id,
           coalesce(l.resource, r.resource) as what,
           coalesce(l.usage_period, r.usage_period) as usage_period,
           coalesce(l.known_period, r.known_period) as known_period,
           CAST(l.base_quantity AS VARCHAR) as line_value, CAST(r.total AS VARCHAR) as records_value
    from {{ ref('int_account_usage_known') }} as l
    full outer join account_records as r
        using (account_id, context, resource, usage_period, known_period)
    where l.base_quantity is distinct from r.total
),

farmer_parts as (
    select
        farmer_id, usage_period, known_period, cutoff_at, is_cumulative,
        coalesce(sum(base_quantity) filter (where component = 'storage'), 0) as storage_byte_seconds,
        coalesce(sum(base_quantity) filter (where component = 'download'), 0) as download_bytes,
        coalesce(sum(base_quantity) filter (where component = 'upload'), 0) as upload_bytes,
        count(*) filter (where component = 'audit') as audits,
        count(*) filter (where component = 'audit' and audit_passed) as audits_passed
    from {{ ref('int_farmer_usage_records_known') }}
    group by all
),

farmer_records as (
    select
        p.farmer_id, w.usage_period, w.known_period,
        sum(p.storage_byte_seconds) as storage_byte_seconds,
        sum(p.download_bytes) as download_bytes,
        sum(p.upload_bytes) as upload_bytes,
        sum(p.audits) as audits,
        sum(p.audits_passed) as audits_passed
    from farmer_parts as p
    inner join windows as w
        on w.usage_period = p.usage_period
        and (w.known_period = p.known_period or (p.is_cumulative and p.cutoff_at <= w.cutoff_at))
    group by all
),

farmer_diff as (
    select 'farmer', coalesce(l.farmer_id, r.farmer_id), 'all components',
           coalesce(l.usage_period, r.usage_period), coalesce(l.known_period, r.known_period),
           CAST(l.storage_byte_seconds AS VARCHAR), CAST(r.storage_byte_seconds AS VARCHAR)
    from {{ ref('int_farmer_usage_known') }} as l
    full outer join farmer_records as r
        using (farmer_id, usage_period, known_period)
    where l.storage_byte_seconds is distinct from r.storage_byte_seconds
       or l.download_bytes is distinct from r.download_bytes
       or l.upload_bytes is distinct from r.upload_bytes
       or l.audits is distinct from r.audits
       or l.audits_passed is distinct from r.audits_passed
)

select * from account_diff
union all
select * from farmer_diff
