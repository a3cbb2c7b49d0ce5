{#- SQL: the valid audits, each _id once: the copy known first wins (knowledge_at, then batch_id).
    copies: a relation or CTE of valid audit copies (default: int_audits_validated). Shared by
    int_storage_contracts_clipped (failed-audit cuts), int_farmer_usage_known and
    int_farmer_usage_counter_records_known (audit counts). -#}
{% macro audits_first_known(copies=none) -%}
    select *
    from {{ copies if copies is not none else ref('int_audits_validated') }}
    qualify row_number() over (partition by record_id order by knowledge_at, batch_id) = 1
{%- endmacro %}
