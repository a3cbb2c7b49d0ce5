{#- The knowledge cutoff of this run as a TIMESTAMP (UTC) SQL expression.
    var('as_of') when set (any ISO-8601 text; naive = UTC, offsets honoured), otherwise the
    run's start time (dbt `run_started_at`, UTC) rendered as a literal, so every model of one
    run sees the same instant (now() would differ per statement). -#}
{% macro as_of() -%}
    {%- set v = var('as_of', none) -%}
    {%- if v is none or (v | string | trim) == '' or (v | string | lower) in ('none', 'null') -%}
        TIMESTAMP '{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}'
    {%- else -%}
        timezone('UTC', CAST('{{ v | string | trim }}' AS TIMESTAMPTZ))
    {%- endif -%}
{%- endmacro %}
