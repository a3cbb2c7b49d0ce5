{{ config(materialized='incremental', incremental_strategy='append',
          pre_hook=["{{ clear_when_scoped() }}",
                    "{{ windows_delete_stale([('storage', 'usage_samples')]) }}"],
          post_hook=["{{ windows_carry_moved(['record_id'], marker_column='observed_at') }}",
                     "{{ windows_delete_moved(marker_column='observed_at') }}"]) }}
-- depends_on: {{ ref('int_raw_batches') }}
-- Gauge samples (SPEC 4.3) per (usage_period, known_period): among the deduplicated samples
-- known at the cutoff, sample i of a series (account_id, context, resource) holds its value on
-- [observed_at_i, min(observed_at_{i+1}, observed_at_i + gauge_max_gap_hours)), where i+1 is the
-- next sample KNOWN at the same cutoff. Time past the cap until the next sample is a gap.
-- Candidates of a period are the samples observed in [period_start - cap, period_end): an
-- earlier sample cannot hold into the period (hold <= cap), so the last one before the period
-- start that is still holding is the carry-in. Both the hold and the gap are clipped to the
-- period; a row is kept when either meets the period.
-- held_base_seconds = value_base x held microseconds / 10^6 (exact), used by storage.bytes_used.
-- Rows of a window depend only on (usage_period, cutoff_at): windows sharing both (e.g. in the
-- grace hours, the previous and the draft period's windows, both cut at as_of) are computed
-- once ("evaluations") and fanned out; series and evaluations are numbered so the sequencing
-- sorts on integers.
-- Incremental (macros/usage/windows_incremental.sql): new or invalidated windows are computed in
-- full; a window whose cutoff moved from c_old to c_new rewrites the samples known in
-- [c_old, c_new) and their predecessors, and whole series with a deduplicated sample from a
-- batch not yet taken in that is known before c_old; it carries the other rows over (a series
-- gets new samples nearly every day: carrying per series rewrote almost every row).

{%- set cap_hours = var('gauge_max_gap_hours') | int %}
{%- set incremental = incremental_run() %}

with {{ windows_to_write() }},

evaluations as (
    select
        usage_period,
        cutoff_at,
        previous_cutoff_at,
        min(period_start) as period_start,
        min(period_end) as period_end,
        CAST(row_number() over (order by usage_period, cutoff_at, previous_cutoff_at) AS INTEGER) as evaluation_id
    from windows
    group by usage_period, cutoff_at, previous_cutoff_at
),

window_evaluations as (
    select w.known_period, e.*
    from windows as w
    inner join evaluations as e
        on e.usage_period = w.usage_period
        and e.cutoff_at = w.cutoff_at
        and e.previous_cutoff_at is not distinct from w.previous_cutoff_at
),

series as (
    -- an integer id per series, numbered over the distinct series (a dense_rank over the
    -- samples sorted every sample by three text columns)
    select
        account_id,
        context,
        resource,
        CAST(row_number() over (order by account_id, context, resource) AS INTEGER) as series_id
    from (select distinct account_id, context, resource from {{ ref('int_usage_samples_deduplicated') }})
),

samples as (
    select
        d.account_id,
        d.context,
        d.resource,
        d.source_name,
        d.collection_name,
        d.record_id,
        d.knowledge_at,
        d.observed_at,
        d.value_base,
        d.batch_id,
        trunc(d.value_base) as value_base_integer,
        d.value_base - trunc(d.value_base) as value_base_fraction,
        se.series_id
    from {{ ref('int_usage_samples_deduplicated') }} as d
    inner join series as se
        on se.account_id = d.account_id
        and se.context = d.context
        and se.resource = d.resource
),

changed_series as (
    -- per move c_old -> c_new: the series whose rows can differ between the stored window (as
    -- known at c_old when it was built) and now at c_new. A sample known in [c_old, c_new) is an
    -- addition (first recorded wins: a copy known later never displaces a stored winner): it
    -- changes its own row and its predecessor's (whose next sample it becomes), nothing else. A
    -- sample from a batch not yet taken in that is known before c_old may displace a stored
    -- winner: its series is recomputed whole (recomputed_whole).
    select m.previous_cutoff_at, m.cutoff_at, s.series_id, s.account_id, s.context, s.resource,
           bool_or(s.knowledge_at < m.previous_cutoff_at) as recomputed_whole
    from samples as s
    inner join moves as m
        on s.knowledge_at < m.cutoff_at
        and (s.knowledge_at >= m.previous_cutoff_at
            {%- if incremental %}
             or {{ in_batches("coalesce(s.batch_id, '')", new_batch_ids('storage', 'usage_samples')) }}
            {%- endif %})
    group by all
),

candidates as (
    select
        e.evaluation_id,
        e.period_start,
        e.period_end,
        e.previous_cutoff_at,
        true as recomputed_whole,
        s.* exclude (batch_id)
    from samples as s
    inner join evaluations as e
        on s.observed_at >= e.period_start - interval {{ cap_hours }} hour
        and s.observed_at < e.period_end
        and s.knowledge_at < e.cutoff_at
    where e.previous_cutoff_at is null
    {%- if incremental %}

    union all

    -- carried windows: only the changed series (all their samples: the sequence needs them)
    select
        e.evaluation_id,
        e.period_start,
        e.period_end,
        e.previous_cutoff_at,
        ch.recomputed_whole,
        s.* exclude (batch_id)
    from samples as s
    inner join changed_series as ch
        on ch.series_id = s.series_id
    inner join evaluations as e
        on e.previous_cutoff_at = ch.previous_cutoff_at
        and e.cutoff_at = ch.cutoff_at
        and s.observed_at >= e.period_start - interval {{ cap_hours }} hour
        and s.observed_at < e.period_end
        and s.knowledge_at < e.cutoff_at
    {%- endif %}
),

sequenced as (
    select
        *,
        lead(observed_at) over (
            partition by evaluation_id, series_id
            order by observed_at
        ) as next_observed_at,
        lead(knowledge_at) over (
            partition by evaluation_id, series_id
            order by observed_at
        ) as next_knowledge_at,
        observed_at + interval {{ cap_hours }} hour as capped_at
    from candidates
),

rewritten as (
    -- the samples whose rows are written: all of a new window or of a series recomputed whole;
    -- in an extended series, the samples known since c_old and their predecessors
    select *
    from sequenced
    where recomputed_whole
       or knowledge_at >= previous_cutoff_at
       or next_knowledge_at >= previous_cutoff_at
),

holds as (
    select
        *,
        case when next_observed_at is not null and next_observed_at < capped_at
             then next_observed_at else capped_at end as hold_end
    from rewritten
),

clipped as (
    select
        *,
        greatest(observed_at, period_start) as held_start,
        least(hold_end, period_end) as held_end,
        greatest(hold_end, period_start) as gap_start,
        least(coalesce(next_observed_at, period_end), period_end) as gap_end
    from holds
),

evaluated as (
    select
        *,
        held_end > held_start as holds_in_period,
        greatest(date_diff('microsecond', held_start, held_end), 0) as held_micros_bigint
    from clipped
    where held_end > held_start or gap_end > gap_start
)
,

computed as (
    select
        c.account_id,
        c.context,
        c.resource,
        w.usage_period,
        w.known_period,
        w.cutoff_at,
        c.period_start,
        c.period_end,
        c.source_name,
        c.collection_name,
        c.record_id,
        c.knowledge_at as record_knowledge_at,
        c.observed_at,
        c.value_base,
        c.next_observed_at,
        c.hold_end,
        c.holds_in_period,
        case when c.holds_in_period then c.held_start end as held_start,
        case when c.holds_in_period then c.held_end end as held_end,
        CAST(c.held_micros_bigint AS HUGEINT) as held_micros,
        {{ windows_rate_times_micros('c.value_base_integer', 'c.value_base_fraction', 'c.held_micros_bigint') }} as held_base_seconds,
        case when c.gap_end > c.gap_start then c.gap_start end as gap_start,
        case when c.gap_end > c.gap_start then c.gap_end end as gap_end
    from evaluated as c
    inner join window_evaluations as w
        on w.evaluation_id = c.evaluation_id
)
{%- if incremental %},

changed_samples as (
    -- per move and usage period: the samples not to carry (one marker each): those rewritten
    -- (also when they have no row now), and the stored rows of series recomputed whole (a
    -- displaced winner may have left the period's candidates)
    select e.previous_cutoff_at, e.cutoff_at, e.usage_period, r.record_id
    from rewritten as r
    inner join evaluations as e
        on e.evaluation_id = r.evaluation_id
    where e.previous_cutoff_at is not null
    union
    select w.previous_cutoff_at, w.cutoff_at, w.usage_period, t.record_id
    from {{ this }} as t
    inner join windows as w
        on w.usage_period = t.usage_period
        and w.known_period = t.known_period
        and w.previous_cutoff_at = t.cutoff_at
    inner join changed_series as ch
        on ch.previous_cutoff_at = w.previous_cutoff_at
        and ch.cutoff_at = w.cutoff_at
        and ch.account_id = t.account_id
        and ch.context = t.context
        and ch.resource = t.resource
    where ch.recomputed_whole
)
{%- endif %}
{{ windows_final_select('changed_samples', ['record_id'], 'observed_at', incremental, per_usage_period=true) }}
