{#- Incremental builds of the per-window usage models (int_storage_contracts_clipped,
    int_gauge_intervals_capped; unique_key [usage_period, known_period]).

    Rows of a window depend only on records known before its cutoff_at (SPEC 4.1), and the rows
    of one entity (a contract, a gauge series) only on that entity's records. So:
    - a stored window whose cutoff is unchanged stays as it is while the cutoff is <= the
      earliest knowledge time of the new batches of the model's collections; otherwise it is
      recomputed in full;
    - a window whose cutoff moved forward from c_old to c_new (as_of moved: the draft period's
      and 'latest' windows) is carried over: only the entities with a record known in
      [c_old, c_new), or with a record from a batch the table has not taken in that is known
      before c_new, are recomputed; the others keep their rows with cutoff_at = c_new;
    - new windows are computed in full.

    Strategy 'append' with two hooks (delete+insert on [usage_period, known_period] would join
    every stored row of a window with every new row of it: quadratic):
    windows_delete_stale (pre_hook): drops windows to recompute in full — unchanged cutoff after
    the new knowledge, cutoff moved backwards, or window gone. What remains is kept or carried.
    The model writes new windows and carried windows (at their new cutoff).
    windows_delete_moved (post_hook): drops the rows whose cutoff is no longer their window's,
    i.e. the carried windows' old rows. -#}

{#- collections: the (source_name, collection_name) pairs the model's records come from. -#}
{% macro windows_delete_stale(collections) -%}
    {%- if incremental_run() -%}
        delete from {{ this }} as t
        where not exists (
            select 1 from {{ ref('int_usage_knowledge_windows') }} as w
            where w.usage_period = t.usage_period
              and w.known_period = t.known_period
              and (w.cutoff_at > t.cutoff_at
                   or (w.cutoff_at = t.cutoff_at
                       and t.cutoff_at <= {{ new_knowledge_since(collections=collections) }}))
        )
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{% macro windows_delete_moved() -%}
    {%- if incremental_run() -%}
        delete from {{ this }} as t
        where not exists (
            select 1 from {{ ref('int_usage_knowledge_windows') }} as w
            where w.usage_period = t.usage_period
              and w.known_period = t.known_period
              and w.cutoff_at = t.cutoff_at
        )
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- SQL CTEs `windows` (the windows this run writes, with previous_cutoff_at: NULL = compute in
    full, else carry from that stored cutoff) and `moves` (distinct (previous_cutoff_at,
    cutoff_at) of carried windows). In a full build: every window, previous_cutoff_at NULL. -#}
{% macro windows_to_write() -%}
all_windows as (
    select * from {{ ref('int_usage_knowledge_windows') }}
),

{%- if incremental_run() %}

stored_windows as (
    -- after windows_delete_stale: windows valid at their stored cutoff
    select usage_period, known_period, max(cutoff_at) as stored_cutoff_at
    from {{ this }}
    group by usage_period, known_period
),

windows as (
    select w.*, s.stored_cutoff_at as previous_cutoff_at
    from all_windows as w
    left join stored_windows as s
        on s.usage_period = w.usage_period
        and s.known_period = w.known_period
    where s.stored_cutoff_at is null
       or s.stored_cutoff_at < w.cutoff_at
),
{%- else %}

windows as (
    select *, CAST(NULL AS TIMESTAMP) as previous_cutoff_at from all_windows
),
{%- endif %}

moves as (
    select distinct previous_cutoff_at, cutoff_at
    from windows
    where previous_cutoff_at is not null
)
{%- endmacro %}

{#- The end of a per-window model after its `computed` CTE: the computed rows plus, in an
    incremental run, the stored rows of windows whose cutoff moved for the entities (joined on
    entity_columns) not in the `changed` CTE, carried over at the new cutoff. -#}
{% macro windows_final_select(changed, entity_columns, incremental) -%}
{%- if incremental %},

carried as (
    -- moved windows: stored rows of the unchanged entities, now as known at the new cutoff
    select t.* exclude (built_through_batch_seq) replace (w.cutoff_at as cutoff_at)
    from {{ this }} as t
    inner join windows as w
        on w.usage_period = t.usage_period
        and w.known_period = t.known_period
        and w.previous_cutoff_at = t.cutoff_at
    anti join {{ changed }} as ch
        on {% for c in entity_columns %}ch.{{ c }} is not distinct from t.{{ c }}
        and {% endfor %}ch.previous_cutoff_at = w.previous_cutoff_at
        and ch.cutoff_at = w.cutoff_at
)
{%- endif %}

select *, {{ batch_seq_now() }} as built_through_batch_seq
from computed
{%- if incremental %}
union all
select *, {{ batch_seq_now() }} as built_through_batch_seq
from carried
{%- endif %}
{%- endmacro %}
