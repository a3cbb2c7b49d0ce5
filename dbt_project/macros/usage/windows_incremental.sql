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
      before c_new, are recomputed; the others keep their rows, moved to cutoff_at = c_new;
    - new windows are computed in full.

    Strategy 'append' with three hooks (delete+insert on [usage_period, known_period] would join
    every stored row of a window with every new row of it: quadratic):
    windows_delete_stale (pre_hook): drops windows to recompute in full — unchanged cutoff after
    the new knowledge, cutoff moved backwards, or window gone. What remains is kept or carried.
    The model writes new windows, the recomputed entities of moved windows and one marker row
    (marker column NULL) per recomputed entity and moved window.
    windows_carry_moved (post_hook): moves the stored rows of moved windows to the new cutoff,
    except the entities the run wrote rows or a marker for. An UPDATE of cutoff_at alone: the
    unchanged rows are not copied (a carried copy cost 4x more, and the as_of windows hold most
    of a period's state), and keep the built_through_batch_seq of the run that computed them, so
    the charts find the rows computed since they were built, and tests on the rows written this
    run skip carried rows (tested when written; their keys cannot collide with the recomputed
    entities', whose old rows are dropped).
    windows_delete_moved (post_hook): drops the rows still at a cutoff that is no longer their
    window's (the recomputed entities' old rows) and the markers. -#}

{#- collections: the (source_name, collection_name) pairs the model's records come from (none:
    every raw table). moved: what happens to a window whose cutoff moved forward:
    - 'carry' (the state models): kept whatever the new knowledge; the model recomputes the
      entities it touches (windows_carry_moved);
    - 'extend' (the counter tables, int_account_usage_known): kept only if it is still valid as
      of its stored cutoff (that cutoff <= the new knowledge, as for an unchanged window): it is
      then the window's own base, and the run adds what is known in [stored cutoff, new cutoff)
      (records_first_windows, windows_bases);
    - 'drop': deleted, the window is recomputed in full.
    After it the table holds only windows valid as stored, plus (carry) moved ones. -#}
{% macro windows_delete_stale(collections=none, moved='carry') -%}
    {%- if moved not in ('carry', 'extend', 'drop') -%}
        {{ exceptions.raise_compiler_error("windows_delete_stale: moved must be 'carry', 'extend' or 'drop', not " ~ moved) }}
    {%- endif -%}
    {%- if incremental_run() -%}
        delete from {{ this }} as t
        where not exists (
            select 1 from {{ ref('int_usage_knowledge_windows') }} as w
            where w.usage_period = t.usage_period
              and w.known_period = t.known_period
              {%- if moved == 'carry' %}
              and (w.cutoff_at > t.cutoff_at
                   or (w.cutoff_at = t.cutoff_at
                       and t.cutoff_at <= {{ new_knowledge_since(collections=collections) }}))
              {%- else %}
              and w.cutoff_at {{ '>=' if moved == 'extend' else '=' }} t.cutoff_at
              and t.cutoff_at <= {{ new_knowledge_since(collections=collections) }}
              {%- endif %}
        )
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- Only the marker rows (marker_column NULL) are looked up: every entity recomputed in a moved
    window has one, and they are few (anti-joining every row at the new cutoff cost the hourly
    chart, when it was carried this way, 4.9 s at M instead of ~0.6 s).
    A table whose run writes no row keeps its built_through_batch_seq: its next run takes the
    same batches in again (the same result, more work). -#}
{% macro windows_carry_moved(entity_columns, marker_column) -%}
    {%- set not_recomputed -%}
        not exists (
              select 1
              from {{ this }} as n
              where n.usage_period = w.usage_period
                and n.known_period = w.known_period
                and n.cutoff_at = w.cutoff_at
                and n.{{ marker_column }} is null
                {%- for c in entity_columns %}
                and n.{{ c }} is not distinct from t.{{ c }}
                {%- endfor %}
          )
    {%- endset -%}
    {{ windows_move_to_new_cutoff(not_recomputed) }}
{%- endmacro %}

{#- The UPDATE shared by windows_carry_moved and windows_extend_moved: the stored rows `t` of
    moved windows `w` that meet `row_condition` get the window's new cutoff_at. -#}
{% macro windows_move_to_new_cutoff(row_condition) -%}
    {%- if incremental_run() -%}
        update {{ this }} as t
        set cutoff_at = w.cutoff_at
        from {{ ref('int_usage_knowledge_windows') }} as w
        where w.usage_period = t.usage_period
          and w.known_period = t.known_period
          and w.cutoff_at > t.cutoff_at
          and {{ row_condition }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- SQL: the (usage_period, known_period) windows that any of `relations` wrote rows of this
    run (built_this_run). `relations`: pairs (relation, own_window_only); own_window_only: a
    table without known_period whose rows are their usage period's own window (the charts). A
    table that writes a header row per window written (the counter tables) also names the
    windows left without rows. -#}
{% macro windows_written_this_run(relations) -%}
    {%- for relation, own_window_only in relations %}
    select distinct usage_period, {{ 'usage_period as known_period' if own_window_only else 'known_period' }}
    from {{ relation }}
    where {{ built_this_run(relation) }}
    {{ 'union' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{#- post_hook of the counter tables (windows_delete_stale(moved='extend')): moves the stored
    counter rows of extended windows to the new cutoff, an UPDATE of cutoff_at (their
    built_through_batch_seq stays: tests of the rows written this run skip them, and they
    cannot collide with the new ones, known after their cutoff). Their old header rows are left
    for windows_delete_moved (the run wrote a new one). -#}
{% macro windows_extend_moved() -%}
    {{ windows_move_to_new_cutoff('not t.is_window_header') }}
{%- endmacro %}

{% macro windows_delete_moved(marker_column=none) -%}
    {%- if incremental_run() -%}
        delete from {{ this }} as t
        where not exists (
            select 1 from {{ ref('int_usage_knowledge_windows') }} as w
            where w.usage_period = t.usage_period
              and w.known_period = t.known_period
              and w.cutoff_at = t.cutoff_at
        )
        {%- if marker_column is not none %}
           or t.{{ marker_column }} is null
        {%- endif %}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- SQL CTEs `windows` (the windows this run writes, with previous_cutoff_at: NULL = compute in
    full, else carry from that stored cutoff) and `moves` (distinct (previous_cutoff_at,
    cutoff_at) of carried windows). In a full build: every window, previous_cutoff_at NULL.
    source: the SQL of the windows the model keeps (default: every knowledge window);
    key_columns: what identifies a window in {{ this }} (the charts keep one window per usage
    period, so ['usage_period']). -#}
{% macro windows_to_write(source=none, key_columns=['usage_period', 'known_period']) -%}
all_windows as (
    {%- if source is none %}
    select * from {{ ref('int_usage_knowledge_windows') }}
    {%- else %}
    {{ source }}
    {%- endif %}
),

{%- if incremental_run() %}

stored_windows as (
    -- after the delete-stale pre_hook (windows_delete_stale, usage_chart_delete_stale): windows
    -- valid at their stored cutoff
    select {{ key_columns | join(', ') }}, max(cutoff_at) as stored_cutoff_at
    from {{ this }}
    group by {{ key_columns | join(', ') }}
),

windows as (
    select w.*, s.stored_cutoff_at as previous_cutoff_at
    from all_windows as w
    left join stored_windows as s
        on {% for k in key_columns %}s.{{ k }} = w.{{ k }}{{ '\n        and ' if not loop.last }}{% endfor %}
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
    incremental run, one marker row per entity in the `changed` CTE (entity_columns) and moved
    window (of the entity's usage period only, with per_usage_period), with marker_column NULL:
    windows_carry_moved leaves those entities' stored rows alone, windows_delete_moved drops
    them and the markers. -#}
{% macro windows_final_select(changed, entity_columns, marker_column, incremental, per_usage_period=false) -%}
{%- if incremental %},

markers as (
    select
        {%- for c in entity_columns %}
        ch.{{ c }},
        {%- endfor %}
        w.usage_period,
        w.known_period,
        w.cutoff_at,
        NULL as {{ marker_column }}
    from {{ changed }} as ch
    inner join windows as w
        on w.previous_cutoff_at = ch.previous_cutoff_at
        and w.cutoff_at = ch.cutoff_at
        {%- if per_usage_period %}
        and w.usage_period = ch.usage_period
        {%- endif %}
)
{%- endif %}

select *, {{ batch_seq_now() }} as built_through_batch_seq
from computed
{%- if incremental %}
union all by name
select *, {{ batch_seq_now() }} as built_through_batch_seq
from markers
{%- endif %}
{%- endmacro %}

{#- Cumulative models (int_account_usage_known, int_farmer_usage_known; pre_hook
    windows_delete_stale(moved='extend' or 'drop'), so the stored windows are exactly the ones
    valid at their stored cutoff). SQL CTEs after windows_to_write():
    `window_bases`: per window to write, its base: the latest stored window of its usage period
    cut before it (base_known_period, base_cutoff_at; '-infinity' / NULL when none, e.g. in a
    full build). A stored window holds the counters known before its cutoff, so a window's
    counters = its base's + the records known in [base_cutoff_at, cutoff_at): closed windows
    are never re-aggregated; a moved window adds only what is known since the last close or,
    with 'extend', since its own stored cutoff (it is then its own base).
    `counter_buckets`: the first-cutoff buckets (usage_cutoff_ranges) those records fall in.
    `record_bounds`: per usage period, the knowledge range [known_from, known_before) of the
    records to aggregate, with the period's bounds (for cheap prefilters on the record tables). -#}
{% macro windows_bases(incremental) -%}
window_bases as (
    select
        w.usage_period,
        w.known_period,
        w.cutoff_at,
        {%- if incremental %}
        coalesce(max(s.stored_cutoff_at), TIMESTAMP '-infinity') as base_cutoff_at,
        arg_max(s.known_period, s.stored_cutoff_at) as base_known_period
        {%- else %}
        TIMESTAMP '-infinity' as base_cutoff_at,
        CAST(NULL AS VARCHAR) as base_known_period
        {%- endif %}
    from windows as w
    {%- if incremental %}
    left join stored_windows as s
        on s.usage_period = w.usage_period
        and s.stored_cutoff_at < w.cutoff_at
    {%- endif %}
    group by w.usage_period, w.known_period, w.cutoff_at
),

record_bounds as (
    select
        b.usage_period,
        min(b.base_cutoff_at) as known_from,
        max(b.cutoff_at) as known_before,
        min(w.period_start) as period_start
    from window_bases as b
    inner join windows as w
        on w.usage_period = b.usage_period
        and w.known_period = b.known_period
    group by b.usage_period
),

counter_buckets as (
    select c.usage_period, c.cutoff_at, c.previous_cutoff_at
    from ({{ usage_cutoff_ranges() }}) as c
    inner join record_bounds as b
        on b.usage_period = c.usage_period
        and c.cutoff_at > b.known_from
        and c.previous_cutoff_at < b.known_before
)
{%- endmacro %}

{#- SQL condition (prefilter, exact filtering joins counter_buckets): a record known at
    `known_at` whose usage starts at `usage_ts` may fall in a bucket to aggregate. Records of
    periods with a base need known_at >= its cutoff; periods without one (the draft period, or
    all in a full build) need every record, found by time. -#}
{% macro windows_record_prefilter(known_at, usage_ts) -%}
    ({{ known_at }} >= (select min(known_from) from record_bounds where known_from > TIMESTAMP '-infinity')
     or {{ usage_ts }} >= (select min(period_start) from record_bounds where known_from = TIMESTAMP '-infinity'))
{%- endmacro %}

{#- CTEs `first_windows` and `record_bounds` of the counter_records_known models (after
    windows_to_write()): per usage period and distinct cutoff, the earliest window with that
    cutoff ('latest' sorts after every 'YYYY-MM', so it is first only past the adjustment
    windows) and the previous distinct cutoff — a record known at t is first known in the
    window with previous_cutoff_at <= t < cutoff_at (equi-join on usage_period + range filter,
    no sort) — only the windows written this run; and per usage period where its buckets
    written this run start (prefilter of the records).
    An extended window (windows_delete_stale(moved='extend'): stored and valid at its old
    cutoff) already holds the records known before that cutoff, so its range starts there: the
    run writes only the records known since (windows_extend_moved moves the stored ones). -#}
{% macro records_first_windows() -%}
first_windows as (
    select f.usage_period, f.known_period, f.cutoff_at,
           greatest(f.previous_cutoff_at, coalesce(w.previous_cutoff_at, TIMESTAMP '-infinity')) as previous_cutoff_at
    from ({{ usage_cutoff_ranges() }}) as f
    inner join windows as w
        on w.usage_period = f.usage_period
        and w.known_period = f.known_period
),

record_bounds as (
    select f.usage_period, min(f.previous_cutoff_at) as known_from, min(w.period_start) as period_start
    from first_windows as f
    inner join windows as w
        on w.usage_period = f.usage_period
    group by f.usage_period
)
{%- endmacro %}

{#- The end of a counter_records_known model after its counter CTEs (`ctes`: one row per record,
    at its first window): the counters, plus one header row per window written
    (is_window_header; record columns NULL). windows_to_write() reads the stored windows and
    their cutoffs from {{ this }}, and many windows have no counter first known in them (e.g.
    one sharing the cutoff of an earlier window of its usage period; before, their state rows
    marked them stored). Without a header such a window would look unstored and be rewritten every run:
    still the same (no) rows, but its previous cutoff would pull record_bounds, the records'
    prefilter, back to old knowledge. With it a window is kept exactly while it is valid. -#}
{% macro records_counters_final_select(ctes) -%}
select *, false as is_window_header, {{ batch_seq_now() }} as built_through_batch_seq
from (
    {%- for c in ctes %}
    select * from {{ c }}
    {{- '\n    union all' if not loop.last }}
    {%- endfor %}
)
union all by name
select usage_period, known_period, cutoff_at, true as is_window_header,
       {{ batch_seq_now() }} as built_through_batch_seq
from windows
{%- endmacro %}
