{#- Small generic tests (no hub packages). -#}

{#- The combination of `columns` is unique (NULLs compare equal). Hash first: grouping on one
    64-bit hash of the columns is ~3.5x faster than grouping on the columns themselves (L, the
    188 M rows of fct_usage_hourly: 21-24 s vs 81-86 s; three text columns and a timestamp);
    only the combinations whose hash repeats (duplicates, or distinct combinations whose hashes
    collide) are then grouped exactly, so the failures are the same rows as a plain GROUP BY's. -#}
{% test unique_combination(model, columns) %}
{%- set combination = columns | join(', ') %}
with repeated_hashes as (
    select hash({{ combination }}) as combination_hash
    from {{ model }}
    group by 1
    having count(*) > 1
)

select {{ combination }}, count(*) as n_rows
from {{ model }}
where hash({{ combination }}) in (select combination_hash from repeated_hashes)
group by {{ combination }}
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
