{#- Period scoping (optional dbt var `period`, 'YYYY-MM').
    Unset (default): every period is computed. Set to Q: int_knowledge_cutoffs (and so every
    model downstream of it) keeps only the (usage_period, known_period) pairs that the invoice
    and payout statement of Q need: (Q, Q); (P, Q) and (P, Q-1) for
    Q - max_adjustment_periods <= P < Q; and (Q - max_adjustment_periods, 'latest') for the
    late-not-billed mart once close(Q) < as_of (int_knowledge_cutoffs), which then covers only
    the usage period whose adjustment window ends with Q. Invoice / statement marts keep only
    period Q (other periods would be incomplete).
    Rows of Q are identical to an unscoped build's (tests/test_dbt_scoping.py).
    scope_period() returns the validated 'YYYY-MM' text, or none when unset. -#}
{% macro scope_period() -%}
    {%- set v = var('period', none) -%}
    {%- if v is none or (v | string | trim) == '' or (v | string | lower) in ('none', 'null') -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set p = v | string | trim -%}
    {%- if not modules.re.match('^[0-9]{4}-(0[1-9]|1[0-2])$', p) -%}
        {{ exceptions.raise_compiler_error("var period " ~ (v | string) ~ " is not a calendar month written YYYY-MM (e.g. 2026-10)") }}
    {%- endif -%}
    {{ return(p) }}
{%- endmacro %}

{#- The start of the scoped period Q as a TIMESTAMP SQL literal (only when scope_period()). -#}
{% macro scope_period_start() -%}
    TIMESTAMP '{{ scope_period() }}-01 00:00:00'
{%- endmacro %}

{#- With the var `period` set: a SQL condition that `ts` lies in the usage periods the scoped
    build computes ([start(Q - max_adjustment_periods), end(Q))), to filter usage records early;
    without it: TRUE. Only for models whose consumers all join int_knowledge_cutoffs on the usage
    period (so rows of other periods are never used). -#}
{% macro scope_usage_time_filter(ts) -%}
    {%- if scope_period() -%}
        ({{ ts }} >= {{ scope_period_start() }} - to_months({{ var('max_adjustment_periods') | int }})
         and {{ ts }} < {{ scope_period_start() }} + INTERVAL 1 MONTH)
    {%- else -%}
        TRUE
    {%- endif -%}
{%- endmacro %}
