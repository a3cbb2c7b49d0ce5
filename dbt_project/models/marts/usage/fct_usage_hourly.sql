{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='append_new_columns',
          incremental_stage='table',
          pre_hook=["{{ clear_when_scoped() }}",
                    "{{ usage_chart_delete_stale(last_periods=var('usage_hourly_periods', 2), carry_moved_lines=false) }}"]) }}
-- depends_on: {{ ref('int_raw_batches') }}
-- depends_on: {{ ref('int_usage_samples_deduplicated') }}
-- Charts: usage per (account_id, context, resource, UTC hour) of each period as known at the
-- period's own cutoff; the hours of a line sum exactly to int_account_usage_known.quantity
-- (known_period = usage_period), except storage.files whose hours are per-hour peaks.
-- Hourly rows are lines x hours (744 per line-month), so only the latest
-- var('usage_hourly_periods', 2) periods (the current one and the previous one by default) are
-- kept; fct_usage_daily covers all periods. Incremental per period: older periods are deleted
-- as they leave the chart, a closed period is kept while no knowledge before its cutoff is new,
-- and the draft period (whose cutoff moves every day) is recomputed whole — its storage lines
-- all change daily, so a per-line carry would recompute nearly every row and pay for the carry
-- on top (see usage_chart_delete_stale). A period recomputed whole is ~90 M rows at L: staged
-- in a regular table (incremental_stage), not in DuckDB's in-memory temporary one. See
-- macros/usage/usage_chart.sql.
{{ usage_chart('hour', 'usage_hour', 'TIMESTAMP', last_periods=var('usage_hourly_periods', 2), carry_moved_lines=false) }}
