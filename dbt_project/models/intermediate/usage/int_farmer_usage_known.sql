-- The payout usage interface. Grain (farmer_id, usage_period, known_period): storage held
-- (byte_seconds exact, GBh), settled download / upload (bytes, GB), audits and audits passed,
-- of `usage_period` as known at `cutoff_at` (close of known_period capped at as_of; 'latest' =
-- as_of). Billable quantities DECIMAL(38,12) via exact_divide with the resources seed's
-- base_per_billable_unit. Only farmers with at least one contributing record.

with records as (
    select * from {{ ref('int_farmer_usage_records_known') }}
),

units as (
    select
        max(case when resource = 'network.storage' then base_per_billable_unit end) as storage_per_unit,
        max(case when resource = 'network.download' then base_per_billable_unit end) as download_per_unit,
        max(case when resource = 'network.upload' then base_per_billable_unit end) as upload_per_unit
    from {{ ref('resources') }}
),

farmers as (
    select
        farmer_id,
        usage_period,
        known_period,
        max(cutoff_at) as cutoff_at,
        CAST(coalesce(sum(base_quantity) filter (where component = 'storage'), 0) AS DECIMAL(38,9)) as storage_byte_seconds,
        CAST(coalesce(sum(base_quantity) filter (where component = 'download'), 0) AS DECIMAL(38,0)) as download_bytes,
        CAST(coalesce(sum(base_quantity) filter (where component = 'upload'), 0) AS DECIMAL(38,0)) as upload_bytes,
        CAST(count(*) filter (where component = 'audit') AS INTEGER) as audits,
        CAST(count(*) filter (where component = 'audit' and audit_passed) AS INTEGER) as audits_passed,
        count(*) as record_count
    from records
    group by farmer_id, usage_period, known_period
)

select
    f.farmer_id,
    f.usage_period,
    f.known_period,
    f.cutoff_at,
    f.storage_byte_seconds,
    {{ exact_divide('f.storage_byte_seconds', 'u.storage_per_unit', 12) }} as storage_gbh,
    f.download_bytes,
    {{ exact_divide('f.download_bytes', 'u.download_per_unit', 12) }} as download_gb,
    f.upload_bytes,
    {{ exact_divide('f.upload_bytes', 'u.upload_per_unit', 12) }} as upload_gb,
    f.audits,
    f.audits_passed,
    f.record_count
from farmers as f
cross join units as u
