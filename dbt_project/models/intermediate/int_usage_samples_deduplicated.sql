-- Valid gauge samples, one per (account_id, context, resource, observed_at): first recorded wins
-- (earliest knowledge time, then lowest record_id). duplicate_count = samples removed.
with valid as (
    select * from {{ ref('stg_storage__usage_samples') }} where reject_reason is null
),

ranked as (
    select
        *,
        row_number() over (
            partition by account_id, context, resource, observed_at
            order by knowledge_at, record_id, batch_id
        ) as rn,
        count(*) over (partition by account_id, context, resource, observed_at) as n_rows
    from valid
)

select * exclude (rn, n_rows, reject_reason, raw_document), CAST(n_rows - 1 AS BIGINT) as duplicate_count
from ranked
where rn = 1
