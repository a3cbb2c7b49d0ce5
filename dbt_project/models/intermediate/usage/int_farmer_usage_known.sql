{{ config(materialized='incremental', incremental_strategy='append',
          pre_hook=["{{ clear_when_scoped() }}",
                    "{{ windows_delete_stale(moved='drop') }}"]) }}
-- depends_on: {{ ref('int_raw_batches') }}
-- The payout usage interface. Grain (farmer_id, usage_period, known_period): storage held
-- (byte_seconds exact, GBh), settled download / upload (bytes, GB), audits and audits passed,
-- of `usage_period` as known at `cutoff_at` (close of known_period capped at as_of; 'latest' =
-- as_of). Billable quantities DECIMAL(38,12) via exact_divide with the resources seed's
-- base_per_billable_unit. Only farmers with at least one contributing record.

-- Computed from aggregates, not from the record-level proof (int_farmer_usage_records_known,
-- whose sums equal these rows: a data test checks it). Settled transfers and audits are
-- aggregated once per first cutoff after their knowledge time, then summed over
-- the cutoffs up to each known_period's; contract storage sums its per-cutoff model.
-- Incremental as int_account_usage_known (macros/usage/windows_incremental.sql): kept windows
-- stay; a rewritten window's counters = its base window's (the stored row minus the base
-- window's contract storage, which int_storage_contracts_clipped still holds) + the records
-- known since the base's cutoff.

{%- set incremental = incremental_run() %}

with {{ windows_to_write() }},

{{ windows_bases(incremental) }},

audits as (
    {{ audits_first_known() }}
),

counter_records as (
    select farmer_id, usage_period, known_at,
           replace(resource, 'network.', '') as component,
           CAST(settled_bytes AS DECIMAL(38,9)) as base_quantity,
           CAST(NULL AS BOOLEAN) as audit_passed
    from {{ ref('int_transfers_settled') }}
    where {{ windows_record_prefilter('known_at', 'completed_at') }}
    union all
    select farmer_id, {{ usage_period_of('audited_at') }}, knowledge_at,
           'audit', CAST(1 AS DECIMAL(38,9)), passed
    from audits
    where {{ scope_usage_time_filter('audited_at') }}
      and {{ windows_record_prefilter('knowledge_at', 'audited_at') }}
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
    inner join counter_buckets as c
        on c.usage_period = r.usage_period
        and r.known_at >= c.previous_cutoff_at
        and r.known_at < c.cutoff_at
    group by all
),

component_rows as (
    select
        b.usage_period, b.known_period, b.cutoff_at, f.farmer_id,
        CAST(0 AS DECIMAL(38,9)) as storage_byte_seconds,
        f.download_bytes, f.upload_bytes, f.audits, f.audits_passed, f.record_count
    from counters_first_known as f
    inner join window_bases as b
        on b.usage_period = f.usage_period
        and f.first_cutoff_at > b.base_cutoff_at
        and f.first_cutoff_at <= b.cutoff_at
    union all
    select
        c.usage_period, c.known_period, c.cutoff_at, c.farmer_id,
        c.byte_seconds, 0, 0, 0, 0, 1
    from {{ ref('int_storage_contracts_clipped') }} as c
    semi join windows as w
        on w.usage_period = c.usage_period
        and w.known_period = c.known_period
    {%- if incremental %}
    union all
    -- the base window's counters: its stored row ...
    select
        b.usage_period, b.known_period, b.cutoff_at, t.farmer_id,
        t.storage_byte_seconds, t.download_bytes, t.upload_bytes, t.audits, t.audits_passed,
        t.record_count
    from {{ this }} as t
    inner join window_bases as b
        on b.usage_period = t.usage_period
        and b.base_known_period = t.known_period
    union all
    -- ... minus its contract storage
    select
        b.usage_period, b.known_period, b.cutoff_at, c.farmer_id,
        -c.byte_seconds, 0, 0, 0, 0, -1
    from {{ ref('int_storage_contracts_clipped') }} as c
    inner join window_bases as b
        on b.usage_period = c.usage_period
        and b.base_known_period = c.known_period
    {%- endif %}
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
    -- a farmer whose base window held only storage may have nothing left in this window
    having sum(record_count) > 0
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
    f.record_count,
    {{ batch_seq_now() }} as built_through_batch_seq
from farmers as f
cross join units as u
