-- Raw batches are append-once: incremental models take each logged batch in exactly once, so a
-- batch that changed size after it was logged would be missed or double-counted. Rows returned
-- = batches whose raw row count differs from the log; fix: `dbt build --full-refresh`.
{{ config(meta={'dagster': {'ref': {'name': 'int_raw_batches'}}}) }}
with raw_counts as (
    {{ raw_batch_counts() }}
)

select l.source_name, l.collection_name, l.batch_id, l.row_count as logged_rows, r.row_count as raw_rows
from {{ ref('int_raw_batches') }} as l
join raw_counts as r using (source_name, collection_name, batch_id)
where r.row_count <> l.row_count
