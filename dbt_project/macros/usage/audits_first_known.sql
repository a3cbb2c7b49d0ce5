{#- SQL: the valid audits (int_audits_validated), each _id once: the copy known first wins
    (knowledge_at, then batch_id). Shared by int_storage_contracts_clipped (failed-audit cuts),
    int_farmer_usage_known and int_farmer_usage_counter_records_known (audit counts). -#}
{% macro audits_first_known() -%}
    select *
    from {{ ref('int_audits_validated') }}
    qualify row_number() over (partition by record_id order by knowledge_at, batch_id) = 1
{%- endmacro %}
