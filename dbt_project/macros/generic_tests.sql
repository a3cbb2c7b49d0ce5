{#- Small generic tests (no hub packages). -#}

{#- The combination of `columns` is unique (NULLs compare equal). -#}
{% test unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as n_rows
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}

{#- Every row satisfies `expression`. -#}
{% test expression_is_true(model, expression) %}
select * from {{ model }} where not coalesce(({{ expression }}), false)
{% endtest %}

{#- Every non-NULL value starts with one of `prefixes` (reason codes such as missing_field:<f>). -#}
{% test accepted_prefixes(model, column_name, prefixes) %}
select {{ column_name }} from {{ model }}
where {{ column_name }} is not null
  and not ({% for p in prefixes %}starts_with({{ column_name }}, '{{ p }}'){{ ' or ' if not loop.last }}{% endfor %})
{% endtest %}
