-- Valid account versions of every source that describes accounts (storage_network renters,
-- compute accounts, storage accounts), one namespace of account ids. Identical
-- (source, record_id, updated_at) repeats are collapsed. Versions are ordered across sources by
-- updated_at (ties: source_name): the latest known version wins. valid_to = next version's
-- updated_at (NULL for the latest); a version tied on updated_at with a later-ordered one gets
-- an empty interval [t, t) and is never the version known at any time.
-- The version known at T: valid_from < T and (valid_to is null or valid_to >= T).
with valid as (
    select * from {{ ref('stg_storage_network__renters') }} where reject_reason is null
    union all by name
    select * from {{ ref('stg_compute__accounts') }} where reject_reason is null
    union all by name
    select * from {{ ref('stg_storage__accounts') }} where reject_reason is null
),

ranked as (
    select
        *,
        row_number() over (partition by source_name, record_id, updated_at order by knowledge_at, batch_id) as rn,
        count(*) over (partition by source_name, record_id, updated_at) as n_rows
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
    lead(updated_at) over w as valid_to,
    CAST(row_number() over w AS INTEGER) as version_number,
    lead(updated_at) over w is null as is_latest
from versions
window w as (partition by account_id order by updated_at, source_name, collection_name)
