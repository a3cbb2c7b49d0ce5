-- Calendar-month billing periods [period_start, period_end) from the month of the earliest usage
-- timestamp in valid staged data through the month containing as_of.
-- close_at = period_end + grace_hours; is_closed = close_at <= as_of; cutoff_at = least(close_at, as_of).

with usage_times as (
    select min(store_begin) as t from {{ ref('stg_storage_network__contracts') }} where reject_reason is null
    union all
    select min(completed_at) from {{ ref('stg_storage_network__transfer_reports') }} where reject_reason is null
    union all
    select min(occurred_at) from {{ ref('stg_compute__usage_events') }} where reject_reason is null
    union all
    select min(observed_at) from {{ ref('stg_storage__usage_samples') }} where reject_reason is null
),

bounds as (
    select
        date_trunc('month', least(coalesce(min(t), {{ as_of() }}), {{ as_of() }}))::TIMESTAMP as first_start,
        date_trunc('month', {{ as_of() }})::TIMESTAMP as last_start
    from usage_times
),

months as (
    select CAST(m AS TIMESTAMP) as period_start
    from bounds, generate_series(bounds.first_start, bounds.last_start, INTERVAL 1 MONTH) as g(m)
),

periods as (
    select
        strftime(period_start, '%Y-%m') as period,
        period_start,
        CAST(period_start + INTERVAL 1 MONTH AS TIMESTAMP) as period_end,
        CAST(period_start + INTERVAL 1 MONTH AS TIMESTAMP)
            + to_hours(CAST({{ var('grace_hours') }} AS BIGINT)) as close_at
    from months
)

select
    period,
    period_start,
    period_end,
    CAST(date_diff('hour', period_start, period_end) AS INTEGER) as hours,
    CAST(close_at AS TIMESTAMP) as close_at,
    close_at <= {{ as_of() }} as is_closed,
    CAST(least(close_at, {{ as_of() }}) AS TIMESTAMP) as cutoff_at
from periods
