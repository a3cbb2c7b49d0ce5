-- Contract storage (SPEC 4.3) per (contract, usage_period, known_period): the contract version
-- known at the cutoff (latest valid version with updated_at < cutoff) counts on
-- [store_begin, min(store_end, first failed audit's audited_at)) where the first failed audit is
-- taken among the valid audits of that contract_id known at the same cutoff; the interval is
-- clipped to the usage period. byte_seconds is exact: data_size_bytes x overlap microseconds in
-- HUGEINT, then / 10^6 into DECIMAL(38,9). Computed from interval overlaps only.
-- Rows: only contracts whose counted interval overlaps the period (byte_seconds may still be 0
-- for a 0-byte contract).

with windows as (
    select * from {{ ref('int_usage_knowledge_windows') }}
),

cutoffs as (
    select distinct cutoff_at from windows
),

audits as (
    -- valid audits, each _id once (first known wins)
    select *
    from {{ ref('stg_storage_network__audits') }}
    where reject_reason is null
    qualify row_number() over (partition by record_id order by knowledge_at, batch_id) = 1
),

first_failed_audit as (
    select
        c.cutoff_at,
        a.contract_id,
        min(a.audited_at) as failed_audit_at,
        arg_min(a.record_id, (a.audited_at, a.record_id)) as failed_audit_record_id
    from audits as a
    inner join cutoffs as c
        on a.knowledge_at < c.cutoff_at
    where not a.passed
    group by c.cutoff_at, a.contract_id
),

known_versions as (
    -- valid_from (= updated_at) is strictly increasing per contract, so exactly one version
    -- satisfies valid_from < cutoff <= valid_to (or open). Contracts that cannot overlap the
    -- period are pruned here (the failed-audit cut only shortens the interval).
    select
        w.usage_period,
        w.known_period,
        w.cutoff_at,
        w.period_start,
        w.period_end,
        v.*
    from {{ ref('int_contract_versions_ordered') }} as v
    inner join windows as w
        on v.valid_from < w.cutoff_at
        and coalesce(v.valid_to, TIMESTAMP 'infinity') >= w.cutoff_at
        and v.store_begin < w.period_end
        and v.store_end > w.period_start
),

counted as (
    select
        kv.*,
        f.failed_audit_at,
        f.failed_audit_record_id,
        case
            when f.failed_audit_at is not null and f.failed_audit_at < kv.store_end then f.failed_audit_at
            else kv.store_end
        end as counted_end
    from known_versions as kv
    left join first_failed_audit as f
        on f.contract_id = kv.contract_id
        and f.cutoff_at = kv.cutoff_at
),

clipped as (
    select
        *,
        greatest(store_begin, period_start) as overlap_start,
        least(counted_end, period_end) as overlap_end
    from counted
)

select
    contract_id,
    account_id,
    context,
    farmer_id,
    usage_period,
    known_period,
    cutoff_at,
    source_name,
    collection_name,
    record_id,
    knowledge_at as record_knowledge_at,
    data_size_bytes,
    store_begin,
    store_end,
    failed_audit_at,
    case when counted_end < store_end then failed_audit_record_id end as failed_audit_record_id,
    counted_end,
    overlap_start,
    overlap_end,
    {{ usage_micros_between('overlap_start', 'overlap_end') }} as overlap_micros,
    {{ usage_micros_to_seconds('CAST(data_size_bytes AS HUGEINT) * ' ~ usage_micros_between('overlap_start', 'overlap_end')) }} as byte_seconds
from clipped
where overlap_end > overlap_start
