-- One row per rejected raw row of every staged collection: source, collection, _id, reason code,
-- knowledge time, batch and the raw document.
{%- set staged = [
    'stg_storage_network__contracts', 'stg_storage_network__transfer_reports',
    'stg_storage_network__audits', 'stg_storage_network__farmers', 'stg_storage_network__renters',
    'stg_compute__usage_events', 'stg_compute__accounts',
    'stg_storage__usage_samples', 'stg_storage__accounts'] %}

with rejected as (
    {%- for m in staged %}
    select source_name, collection_name, record_id, reject_reason, knowledge_at, batch_id, raw_document
    from {{ ref(m) }}
    where reject_reason is not null
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
    CAST(raw_document AS VARCHAR) as raw_document
from rejected
