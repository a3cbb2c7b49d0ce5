-- Gauge gaps (SPEC 4.3): time of a series (account_id, context, resource) past a sample's
-- gauge_max_gap_hours cap until the next sample, not billed; clipped to the usage period, as
-- known at the period's own cutoff (known_period = usage_period).
-- - after a sample: [min(next, observed_at + cap), next observed_at or period end);
-- - leading: a series with samples in the period and an older known sample (observed more than
--   cap before the period start, so not holding into it) has a gap from the period start to its
--   first sample in the period.
-- A series that has stopped reporting gets gap rows only in the periods its last samples reach.

{%- set cap_hours = var('gauge_max_gap_hours') | int %}

with intervals as (
    select *
    from {{ ref('int_gauge_intervals_capped') }}
    where known_period = usage_period
),

after_sample as (
    select
        account_id,
        context,
        resource,
        usage_period,
        cutoff_at,
        gap_start,
        gap_end,
        record_id as after_record_id,
        'after_sample' as gap_kind
    from intervals
    where gap_start is not null
),

first_in_window as (
    -- series whose earliest candidate sample lies inside the period (no carry-in candidate)
    select
        account_id,
        context,
        resource,
        usage_period,
        cutoff_at,
        period_start,
        min(observed_at) as first_observed_at
    from intervals
    group by account_id, context, resource, usage_period, cutoff_at, period_start
    having min(observed_at) > period_start
),

leading_gaps as (
    select
        f.account_id,
        f.context,
        f.resource,
        f.usage_period,
        f.cutoff_at,
        f.period_start as gap_start,
        f.first_observed_at as gap_end,
        CAST(NULL AS VARCHAR) as after_record_id,
        'leading' as gap_kind
    from first_in_window as f
    where exists (
        select 1
        from {{ ref('int_usage_samples_deduplicated') }} as s
        where s.account_id = f.account_id
          and s.context = f.context
          and s.resource = f.resource
          and s.observed_at < f.period_start - interval {{ cap_hours }} hour
          and s.knowledge_at < f.cutoff_at
    )
),

gaps as (
    select * from after_sample
    union all
    select * from leading_gaps
)

select
    CAST(account_id AS VARCHAR) as account_id,
    CAST(context AS VARCHAR) as context,
    CAST(resource AS VARCHAR) as resource,
    CAST(gap_start AS TIMESTAMP) as gap_start,
    CAST(gap_end AS TIMESTAMP) as gap_end,
    {{ exact_divide(usage_micros_between('gap_start', 'gap_end'), 3600000000, 9, input_scale=0) }} as gap_hours,
    CAST(usage_period AS VARCHAR) as usage_period,
    CAST(cutoff_at AS TIMESTAMP) as cutoff_at,
    CAST(gap_kind AS VARCHAR) as gap_kind,
    CAST(after_record_id AS VARCHAR) as after_record_id
from gaps
