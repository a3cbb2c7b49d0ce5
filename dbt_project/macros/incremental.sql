{#- Incremental builds (a daily run costs in proportion to what is new).

    Raw is append-only and written in batches (_batch_id: one per extraction run and
    collection). int_raw_batches is the change log: one row per (source, collection, batch)
    with an increasing batch_seq. Every incremental model stamps the rows it writes with
    built_through_batch_seq = batch_seq_now(): the newest batch it has taken in. The batches
    newer than max(built_through_batch_seq) of a table are what it has not seen yet.

    Knowledge time (SPEC 4.1) makes anything computed "as known at cutoff c" depend only on
    records with knowledge time < c: such rows stay valid while c <= new_knowledge_since()
    and c itself has not moved (as_of moves the draft cutoffs).

    Period-scoped builds (var `period`) hold partial content: scoped models stamp -1, so the
    next unscoped incremental run sees every batch as new and recomputes everything. -#}

{#- The raw tables (source, collection) the change log covers. -#}
{% macro raw_source_tables() -%}
    {{ return([
        ('storage_network', 'contracts'), ('storage_network', 'transfer_reports'),
        ('storage_network', 'audits'), ('storage_network', 'farmers'), ('storage_network', 'renters'),
        ('compute', 'usage_events'), ('compute', 'accounts'),
        ('storage', 'usage_samples'), ('storage', 'accounts'),
    ]) }}
{%- endmacro %}

{#- SQL: rows per (source_name, collection_name, batch_id) of every raw table, with the batch's
    first extraction time and knowledge-time range. -#}
{% macro raw_batch_counts() -%}
    {%- for src, coll in raw_source_tables() %}
    select
        '{{ src }}' as source_name,
        '{{ coll }}' as collection_name,
        coalesce(_batch_id, '') as batch_id,
        min(_extracted_at) as extracted_at,
        min(_knowledge_at) as min_knowledge_at,
        max(_knowledge_at) as max_knowledge_at,
        count(*) as row_count
    from {{ source(src, coll) }}
    group by coalesce(_batch_id, '')
    {{ 'union all' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{#- True when a model should run its incremental branch: the table exists and the build is
    not period-scoped (a scoped build rewrites its scoped content in full). -#}
{% macro incremental_run() -%}
    {{ return(is_incremental() and scope_period() is none) }}
{%- endmacro %}

{#- The value for built_through_batch_seq (SQL). scope_free=true for models whose content does
    not depend on the var `period` (dedup), which may stay incremental in scoped builds. -#}
{% macro batch_seq_now(scope_free=false) -%}
    {%- if scope_period() is not none and not scope_free -%}
        CAST(-1 AS BIGINT)
    {%- else -%}
        (select CAST(coalesce(max(batch_seq), 0) AS BIGINT) from {{ ref('int_raw_batches') }})
    {%- endif -%}
{%- endmacro %}

{#- SQL: max(built_through_batch_seq) of a relation (default: this model). -#}
{% macro built_through_batch_seq(relation=none) -%}
    (select coalesce(max(built_through_batch_seq), -1) from {{ relation if relation is not none else this }})
{%- endmacro %}

{#- SQL TIMESTAMP: the earliest knowledge time among raw batches the relation (default: this
    model) has not taken in ('infinity' when none); `collections` = [(source, collection)] limits
    it to the raw tables a model reads. Rows computed as known at a cutoff
    c <= this value cannot have changed. Models using it need `-- depends_on: {{ ref('int_raw_batches') }}`. -#}
{% macro new_knowledge_since(relation=none, collections=none) -%}
    (select coalesce(min(b.min_knowledge_at), TIMESTAMP 'infinity')
     from {{ ref('int_raw_batches') }} as b
     where b.batch_seq > {{ built_through_batch_seq(relation) }}
     {%- if collections is not none %}
       and ({% for src, coll in collections %}(b.source_name = '{{ src }}' and b.collection_name = '{{ coll }}'){{ ' or ' if not loop.last }}{% endfor %})
     {%- endif %})
{%- endmacro %}

{#- Jinja list: the batch ids of one raw table the relation (default: this model) has not
    taken in (run at execution time, so a filter on them reaches the raw scan). -#}
{% macro new_batch_ids(source_name, collection_name, relation=none) -%}
    {%- if not execute -%}{{ return([]) }}{%- endif -%}
    {%- set q -%}
        select batch_id from {{ ref('int_raw_batches') }}
        where source_name = '{{ source_name }}' and collection_name = '{{ collection_name }}'
          and batch_seq > {{ built_through_batch_seq(relation) }}
        order by batch_id
    {%- endset -%}
    {{ return(run_query(q).columns[0].values() | list) }}
{%- endmacro %}

{#- SQL condition: `column` is one of the given batch ids (false when there are none). -#}
{% macro in_batches(column, batch_ids) -%}
    {%- if batch_ids | length == 0 -%}
        false
    {%- else -%}
        {{ column }} in ({%- for b in batch_ids -%}'{{ b | replace("'", "''") }}'{{ ", " if not loop.last }}{%- endfor -%})
    {%- endif -%}
{%- endmacro %}

{#- SQL: the rows of the table `relation` whose key is among `keys_sql` (a SELECT of the
    key columns). The keys are matched on the key columns alone, then the whole rows are read by
    rowid: DuckDB reads only the row vectors holding them. A semi join that selects every column
    reads the whole table, which is a full read from disk when the page cache is cold (L daily
    increments, 49 M transfer reports: the dedup's stored winners 3.8 -> 0.6 s, settled
    transfers 13.7 -> 4.1 s). For the few rows an incremental run touches in a large table. -#}
{% macro rows_with_keys(relation, key_columns, keys_sql) -%}
    select *
    from {{ relation }}
    where rowid in (
        select _t.rowid
        from {{ relation }} as _t
        semi join ({{ keys_sql }}) as _k
            on {% for c in key_columns %}_t.{{ c }} = _k.{{ c }}{{ ' and ' if not loop.last }}{% endfor %}
    )
{%- endmacro %}

{#- pre_hook of models that hold scoped content: a scoped build over an existing table starts
    from empty (its SQL then takes the full, scoped branch). -#}
{% macro clear_when_scoped() -%}
    {%- if is_incremental() and scope_period() is not none -%}
        delete from {{ this }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- Data tests of incremental tables check what this run wrote (overrides dbt's
    get_where_subquery; https://docs.getdbt.com/reference/resource-configs/where).
    A test configured with `where: "__built_this_run__"` reads only the rows stamped with the
    table's newest built_through_batch_seq (or -1, scoped content). Sound for tests whose grain
    includes the key the model deletes and re-inserts on (window, period, transfer_id, ...):
    kept rows passed when they were written and cannot collide with rewritten keys. A full
    build (or a run without new batches) stamps every row alike, so everything is tested.
    `where: "__lines_built_this_run__"` (the charts, which rewrite a line only from its first
    changed bucket on): all rows, kept or written, of the (account_id, context, resource,
    usage_period) lines the run wrote a row of, so a written row colliding with a kept one of
    its line fails the test too. -#}
{#- SQL condition: a row of `relation` was written by this run (the table's newest
    built_through_batch_seq, or -1: scoped content). Only tests use it, and dbt compiles a node
    just before it runs, after the models it reads: the newest stamp is read then and written as
    a constant, which DuckDB pushes into the scan (zone maps skip the older row groups, the other
    columns are read only where a row passes). With the stamp as a scalar subquery the filter was
    a join after a full scan: the unique test of fct_invoice_line_records at L, 9.2 -> 0.3 s. -#}
{% macro built_this_run(relation) -%}
    {%- set stamp = newest_stamp(relation) -%}
    {%- if stamp is none -%}
    (built_through_batch_seq >= (select max(built_through_batch_seq) from {{ relation }}) or built_through_batch_seq < 0)
    {%- else -%}
    (built_through_batch_seq >= {{ stamp }} or built_through_batch_seq < 0)
    {%- endif -%}
{%- endmacro %}

{#- The newest built_through_batch_seq of `relation` (an integer), or none: at parse time, when the
    relation does not exist yet (dbt compile on an empty warehouse) or is empty. -#}
{% macro newest_stamp(relation) -%}
    {%- if not execute or adapter.get_relation(relation.database, relation.schema, relation.identifier) is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set result = run_query('select max(built_through_batch_seq) from ' ~ relation) -%}
    {%- set stamp = result.columns[0].values()[0] -%}
    {{ return(none if stamp is none else stamp | int) }}
{%- endmacro %}

{#- true when every row of `relation` carries the same built_through_batch_seq (a full build,
    or a run that wrote nothing): then "written this run" is every row and a test needs no
    filter. false when the relation does not exist yet (dbt compile on an empty warehouse). -#}
{% macro all_rows_stamped_alike(relation) -%}
    {%- if not execute or adapter.get_relation(relation.database, relation.schema, relation.identifier) is none -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set result = run_query('select coalesce(min(built_through_batch_seq) = max(built_through_batch_seq), true) from ' ~ relation) -%}
    {{ return(result.columns[0].values()[0]) }}
{%- endmacro %}

{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- set source = relation -%}
        {%- if '__lines_built_this_run__' in where -%}
            {%- set where = where | replace('__lines_built_this_run__', 'true') -%}
            {%- if not all_rows_stamped_alike(relation) -%}
                {#- a semi join on the distinct lines: an IN over every written row's key built
                    a hash table of all of them (out of memory on a full build at L) -#}
                {%- set source -%}
                    (select t.* from {{ relation }} as t
                     semi join (
                         select distinct account_id, context, resource, usage_period
                         from {{ relation }}
                         where {{ built_this_run(relation) }}
                     ) as l
                         using (account_id, context, resource, usage_period))
                {%- endset -%}
            {%- endif -%}
        {%- endif -%}
        {%- if '__built_this_run__' in where -%}
            {%- set where = where | replace('__built_this_run__', built_this_run(relation)) -%}
        {%- endif -%}
        {%- do return('(select * from ' ~ source ~ ' where ' ~ where ~ ') dbt_subquery') -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}

{#- Where dbt-duckdb stages an incremental run's rows before its strategy inserts them (overrides
    the adapter's macro of the same name; called by its incremental materialization).
    The adapter's stage is a TEMPORARY table, which the strategy then copies into the target:
    every increment is written twice, and DuckDB keeps temporary tables in memory, uncompressed
    (a chart period recomputed whole at L, ~90 M hourly rows, ran out of memory at the limit).
    Models with the 'append' strategy stage in a view of their SQL instead, so the strategy's
    INSERT computes the rows straight into the target, once. Not delete+insert: it reads its
    stage twice (the keys to delete, then the rows), and a model reading {{ this }} would see
    its own deletes the second time. A model reading {{ this }} is safe with append: the
    INSERT's scans of its target read it as it was (INSERT INTO t SELECT ... FROM t, t joined to
    aggregates of t: no appended row is read back). The view is created inside the run's
    transaction and dbt-duckdb drops it after the commit (as it drops a non-temporary stage on
    MotherDuck, where temporary tables do not exist). -#}
{% macro duckdb__dispatch_temporary_relation(target_relation, batch_id='') %}
    {%- if config.get('incremental_strategy') == 'append' and model.language == 'sql' -%}
        {%- set relation = target_relation.incorporate(
                path={"identifier": target_relation.identifier ~ '__dbt_stage_view'}, type='view') -%}
        {#- a stage left by a run that died before dbt-duckdb could drop it -#}
        {%- do run_query('drop view if exists ' ~ relation) -%}
        {%- do return({'relation': relation, 'temporary': false}) -%}
    {%- endif -%}
    {%- do return({'relation': make_temp_relation(target_relation), 'temporary': true}) -%}
{% endmacro %}

{#- The adapter's create_table_as (overridden here and called for everything else), which the
    incremental materialization calls to fill its stage: a view for the append strategy's
    stage (above). -#}
{% macro duckdb__create_table_as(temporary, relation, compiled_code, language='sql', partitioned_by=none, sorted_by=none) -%}
    {%- if relation.type == 'view' and relation.identifier.endswith('__dbt_stage_view') and language == 'sql' -%}
        {%- if config.get('contract').enforced -%}
            {{ get_assert_columns_equivalent(compiled_code) }}
        {%- endif %}
        create view {{ relation }} as (
            {{ compiled_code }}
        )
    {%- else -%}
        {{ return(dbt.duckdb__create_table_as(temporary, relation, compiled_code, language, partitioned_by, sorted_by)) }}
    {%- endif -%}
{%- endmacro %}
