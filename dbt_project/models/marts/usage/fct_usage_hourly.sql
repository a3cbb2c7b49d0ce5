-- Charts: usage per (account_id, context, resource, UTC hour) of each period as known at the
-- period's own cutoff; the hours of a line sum exactly to int_account_usage_known.quantity
-- (known_period = usage_period), except storage.files whose hours are per-hour peaks.
-- See macros/usage/usage_chart.sql.
{{ usage_chart('hour', 'usage_hour', 'TIMESTAMP') }}
