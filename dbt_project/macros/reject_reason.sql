{#- Reject reasons of staging models.

    A staging model declares a `spec` (dict) of its raw fields:
      required    fields that must be present (NULL or blank -> missing_field:<f>)
      optional    optional fields (NULL but listed in _misfit_fields -> invalid_value:<f>)
      numbers     fields parsed with parse_number
      timestamps  fields parsed with parse_timestamp
      booleans    fields that must read 'true'/'false'
      integers    number fields that must be integral (byte counts) -> invalid_value:<f>
      negative    number fields that must be >= 0 -> negative_quantity
      end_before_begin  (begin_field, end_field) timestamp pairs: end < begin, compared at whole
                  seconds (a date sent as text often has no milliseconds: a report completed
                  0.4 s after it started must not be rejected because its completion time was
                  rendered as '06:46:38' and its start as '06:46:38.474')
    A required or optional field that is NULL in its column but holds a non-null value in the
    extractor's _raw_document (e.g. an object where a number belongs) is invalid_value:<f>, not
    missing_field:<f>.

    `parsed_columns(alias, spec)` computes, once per row, the columns the checks need:
      "__t_<f>" clean text, "__d_<f>" present in _raw_document, "__n_<f>" number,
      "__s_<f>" timestamp, "__b_<f>" boolean, "__m_<f>" listed in _misfit_fields;
    `reject_reason(alias, spec, ...)` is the CASE over them (on the relation that has them), in
    the fixed precedence of DESIGN.md:
      missing_knowledge_time, missing_field:<f>, unparseable_number:<f>,
      unparseable_timestamp:<f>, invalid_value:<f>, negative_quantity, end_before_begin,
      unknown_resource, unknown_unit
    Computing the parsed values once (not inside every WHEN) keeps the views cheap. -#}

{% macro _spec_fields(spec) -%}
    {%- set seen = [] -%}
    {%- for key in ['required', 'optional', 'numbers', 'timestamps', 'booleans'] -%}
        {%- for f in spec.get(key, []) -%}
            {%- if f not in seen %}{% do seen.append(f) %}{% endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(seen) }}
{%- endmacro %}

{% macro staged_col(kind, field, alias='p') -%}
    {{ alias }}."__{{ kind }}_{{ field }}"
{%- endmacro %}

{% macro parsed_columns(alias, spec) -%}
    {%- set cols = [] -%}
    {%- for f in _spec_fields(spec) -%}
        {%- do cols.append(clean_text(alias ~ '."' ~ f ~ '"') ~ ' as "__t_' ~ f ~ '"') -%}
    {%- endfor -%}
    {%- for f in spec.get('required', []) + spec.get('optional', []) -%}
        {%- do cols.append(in_raw_document(alias, f) ~ ' as "__d_' ~ f ~ '"') -%}
    {%- endfor -%}
    {%- for f in spec.get('optional', []) -%}
        {%- do cols.append('coalesce(list_contains(' ~ alias ~ '._misfit_fields, \'' ~ f ~ '\'), false) as "__m_' ~ f ~ '"') -%}
    {%- endfor -%}
    {%- for f in spec.get('numbers', []) -%}
        {%- do cols.append(parse_number(alias ~ '."' ~ f ~ '"') ~ ' as "__n_' ~ f ~ '"') -%}
    {%- endfor -%}
    {%- for f in spec.get('timestamps', []) -%}
        {%- do cols.append(parse_timestamp(alias ~ '."' ~ f ~ '"') ~ ' as "__s_' ~ f ~ '"') -%}
    {%- endfor -%}
    {%- for f in spec.get('booleans', []) -%}
        {%- do cols.append(parse_boolean(alias ~ '."' ~ f ~ '"') ~ ' as "__b_' ~ f ~ '"') -%}
    {%- endfor -%}
    {{ cols | join(',\n    ') }}
{%- endmacro %}

{#- The parsed number of `field` as HUGEINT when integral, else NULL. -#}
{% macro staged_integer(field, alias='p') -%}
    case when {{ staged_col('n', field, alias) }} = trunc({{ staged_col('n', field, alias) }})
         then CAST(trunc({{ staged_col('n', field, alias) }}) AS HUGEINT) end
{%- endmacro %}

{% macro reject_reason(alias, spec, invalid=[], unknown_resource=none, unknown_unit=none) -%}
    {%- set c = [] -%}
    {%- do c.append((alias ~ '._knowledge_at is null', 'missing_knowledge_time')) -%}
    {%- for f in spec.get('required', []) -%}
        {%- do c.append(('(' ~ staged_col('t', f, alias) ~ ' is null and not ' ~ staged_col('d', f, alias) ~ ')', 'missing_field:' ~ f)) -%}
    {%- endfor -%}
    {%- for f in spec.get('numbers', []) -%}
        {%- do c.append(('(' ~ staged_col('t', f, alias) ~ ' is not null and ' ~ staged_col('n', f, alias) ~ ' is null)', 'unparseable_number:' ~ f)) -%}
    {%- endfor -%}
    {%- for f in spec.get('timestamps', []) -%}
        {%- do c.append(('(' ~ staged_col('t', f, alias) ~ ' is not null and ' ~ staged_col('s', f, alias) ~ ' is null)', 'unparseable_timestamp:' ~ f)) -%}
    {%- endfor -%}
    {%- for f in spec.get('required', []) + spec.get('optional', []) -%}
        {%- set misfit = (' or ' ~ staged_col('m', f, alias)) if f in spec.get('optional', []) else '' -%}
        {%- do c.append(('(' ~ staged_col('t', f, alias) ~ ' is null and (' ~ staged_col('d', f, alias) ~ misfit ~ '))', 'invalid_value:' ~ f)) -%}
    {%- endfor -%}
    {%- for f in spec.get('booleans', []) -%}
        {%- do c.append(('(' ~ staged_col('t', f, alias) ~ ' is not null and ' ~ staged_col('b', f, alias) ~ ' is null)', 'invalid_value:' ~ f)) -%}
    {%- endfor -%}
    {%- for f in spec.get('integers', []) -%}
        {%- do c.append((staged_col('n', f, alias) ~ ' <> trunc(' ~ staged_col('n', f, alias) ~ ')', 'invalid_value:' ~ f)) -%}
    {%- endfor -%}
    {%- for cond, f in invalid -%}
        {%- do c.append(('(' ~ cond ~ ')', 'invalid_value:' ~ f)) -%}
    {%- endfor -%}
    {%- for f in spec.get('negative', []) -%}
        {%- do c.append((staged_col('n', f, alias) ~ ' < 0', 'negative_quantity')) -%}
    {%- endfor -%}
    {%- for b, e in spec.get('end_before_begin', []) -%}
        {%- do c.append(("date_trunc('second', " ~ staged_col('s', e, alias) ~ ") < date_trunc('second', " ~ staged_col('s', b, alias) ~ ")", 'end_before_begin')) -%}
    {%- endfor -%}
    {%- if unknown_resource is not none -%}
        {%- do c.append(('(' ~ unknown_resource ~ ')', 'unknown_resource')) -%}
    {%- endif -%}
    {%- if unknown_unit is not none -%}
        {%- do c.append(('(' ~ unknown_unit ~ ')', 'unknown_unit')) -%}
    {%- endif -%}
    {{ first_reject_reason(c) }}
{%- endmacro %}

{#- The first failing check, as a CASE expression. `checks` is a list of (condition, code) pairs;
    `code` is a plain string (quoted here). The order of the list is the precedence. -#}
{% macro first_reject_reason(checks) -%}
    {%- if checks | length == 0 -%}CAST(NULL AS VARCHAR){%- else -%}
    case
    {%- for cond, code in checks %}
        when {{ cond }} then '{{ code }}'
    {%- endfor %}
    end
    {%- endif -%}
{%- endmacro %}

{#- True when the extractor's canonical Extended JSON holds a non-null value for `field`
    (FALSE when there is no _raw_document). -#}
{% macro in_raw_document(alias, field) -%}
    ({{ alias }}._raw_document is not null and coalesce(try(json_type({{ alias }}._raw_document, '$."{{ field }}"')), 'NULL') <> 'NULL')
{%- endmacro %}
