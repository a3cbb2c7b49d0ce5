{{ config(materialized='incremental', incremental_strategy='append') }}
-- The change log of raw: one row per (source_name, collection_name, batch_id) with the batch's
-- row count and knowledge-time range. batch_seq increases in the order batches first appear
-- (ties: extraction time, then names), so "batches after seq N" is what a model stamped N has
-- not seen. Batches are append-once: assert_raw_batches_append_once fails the build when a
-- logged batch later changes size (incremental models would miss or double-count rows).

with batches as (
    {{ raw_batch_counts() }}
),

new_batches as (
    select b.*
    from batches as b
    {%- if is_incremental() %}
    anti join {{ this }} as t
        on t.source_name = b.source_name
        and t.collection_name = b.collection_name
        and t.batch_id = b.batch_id
    {%- endif %}
)

select
    source_name,
    collection_name,
    batch_id,
    CAST(extracted_at AS TIMESTAMP) as extracted_at,
    CAST(min_knowledge_at AS TIMESTAMP) as min_knowledge_at,
    CAST(max_knowledge_at AS TIMESTAMP) as max_knowledge_at,
    CAST(row_count AS BIGINT) as row_count,
    CAST(
        {%- if is_incremental() %} (select coalesce(max(batch_seq), 0) from {{ this }}) + {% endif %}
        row_number() over (order by extracted_at nulls first, source_name, collection_name, batch_id)
    AS BIGINT) as batch_seq
from new_batches
