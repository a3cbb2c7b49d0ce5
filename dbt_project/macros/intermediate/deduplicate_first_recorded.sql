{#- Valid rows of a staging model, one per key: first recorded wins (earliest knowledge_at,
    then lowest record_id, then batch_id). duplicate_count = valid rows of the key removed.

    Incremental (the model's config: incremental, delete+insert on the key): only the raw
    batches this table has not taken in are read (the batch filter reaches the raw scan), and
    each touched key is merged with its stored winner — the winner is the smaller of the two
    (same order), duplicate_count adds the new rows. Exact because raw is append-only and each
    batch is taken in once (int_raw_batches); the content does not depend on the var `period`,
    so it stays incremental in scoped builds. -#}
{% macro deduplicate_first_recorded(staging_model, key_columns, source_name, collection_name) -%}
{%- set keys = key_columns | join(', ') %}
{%- set incremental = is_incremental() %}
-- depends_on: {{ ref('int_raw_batches') }}
with valid as (
    select * exclude (reject_reason, raw_document)
    from {{ ref(staging_model) }}
    where reject_reason is null
    {%- if incremental %}
      and {{ in_batches('batch_id', new_batch_ids(source_name, collection_name)) }}
    {%- endif %}
),

ranked as (
    select
        *,
        row_number() over (partition by {{ keys }} order by knowledge_at, record_id, batch_id) as rn,
        count(*) over (partition by {{ keys }}) as n_rows
    from valid
),

new_winners as (
    select * exclude (rn) from ranked where rn = 1
)
{%- if not incremental %}

select * exclude (n_rows), CAST(n_rows - 1 AS BIGINT) as duplicate_count,
       {{ batch_seq_now(scope_free=true) }} as built_through_batch_seq
from new_winners
{%- else %},

stored as (
    -- the stored winners of the touched keys
    {{ rows_with_keys(this, key_columns, 'select ' ~ keys ~ ' from new_winners') }}
),

compared as (
    select
        n.*,
        s.duplicate_count + 1 as stored_rows,
        s.knowledge_at < n.knowledge_at
            or (s.knowledge_at = n.knowledge_at and (s.record_id < n.record_id
                or (s.record_id = n.record_id and s.batch_id <= n.batch_id))) as stored_wins
    from new_winners as n
    left join stored as s
        on {% for k in key_columns %}s.{{ k }} = n.{{ k }}{{ ' and ' if not loop.last }}{% endfor %}
)

-- the stored winner stays (with the new rows counted) ...
select s.* replace (CAST(s.duplicate_count + c.n_rows AS BIGINT) as duplicate_count,
                    {{ batch_seq_now(scope_free=true) }} as built_through_batch_seq)
from stored as s
join compared as c
    on {% for k in key_columns %}c.{{ k }} = s.{{ k }}{{ ' and ' if not loop.last }}{% endfor %}
where c.stored_wins

union all by name

-- ... or the earliest new row wins
select c.* exclude (n_rows, stored_rows, stored_wins),
       CAST(coalesce(c.stored_rows, 0) + c.n_rows - 1 AS BIGINT) as duplicate_count,
       {{ batch_seq_now(scope_free=true) }} as built_through_batch_seq
from compared as c
where not coalesce(c.stored_wins, false)
{%- endif %}
{%- endmacro %}
