{#- SQL: the valid audits, each _id once: the copy known first wins (knowledge_at, then batch_id).
    copies: a relation or CTE of valid audit rows (default: the valid rows of
    stg_storage_network__audits). Shared by int_storage_contracts_clipped (failed-audit cuts),
    int_farmer_usage_known and int_farmer_usage_counter_records_known (audit counts). -#}
{% macro audits_first_known(copies=none) -%}
    select *
    {%- if copies is none %}
    from {{ ref('stg_storage_network__audits') }}
    where reject_reason is null
    {%- else %}
    from {{ copies }}
    {%- endif %}
    qualify row_number() over (partition by record_id order by knowledge_at, batch_id) = 1
{%- endmacro %}
