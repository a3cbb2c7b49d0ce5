{{ config(materialized='incremental', incremental_strategy='delete+insert',
          unique_key=['usage_period'], on_schema_change='append_new_columns',
          pre_hook=["{{ clear_when_scoped() }}",
                    "{{ usage_chart_delete_stale(last_periods=var('usage_hourly_periods', 2)) }}"]) }}
-- depends_on: {{ ref('int_raw_batches') }}
-- Charts: usage per (account_id, context, resource, UTC hour) of each period as known at the
-- period's own cutoff; the hours of a line sum exactly to int_account_usage_known.quantity
-- (known_period = usage_period), except storage.files whose hours are per-hour peaks.
-- Hourly rows are lines x hours (744 per line-month), so only the latest
-- var('usage_hourly_periods', 2) periods (the current one and the previous one by default) are
-- kept; fct_usage_daily covers all periods. Incremental per usage_period (older periods are
-- deleted as they leave the chart). See macros/usage/usage_chart.sql.
{{ usage_chart('hour', 'usage_hour', 'TIMESTAMP', last_periods=var('usage_hourly_periods', 2)) }}
