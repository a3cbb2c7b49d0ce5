{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='append_new_columns') }}
-- depends_on: {{ ref('int_raw_batches') }}
-- One row per rejected raw row of every staged collection: source, collection, _id, reason code,
-- knowledge time, batch and the raw document.
-- Incremental (append): every reject reason is decided by the row alone (and the seeds), so the
-- rejects of stored batches never change and a run adds the rejects of the raw batches this
-- table has not taken in (the batch filter reaches the raw scan). A run that finds no rejects
-- writes nothing and reads those batches again next time (still none): exact. Not scoped.
{%- set staged = [
    ('stg_storage_network__contracts', 'storage_network', 'contracts'),
    ('stg_storage_network__transfer_reports', 'storage_network', 'transfer_reports'),
    ('stg_storage_network__audits', 'storage_network', 'audits'),
    ('stg_storage_network__farmers', 'storage_network', 'farmers'),
    ('stg_storage_network__renters', 'storage_network', 'renters'),
    ('stg_compute__usage_events', 'compute', 'usage_events'),
    ('stg_compute__accounts', 'compute', 'accounts'),
    ('stg_storage__usage_samples', 'storage', 'usage_samples'),
    ('stg_storage__accounts', 'storage', 'accounts')] %}

with rejected as (
    {%- for m, src, coll in staged %}
    select source_name, collection_name, record_id, reject_reason, knowledge_at, batch_id, raw_document
    from {{ ref(m) }}
    where reject_reason is not null
    {%- if is_incremental() %}
      and {{ in_batches('batch_id', new_batch_ids(src, coll)) }}
    {%- endif %}
    {{ 'union all' if not loop.last }}
    {%- endfor %}
)

select
    CAST(md5(concat_ws('|', source_name, collection_name, coalesce(record_id, '<null>'),
        coalesce(CAST(knowledge_at AS VARCHAR), '<null>'), coalesce(batch_id, '<null>'),
        coalesce(raw_document, '<null>'))) AS VARCHAR) as rejected_record_key,
    CAST(source_name AS VARCHAR) as source_name,
    CAST(collection_name AS VARCHAR) as collection_name,
    CAST(record_id AS VARCHAR) as record_id,
    CAST(reject_reason AS VARCHAR) as reject_reason,
    CAST(split_part(reject_reason, ':', 1) AS VARCHAR) as reject_code,
    CAST(nullif(split_part(reject_reason, ':', 2), '') AS VARCHAR) as reject_field,
    CAST(knowledge_at AS TIMESTAMP) as knowledge_at,
    CAST(batch_id AS VARCHAR) as batch_id,
    CAST(raw_document AS VARCHAR) as raw_document,
    {{ batch_seq_now(scope_free=true) }} as built_through_batch_seq
from rejected
