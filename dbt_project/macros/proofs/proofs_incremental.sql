{#- The proof marts (fct_invoice_line_records, fct_payout_line_records) are incremental per
    invoice / statement period like the other per-period marts: macros/periods_incremental.sql.
    These names are the proof marts' entry points to it. -#}
{% macro proofs_delete_stale(period_column) -%}
    {{ period_delete_stale(period_column) }}
{%- endmacro %}

{% macro proofs_periods_to_compute(column, period_column) -%}
    {{ periods_to_compute(column, period_column) }}
{%- endmacro %}
