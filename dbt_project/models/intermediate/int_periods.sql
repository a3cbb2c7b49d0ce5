-- Calendar-month billing periods [period_start, period_end) from the month of the earliest usage
-- timestamp in valid staged data (contract store_begin, transfer completed_at, event occurred_at,
-- sample observed_at; first-recorded rows) through the month containing as_of.
-- close_at = period_end + grace_hours; is_closed = close_at <= as_of; cutoff_at = least(close_at, as_of).

with usage_times as (
    -- valid usage only (the dedup / version models hold valid rows)
    select min(store_begin) as t from {{ ref('int_contract_versions_ordered') }}
    union all
    select min(completed_at) from {{ ref('int_transfer_reports_deduplicated') }}
    union all
    select min(occurred_at) from {{ ref('int_usage_events_deduplicated') }}
    union all
    select min(observed_at) from {{ ref('int_usage_samples_deduplicated') }}
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
