{{ config(materialized='incremental', incremental_strategy='append') }}
-- The staging grain, checked once per raw batch: duplicate_rows = rows of the batch repeating
-- another row's (record_id, knowledge_at, batch_id) among the rows with a knowledge time (the
-- key of every staging model). Raw batches are append-once (assert_raw_batches_append_once), so
-- a batch checked when it was logged stays checked: each run scans only the batches logged since
-- (not all of raw, as a unique test on the staging views did), and a failing batch keeps failing
-- its test (it stays here). Off the money path: nothing reads it but its test.

with unchecked as (
    select source_name, collection_name, batch_id, batch_seq
    from {{ ref('int_raw_batches') }}
    {%- if is_incremental() %}
    where batch_seq > (select coalesce(max(batch_seq), 0) from {{ this }})
    {%- endif %}
),

duplicates as (
    {%- for src, coll in raw_source_tables() %}
    select
        '{{ src }}' as source_name,
        '{{ coll }}' as collection_name,
        coalesce(_batch_id, '') as batch_id,
        count(_knowledge_at)
            - count(distinct (_id, _knowledge_at, _batch_id)) filter (where _knowledge_at is not null) as duplicate_rows
    from {{ source(src, coll) }}
    where coalesce(_batch_id, '') in (
        select batch_id from unchecked
        where source_name = '{{ src }}' and collection_name = '{{ coll }}'
    )
    group by coalesce(_batch_id, '')
    {{ 'union all' if not loop.last }}
    {%- endfor %}
)

select
    u.source_name,
    u.collection_name,
    u.batch_id,
    u.batch_seq,
    CAST(coalesce(d.duplicate_rows, 0) AS BIGINT) as duplicate_rows
from unchecked as u
left join duplicates as d using (source_name, collection_name, batch_id)
