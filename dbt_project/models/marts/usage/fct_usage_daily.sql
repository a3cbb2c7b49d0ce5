-- Charts: usage per (account_id, context, resource, UTC day) of each period as known at the
-- period's own cutoff; the days of a line sum exactly to int_account_usage_known.quantity
-- (known_period = usage_period), except storage.files whose days are per-day peaks.
-- See macros/usage/usage_chart.sql.
{{ usage_chart('day', 'usage_day', 'DATE') }}
