{{ config(materialized='incremental', incremental_strategy='append',
          pre_hook=["{{ clear_when_scoped() }}",
                    "{{ windows_delete_stale([('storage_network', 'contracts'), ('storage_network', 'audits')]) }}"],
          post_hook=["{{ windows_carry_moved(['contract_id'], marker_column='record_id') }}",
                     "{{ windows_delete_moved(marker_column='record_id') }}"]) }}
-- depends_on: {{ ref('int_raw_batches') }}
-- Contract storage (SPEC 4.3) per (contract, usage_period, known_period): the contract version
-- known at the cutoff (latest valid version with updated_at < cutoff) counts on
-- [store_begin, min(store_end, first failed audit's audited_at)) where the first failed audit is
-- taken among the valid audits of that contract_id known at the same cutoff; the interval is
-- clipped to the usage period. byte_seconds is exact: data_size_bytes x overlap microseconds,
-- / 10^6 into DECIMAL(38,9). Computed from interval overlaps only.
-- Rows: only contracts whose counted interval overlaps the period (byte_seconds may still be 0
-- for a 0-byte contract).
-- Rows of a window depend only on (usage_period, cutoff_at): windows sharing both (e.g. in the
-- grace hours, the previous and the draft period's windows, both cut at as_of) are computed
-- once and fanned out.
-- Incremental (macros/usage/windows_incremental.sql): new or invalidated windows are computed in
-- full; a window whose cutoff moved from c_old to c_new recomputes only the contracts with a
-- version or failed audit known in [c_old, c_new) or a version / audit winner from a batch not
-- yet taken in that is known before c_new, and carries the other rows over.

{%- set incremental = incremental_run() %}

with {{ windows_to_write() }},

evaluations as (
    select
        usage_period,
        cutoff_at,
        previous_cutoff_at,
        min(period_start) as period_start,
        min(period_end) as period_end,
        list(known_period order by known_period) as known_periods
    from windows
    group by usage_period, cutoff_at, previous_cutoff_at
),

cutoffs as (
    select distinct cutoff_at from windows
),

audits as (
    {{ audits_first_known() }}
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

versions as not materialized (
    -- not materialized: DuckDB materializes a CTE read more than once, which copied every
    -- version (and hid the table's row count from the join order below)
    select * from {{ ref('int_contract_versions_ordered') }}
),

{%- if incremental %}

new_contract_records as (
    -- versions and audit winners from batches this table has not taken in (an audit winner
    -- may displace a copy naming another contract: every valid copy's contract counts)
    select contract_id, least(knowledge_at, valid_from) as knowledge_at
    from versions
    where {{ in_batches("coalesce(batch_id, '')", new_batch_ids('storage_network', 'contracts')) }}
    union all
    select c.contract_id, a.knowledge_at
    from audits as a
    inner join {{ ref('int_audits_validated') }} as c
        on c.record_id = a.record_id
    where {{ in_batches("coalesce(a.batch_id, '')", new_batch_ids('storage_network', 'audits')) }}
),
{%- endif %}

changed_contracts as (
    -- per move c_old -> c_new: the contracts whose rows can differ between the stored window
    -- (as known at c_old when it was built) and now at c_new
    {%- if incremental %}
    select m.previous_cutoff_at, m.cutoff_at, n.contract_id
    from new_contract_records as n
    inner join moves as m
        on n.knowledge_at < m.cutoff_at
    union
    {%- endif %}
    select m.previous_cutoff_at, m.cutoff_at, v.contract_id
    from versions as v
    inner join moves as m
        on v.valid_from >= m.previous_cutoff_at
        and v.valid_from < m.cutoff_at
    union
    select m.previous_cutoff_at, m.cutoff_at, a.contract_id
    from audits as a
    inner join moves as m
        on a.knowledge_at >= m.previous_cutoff_at
        and a.knowledge_at < m.cutoff_at
    where not a.passed
),

known_versions as (
    -- valid_from (= updated_at) is strictly increasing per contract, so exactly one version
    -- satisfies valid_from < cutoff <= valid_to (or open). Contracts that cannot overlap the
    -- period are pruned here (the failed-audit cut only shortens the interval).
    select
        e.usage_period,
        e.cutoff_at,
        e.period_start,
        e.period_end,
        e.known_periods,
        v.*
    from versions as v
    inner join evaluations as e
        on v.valid_from < e.cutoff_at
        and coalesce(v.valid_to, TIMESTAMP 'infinity') >= e.cutoff_at
        and v.store_begin < e.period_end
        and v.store_end > e.period_start
    where e.previous_cutoff_at is null
    {%- if incremental %}

    union all

    -- carried windows: only the changed contracts
    select
        e.usage_period,
        e.cutoff_at,
        e.period_start,
        e.period_end,
        e.known_periods,
        v.*
    from (
        -- the changed contracts' versions first: joined to changed_contracts directly, DuckDB
        -- could build its hash table on the versions (L daily: 5.3 s instead of 0.3 s)
        select v.*
        from versions as v
        semi join (select distinct contract_id from changed_contracts) as c
            on c.contract_id = v.contract_id
    ) as v
    inner join changed_contracts as ch
        on ch.contract_id = v.contract_id
    inner join evaluations as e
        on e.previous_cutoff_at = ch.previous_cutoff_at
        and e.cutoff_at = ch.cutoff_at
        and v.valid_from < e.cutoff_at
        and coalesce(v.valid_to, TIMESTAMP 'infinity') >= e.cutoff_at
        and v.store_begin < e.period_end
        and v.store_end > e.period_start
    {%- endif %}
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
),

evaluated as (
    select
        *,
        date_diff('microsecond', overlap_start, overlap_end) as overlap_micros_bigint
    from clipped
    where overlap_end > overlap_start
),

computed as (
    select
        c.contract_id,
        c.account_id,
        c.context,
        c.farmer_id,
        c.usage_period,
        unnest(c.known_periods) as known_period,
        c.cutoff_at,
        c.source_name,
        c.collection_name,
        c.record_id,
        c.knowledge_at as record_knowledge_at,
        c.data_size_bytes,
        c.store_begin,
        c.store_end,
        c.failed_audit_at,
        case when c.counted_end < c.store_end then c.failed_audit_record_id end as failed_audit_record_id,
        c.counted_end,
        c.overlap_start,
        c.overlap_end,
        CAST(c.overlap_micros_bigint AS HUGEINT) as overlap_micros,
        {{ windows_bytes_times_micros('c.data_size_bytes', 'c.overlap_micros_bigint') }} as byte_seconds
    from evaluated as c
)
{{ windows_final_select('changed_contracts', ['contract_id'], 'record_id', incremental) }}
