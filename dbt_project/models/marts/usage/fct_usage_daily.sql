{{ config(materialized='incremental', incremental_strategy='delete+insert',
          unique_key=['usage_period'], on_schema_change='append_new_columns',
          pre_hook=["{{ clear_when_scoped() }}", "{{ usage_chart_delete_stale() }}"]) }}
-- depends_on: {{ ref('int_raw_batches') }}
-- Charts: usage per (account_id, context, resource, UTC day) of each period as known at the
-- period's own cutoff; the days of a line sum exactly to int_account_usage_known.quantity
-- (known_period = usage_period), except storage.files whose days are per-day peaks.
-- Incremental per usage_period: only periods whose cutoff moved or lies after new knowledge
-- are recomputed. See macros/usage/usage_chart.sql.
{{ usage_chart('day', 'usage_day', 'DATE') }}
