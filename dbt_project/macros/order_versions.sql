{#- Valid versions of a versioned document: identical (record_id, updated_at) repeats collapsed
    (earliest knowledge, then batch; the rest counted in duplicate_count), ordered per entity:
    valid_from = updated_at, valid_to = next version's updated_at (NULL for the latest). The version
    known at T is the one with valid_from < T <= valid_to (or valid_to NULL).

    Incremental (the model's config: incremental, delete+insert on entity_key): the versions of an
    entity depend only on its own raw rows (a record_id belongs to one entity), so only entities
    with valid rows in the raw batches this table has not taken in are recomputed — their stored
    versions (each standing for duplicate_count + 1 raw rows) merged with the new rows, in the
    same order as a full build. Exact because raw is append-only and each batch is taken in once
    (int_raw_batches); the content does not depend on the var `period`, so it stays incremental
    in scoped builds. -#}
{% macro order_versions(staging_model, entity_key, source_name, collection_name) %}
{%- set incremental = is_incremental() %}
-- depends_on: {{ ref('int_raw_batches') }}
with new_valid as (
    select * exclude (reject_reason, raw_document), CAST(1 AS BIGINT) as n_rows
    from {{ ref(staging_model) }}
    where reject_reason is null
    {%- if incremental %}
      and {{ in_batches('batch_id', new_batch_ids(source_name, collection_name)) }}
    {%- endif %}
),

{%- if incremental %}

valid as (
    select * from new_valid
    union all by name
    -- the stored versions of the touched entities (a stored version stands for its repeats)
    select t.* exclude (duplicate_count, valid_from, valid_to, version_number, is_latest, built_through_batch_seq),
           t.duplicate_count + 1 as n_rows
    from {{ this }} as t
    where t.{{ entity_key }} in (select {{ entity_key }} from new_valid)
),
{%- else %}

valid as (
    select * from new_valid
),
{%- endif %}

ranked as (
    select
        *,
        row_number() over (partition by record_id, updated_at order by knowledge_at, batch_id) as rn,
        sum(n_rows) over (partition by record_id, updated_at) as repeat_rows
    from valid
),

versions as (
    select * exclude (rn, n_rows, repeat_rows), CAST(repeat_rows - 1 AS BIGINT) as duplicate_count
    from ranked
    where rn = 1
)

select
    *,
    updated_at as valid_from,
    lead(updated_at) over (partition by {{ entity_key }} order by updated_at) as valid_to,
    CAST(row_number() over (partition by {{ entity_key }} order by updated_at) AS INTEGER) as version_number,
    lead(updated_at) over (partition by {{ entity_key }} order by updated_at) is null as is_latest,
    {{ batch_seq_now(scope_free=true) }} as built_through_batch_seq
from versions
{% endmacro %}
