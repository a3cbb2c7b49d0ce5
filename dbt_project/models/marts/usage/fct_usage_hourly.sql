-- Charts: usage per (account_id, context, resource, UTC hour) of each period as known at the
-- period's own cutoff; the hours of a line sum exactly to int_account_usage_known.quantity
-- (known_period = usage_period), except storage.files whose hours are per-hour peaks.
-- Hourly rows are lines x hours (744 per line-month), so only the latest
-- var('usage_hourly_periods', 2) periods (the current one and the previous one by default) are
-- kept; fct_usage_daily covers all periods. See macros/usage/usage_chart.sql.
{{ usage_chart('hour', 'usage_hour', 'TIMESTAMP', last_periods=var('usage_hourly_periods', 2)) }}
