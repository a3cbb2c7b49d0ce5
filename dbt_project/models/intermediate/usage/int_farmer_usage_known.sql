-- The payout usage interface. Grain (farmer_id, usage_period, known_period): storage held
-- (byte_seconds exact, GBh), settled download / upload (bytes, GB), audits and audits passed,
-- of `usage_period` as known at `cutoff_at` (close of known_period capped at as_of; 'latest' =
-- as_of). Billable quantities DECIMAL(38,12) via exact_divide with the resources seed's
-- base_per_billable_unit. Only farmers with at least one contributing record.

-- Computed from aggregates, not from the record-level proof (int_farmer_usage_records_known,
-- whose sums equal these rows: a data test checks it). Settled transfers and audits are
-- aggregated once per first cutoff after their knowledge time, then summed over
-- the cutoffs up to each known_period's; contract storage sums its per-cutoff model.

with windows as (
    select usage_period, known_period, cutoff_at from {{ ref('int_usage_knowledge_windows') }}
),

cutoffs as (
    -- each usage period's distinct cutoffs with the one before (macros/usage/usage_math.sql)
    {{ usage_cutoff_ranges() }}
),

audits as (
    -- valid audits, each _id once (first known wins)
    select *
    from {{ ref('stg_storage_network__audits') }}
    where reject_reason is null
    qualify row_number() over (partition by record_id order by knowledge_at, batch_id) = 1
),

counter_records as (
    select farmer_id, usage_period, known_at,
           replace(resource, 'network.', '') as component,
           CAST(settled_bytes AS DECIMAL(38,9)) as base_quantity,
           CAST(NULL AS BOOLEAN) as audit_passed
    from {{ ref('int_transfers_settled') }}
    union all
    select farmer_id, {{ usage_period_of('audited_at') }}, knowledge_at,
           'audit', CAST(1 AS DECIMAL(38,9)), passed
    from audits
    where {{ scope_usage_time_filter('audited_at') }}
),

counters_first_known as (
    select
        r.farmer_id, r.usage_period, c.cutoff_at as first_cutoff_at,
        coalesce(sum(r.base_quantity) filter (where r.component = 'download'), 0) as download_bytes,
        coalesce(sum(r.base_quantity) filter (where r.component = 'upload'), 0) as upload_bytes,
        count(*) filter (where r.component = 'audit') as audits,
        count(*) filter (where r.component = 'audit' and r.audit_passed) as audits_passed,
        count(*) as record_count
    from counter_records as r
    inner join cutoffs as c
        on c.usage_period = r.usage_period
        and r.known_at >= c.previous_cutoff_at
        and r.known_at < c.cutoff_at
    group by all
),

component_rows as (
    select
        f.farmer_id, w.usage_period, w.known_period, w.cutoff_at,
        CAST(0 AS DECIMAL(38,9)) as storage_byte_seconds,
        sum(f.download_bytes) as download_bytes,
        sum(f.upload_bytes) as upload_bytes,
        sum(f.audits) as audits,
        sum(f.audits_passed) as audits_passed,
        sum(f.record_count) as record_count
    from counters_first_known as f
    inner join windows as w
        on w.usage_period = f.usage_period
        and f.first_cutoff_at <= w.cutoff_at
    group by all
    union all
    select
        farmer_id, usage_period, known_period, max(cutoff_at),
        sum(byte_seconds), 0, 0, 0, 0, count(*)
    from {{ ref('int_storage_contracts_clipped') }}
    group by farmer_id, usage_period, known_period
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
        CAST(sum(storage_byte_seconds) AS DECIMAL(38,9)) as storage_byte_seconds,
        CAST(sum(download_bytes) AS DECIMAL(38,0)) as download_bytes,
        CAST(sum(upload_bytes) AS DECIMAL(38,0)) as upload_bytes,
        CAST(sum(audits) AS INTEGER) as audits,
        CAST(sum(audits_passed) AS INTEGER) as audits_passed,
        CAST(sum(record_count) AS BIGINT) as record_count
    from component_rows
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
