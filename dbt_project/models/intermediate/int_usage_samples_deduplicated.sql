{{ config(materialized='incremental', incremental_strategy='delete+insert',
          unique_key=['account_id', 'context', 'resource', 'observed_at']) }}
-- Valid gauge samples, one per (account_id, context, resource, observed_at): first recorded wins
-- (earliest knowledge time, then lowest record_id). duplicate_count = samples removed.
{{ deduplicate_first_recorded('stg_storage__usage_samples', ['account_id', 'context', 'resource', 'observed_at'], 'storage', 'usage_samples') }}
