-- Valid transfer reports, one per (transfer_id, reporter): first recorded wins (earliest knowledge
-- time, then lowest record_id). duplicate_count = valid reports of that key that were removed.
with valid as (
    select * from {{ ref('stg_storage_network__transfer_reports') }} where reject_reason is null
),

ranked as (
    select
        *,
        row_number() over (partition by transfer_id, reporter order by knowledge_at, record_id, batch_id) as rn,
        count(*) over (partition by transfer_id, reporter) as n_rows
    from valid
)

select * exclude (rn, n_rows, reject_reason, raw_document), CAST(n_rows - 1 AS BIGINT) as duplicate_count
from ranked
where rn = 1
