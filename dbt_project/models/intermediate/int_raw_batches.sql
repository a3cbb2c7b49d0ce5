{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='append_new_columns') }}
-- The change log of raw: one row per (source_name, collection_name, batch_id) with the batch's
-- row count and knowledge-time range. batch_seq increases in the order batches first appear
-- (ties: extraction time, then names), so "batches after seq N" is what a model stamped N has
-- not seen. Batches are append-once: assert_raw_batches_append_once fails the build when a
-- logged batch later changes size (incremental models would miss or double-count rows).
-- duplicate_rows checks the staging grain (record_id, knowledge_at, batch_id) once per batch,
-- when it is logged: a batch never changes afterwards, so the check holds for good, and a
-- failing batch keeps failing its test (it stays in the log) instead of being re-scanned.

with batches as (
    {{ raw_batch_counts(unlogged_in=this if is_incremental() else none, duplicates=true) }}
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
    CAST(duplicate_rows AS BIGINT) as duplicate_rows,
    CAST(
        {%- if is_incremental() %} (select coalesce(max(batch_seq), 0) from {{ this }}) + {% endif %}
        row_number() over (order by extracted_at nulls first, source_name, collection_name, batch_id)
    AS BIGINT) as batch_seq
from new_batches
