{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='append_new_columns',
          pre_hook=["{{ clear_when_scoped() }}", "{{ usage_chart_delete_stale() }}"],
          post_hook=["{{ windows_carry_moved(['account_id', 'context', 'resource'], marker_column='base_quantity', own_window_only=true) }}",
                     "{{ windows_delete_moved(marker_column='base_quantity', own_window_only=true) }}"]) }}
-- depends_on: {{ ref('int_raw_batches') }}
-- depends_on: {{ ref('int_usage_samples_deduplicated') }}
-- Charts: usage per (account_id, context, resource, UTC day) of each period as known at the
-- period's own cutoff; the days of a line sum exactly to int_account_usage_known.quantity
-- (known_period = usage_period), except storage.files whose days are per-day peaks.
-- Incremental per line: closed periods are kept while no knowledge before their cutoff is new;
-- a period whose cutoff moved (the draft period) recomputes only its changed lines. See
-- macros/usage/usage_chart.sql.
{{ usage_chart('day', 'usage_day', 'DATE') }}
