{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='append_new_columns',
          pre_hook=["{{ clear_when_scoped() }}",
                    "{{ usage_chart_delete_stale(last_periods=var('usage_hourly_periods', 2)) }}"],
          post_hook=["{{ usage_chart_delete_replaced('usage_hour') }}"]) }}
-- depends_on: {{ ref('int_raw_batches') }}
-- depends_on: {{ ref('int_usage_samples_deduplicated') }}
-- Charts: usage per (account_id, context, resource, UTC hour) of each period as known at the
-- period's own cutoff, the draft period up to as_of; the hours of a line are cumulative
-- roundings that sum exactly to int_account_usage_known.quantity (known_period = usage_period;
-- the draft: its usage to date), except storage.files whose hours are per-hour peaks.
-- Hourly rows are lines x hours (744 per line-month), so only the latest
-- var('usage_hourly_periods', 2) periods (the current one and the previous one by default) are
-- kept; fct_usage_daily covers all periods. Incremental per line and hour (older periods are
-- deleted as they leave the chart; the draft period keeps each line's hours before the first
-- one new knowledge changes). See macros/usage/usage_chart.sql.
{{ usage_chart('hour', 'usage_hour', 'TIMESTAMP', last_periods=var('usage_hourly_periods', 2)) }}
