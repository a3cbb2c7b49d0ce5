{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='append_new_columns',
          pre_hook=["{{ clear_when_scoped() }}", "{{ usage_chart_delete_stale() }}"],
          post_hook=["{{ usage_chart_delete_replaced('usage_day') }}"]) }}
-- depends_on: {{ ref('int_raw_batches') }}
-- depends_on: {{ ref('int_usage_samples_deduplicated') }}
-- Charts: usage per (account_id, context, resource, UTC day) of each period as known at the
-- period's own cutoff, the draft period up to as_of; the days of a line are cumulative
-- roundings that sum exactly to int_account_usage_known.quantity (known_period = usage_period;
-- the draft: its usage to date), except storage.files whose days are per-day peaks.
-- Incremental per line and day: closed periods are kept while no knowledge before their cutoff
-- is new; the draft period keeps each line's days before the first one new knowledge changes.
-- See macros/usage/usage_chart.sql.
{{ usage_chart('day', 'usage_day', 'DATE') }}
