{#- Incremental builds of the proof marts (fct_invoice_line_records, fct_payout_line_records;
    delete+insert on the invoice / statement period; see macros/incremental.sql).

    The proof of period Q depends only on what is known at cutoff(Q) (its lines, and the records
    as known at cutoff(Q) and cutoff(Q-1) <= cutoff(Q)), and every row stores that cutoff_at. So
    the proof of a final invoice / statement (period closed at as_of) stays as it is while its
    cutoff (the close) is the stored one and <= new_knowledge_since(). proofs_delete_stale
    (pre_hook) deletes every other stored period (drafts, cutoff moved or after new knowledge,
    period gone); the model then computes the periods that have no rows
    (proofs_periods_to_compute). A table built before these columns existed is emptied. -#}
{% macro proofs_delete_stale(period_column) -%}
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
{% macro proofs_periods_to_compute(column, period_column) -%}
    {%- if incremental_run() -%}
        {{ column }} not in (select distinct {{ period_column }} from {{ this }})
    {%- else -%}
        TRUE
    {%- endif -%}
{%- endmacro %}
