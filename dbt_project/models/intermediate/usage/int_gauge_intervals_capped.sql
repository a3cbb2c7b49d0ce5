-- Gauge samples (SPEC 4.3) per (usage_period, known_period): among the deduplicated samples
-- known at the cutoff, sample i of a series (account_id, context, resource) holds its value on
-- [observed_at_i, min(observed_at_{i+1}, observed_at_i + gauge_max_gap_hours)), where i+1 is the
-- next sample KNOWN at the same cutoff. Time past the cap until the next sample is a gap.
-- Candidates of a period are the samples observed in [period_start - cap, period_end): an
-- earlier sample cannot hold into the period (hold <= cap), so the last one before the period
-- start that is still holding is the carry-in. Both the hold and the gap are clipped to the
-- period; a row is kept when either meets the period.
-- held_base_seconds = value_base x held microseconds / 10^6 (exact), used by storage.bytes_used.

{%- set cap_hours = var('gauge_max_gap_hours') | int %}

with windows as (
    select * from {{ ref('int_usage_knowledge_windows') }}
),

candidates as (
    select
        w.usage_period,
        w.known_period,
        w.cutoff_at,
        w.period_start,
        w.period_end,
        s.account_id,
        s.context,
        s.resource,
        s.source_name,
        s.collection_name,
        s.record_id,
        s.knowledge_at as record_knowledge_at,
        s.observed_at,
        s.value_base
    from {{ ref('int_usage_samples_deduplicated') }} as s
    inner join windows as w
        on s.observed_at >= w.period_start - interval {{ cap_hours }} hour
        and s.observed_at < w.period_end
        and s.knowledge_at < w.cutoff_at
),

sequenced as (
    select
        *,
        lead(observed_at) over (
            partition by usage_period, known_period, account_id, context, resource
            order by observed_at
        ) as next_observed_at,
        observed_at + interval {{ cap_hours }} hour as capped_at
    from candidates
),

holds as (
    select
        *,
        case when next_observed_at is not null and next_observed_at < capped_at
             then next_observed_at else capped_at end as hold_end
    from sequenced
),

clipped as (
    select
        *,
        greatest(observed_at, period_start) as held_start,
        least(hold_end, period_end) as held_end,
        greatest(hold_end, period_start) as gap_start,
        least(coalesce(next_observed_at, period_end), period_end) as gap_end
    from holds
)

select
    account_id,
    context,
    resource,
    usage_period,
    known_period,
    cutoff_at,
    period_start,
    period_end,
    source_name,
    collection_name,
    record_id,
    record_knowledge_at,
    observed_at,
    value_base,
    next_observed_at,
    hold_end,
    held_end > held_start as holds_in_period,
    case when held_end > held_start then held_start end as held_start,
    case when held_end > held_start then held_end end as held_end,
    {{ usage_micros_between('held_start', 'held_end') }} as held_micros,
    {{ usage_rate_times_micros('value_base', usage_micros_between('held_start', 'held_end')) }} as held_base_seconds,
    case when gap_end > gap_start then gap_start end as gap_start,
    case when gap_end > gap_start then gap_end end as gap_end
from clipped
where held_end > held_start or gap_end > gap_start
