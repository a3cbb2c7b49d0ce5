-- Valid farmer versions, identical (record_id, updated_at) repeats collapsed, ordered per farmer:
-- valid_from = updated_at, valid_to = next version's updated_at (NULL for the latest).
with valid as (
    select * from {{ ref('stg_storage_network__farmers') }} where reject_reason is null
),

ranked as (
    select
        *,
        row_number() over (partition by record_id, updated_at order by knowledge_at, batch_id) as rn,
        count(*) over (partition by record_id, updated_at) as n_rows
    from valid
),

versions as (
    select * exclude (rn, n_rows, reject_reason, raw_document), CAST(n_rows - 1 AS BIGINT) as duplicate_count
    from ranked
    where rn = 1
)

select
    *,
    updated_at as valid_from,
    lead(updated_at) over (partition by farmer_id order by updated_at) as valid_to,
    CAST(row_number() over (partition by farmer_id order by updated_at) AS INTEGER) as version_number,
    lead(updated_at) over (partition by farmer_id order by updated_at) is null as is_latest
from versions
