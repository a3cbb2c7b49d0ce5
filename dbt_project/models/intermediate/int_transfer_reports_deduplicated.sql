{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key=['transfer_id', 'reporter']) }}
-- Valid transfer reports, one per (transfer_id, reporter): first recorded wins (earliest knowledge
-- time, then lowest record_id). duplicate_count = valid reports of that key that were removed.
{{ deduplicate_first_recorded('stg_storage_network__transfer_reports', ['transfer_id', 'reporter'], 'storage_network', 'transfer_reports') }}
