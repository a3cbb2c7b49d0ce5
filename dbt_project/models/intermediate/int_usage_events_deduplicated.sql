-- Valid usage events, one per event_id: first recorded wins (earliest knowledge time, then lowest
-- record_id). duplicate_count = valid rows with the same event_id that were removed.
with valid as (
    select * from {{ ref('stg_compute__usage_events') }} where reject_reason is null
),

ranked as (
    select
        *,
        row_number() over (partition by event_id order by knowledge_at, record_id, batch_id) as rn,
        count(*) over (partition by event_id) as n_rows
    from valid
)

select * exclude (rn, n_rows, reject_reason, raw_document), CAST(n_rows - 1 AS BIGINT) as duplicate_count
from ranked
where rn = 1
