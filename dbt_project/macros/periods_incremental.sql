{#- Incremental builds of per-period tables (strategy append after a pre_hook that deletes the
    periods to recompute; see macros/incremental.sql): the proof marts, the priced invoice lines,
    the invoices and payout statements, the invoice context breakdown. Not delete+insert on the
    period: the model writes only periods without stored rows, so its DELETE found nothing to
    delete (and still scanned the table: 2.4 s in the invoice proof's L daily run) after staging
    the increment in a temporary table that the INSERT then copied.

    Every row of period Q depends only on what is known at cutoff(Q) (its lines, and usage as
    known at cutoff(Q) and earlier cutoffs), and stores that cutoff_at. So the rows of a final
    invoice / statement (period closed at as_of) stay as they are while its cutoff (the close)
    is the stored one and <= new_knowledge_since(). period_delete_stale (pre_hook) deletes every
    other stored period (drafts, cutoff moved or after new knowledge, period gone); the model
    then computes the periods that have no rows (periods_to_compute). A table built before
    these columns existed is emptied.
    Seeds (prices, plans, rates) are not in the change log: changing them needs --full-refresh. -#}
{% macro period_delete_stale(period_column) -%}
    {%- if incremental_run() -%}
        {%- set columns = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list -%}
        {%- if 'cutoff_at' not in columns or 'built_through_batch_seq' not in columns -%}
        delete from {{ this }}
        {%- else -%}
        delete from {{ this }}
        where {{ period_column }} in (
            select s.period
            from (select distinct {{ period_column }} as period, cutoff_at from {{ this }}) as s
            left join {{ ref('int_periods') }} as p
                on p.period = s.period
                and p.cutoff_at = s.cutoff_at
            where p.period is null
               or not p.is_closed
               or s.cutoff_at > {{ new_knowledge_since() }}
        )
        {%- endif -%}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- SQL condition on a period column: the periods this run computes (all in a full build;
    incremental: those without stored rows, i.e. new or deleted as stale by the pre_hook). -#}
{% macro periods_to_compute(column, period_column) -%}
    {%- if incremental_run() -%}
        {{ column }} not in (select distinct {{ period_column }} from {{ this }})
    {%- else -%}
        TRUE
    {%- endif -%}
{%- endmacro %}

{#- CTEs `periods` (period, cutoff_at, period_index) and `computed_periods` (the periods this
    run writes: periods_to_compute) of a per-period model. -#}
{% macro periods_written(period_column) -%}
periods as (
    select period, cutoff_at, {{ period_index('period_start') }} as period_index
    from {{ ref('int_periods') }}
),

computed_periods as (
    select period, cutoff_at, period_index
    from periods
    where {{ periods_to_compute('period', period_column) }}
)
{%- endmacro %}

{#- SQL for the money tests of per-period tables: the periods of `relation` that this run kept
    (rows stamped by an earlier unscoped run, older than the table's newest stamp). Their rows
    were checked when written and what they depend on cannot have changed since, so a test
    checks every other period: those written this run (all of them in a full build), scoped
    ones (stamp -1) and periods without rows. -#}
{% macro periods_kept_this_run(relation, period_column) -%}
    select {{ period_column }}
    from {{ relation }}
    group by {{ period_column }}
    having max(built_through_batch_seq) >= 0
       and max(built_through_batch_seq) < (select max(built_through_batch_seq) from {{ relation }})
{%- endmacro %}
