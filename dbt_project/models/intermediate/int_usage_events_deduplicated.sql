{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='event_id') }}
-- Valid usage events, one per event_id: first recorded wins (earliest knowledge time, then lowest
-- record_id). duplicate_count = valid rows with the same event_id that were removed.
{{ deduplicate_first_recorded('stg_compute__usage_events', ['event_id'], 'compute', 'usage_events') }}
