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

{#- The standard reason checks of a staging model, in the fixed precedence of DESIGN.md:
      missing_knowledge_time, missing_field:<f>, unparseable_number:<f>,
      unparseable_timestamp:<f>, invalid_value:<f>, negative_quantity, end_before_begin,
      unknown_resource, unknown_unit
    Arguments (field names are raw column names, `alias` is the raw relation's alias):
      required    fields that must be present (NULL or blank -> missing_field)
      optional    optional fields: NULL but listed in _misfit_fields -> invalid_value (a value the
                  raw layout could not hold)
    A required or optional field that is NULL in its column but holds a non-null value in the
    extractor's _raw_document (e.g. an object where a number belongs) is invalid_value:<f>,
    not missing_field:<f>.
      numbers     fields parsed with parse_number
      timestamps  fields parsed with parse_timestamp
      booleans    fields that must read 'true'/'false'
      integers    number fields that must be integral (byte counts)
      invalid     extra (condition, field) pairs -> invalid_value:<field>
      negative    number fields that must be >= 0 -> negative_quantity
      end_before_begin  list of (begin_field, end_field) timestamp pairs: end < begin, compared
                  at whole seconds (a date sent as text often has no milliseconds: a report
                  completed 0.4 s after it started must not be rejected because its completion
                  time was rendered as '06:46:38' and its start as '06:46:38.474')
      unknown_resource  condition; unknown_unit  condition
    Returns the CASE expression. -#}
{% macro reject_reason(alias='r', required=[], optional=[], numbers=[], timestamps=[], booleans=[],
                       integers=[], invalid=[], negative=[], end_before_begin=[],
                       unknown_resource=none, unknown_unit=none) -%}
    {%- set checks = [] -%}
    {%- do checks.append((alias ~ '._knowledge_at is null', 'missing_knowledge_time')) -%}
    {%- for f in required -%}
        {%- do checks.append(('(' ~ clean_text(alias ~ '."' ~ f ~ '"') ~ ' is null and not ' ~ in_raw_document(alias, f) ~ ')', 'missing_field:' ~ f)) -%}
    {%- endfor -%}
    {%- for f in numbers -%}
        {%- set c = alias ~ '."' ~ f ~ '"' -%}
        {%- do checks.append(('(' ~ clean_text(c) ~ ' is not null and ' ~ parse_number(c) ~ ' is null)', 'unparseable_number:' ~ f)) -%}
    {%- endfor -%}
    {%- for f in timestamps -%}
        {%- set c = alias ~ '."' ~ f ~ '"' -%}
        {%- do checks.append(('(' ~ clean_text(c) ~ ' is not null and ' ~ parse_timestamp(c) ~ ' is null)', 'unparseable_timestamp:' ~ f)) -%}
    {%- endfor -%}
    {%- for f in required + optional -%}
        {%- set c = alias ~ '."' ~ f ~ '"' -%}
        {%- set misfit = ' or coalesce(list_contains(' ~ alias ~ '._misfit_fields, \'' ~ f ~ '\'), false)' if f in optional else '' -%}
        {%- do checks.append(('(' ~ clean_text(c) ~ ' is null and (' ~ in_raw_document(alias, f) ~ misfit ~ '))', 'invalid_value:' ~ f)) -%}
    {%- endfor -%}
    {%- for f in booleans -%}
        {%- set c = alias ~ '."' ~ f ~ '"' -%}
        {%- do checks.append(('(' ~ clean_text(c) ~ ' is not null and ' ~ parse_boolean(c) ~ ' is null)', 'invalid_value:' ~ f)) -%}
    {%- endfor -%}
    {%- for f in integers -%}
        {%- do checks.append((is_not_integral(alias ~ '."' ~ f ~ '"'), 'invalid_value:' ~ f)) -%}
    {%- endfor -%}
    {%- for cond, f in invalid -%}
        {%- do checks.append(('(' ~ cond ~ ')', 'invalid_value:' ~ f)) -%}
    {%- endfor -%}
    {%- for f in negative -%}
        {%- do checks.append((parse_number(alias ~ '."' ~ f ~ '"') ~ ' < 0', 'negative_quantity')) -%}
    {%- endfor -%}
    {%- for b, e in end_before_begin -%}
        {%- do checks.append(("date_trunc('second', " ~ parse_timestamp(alias ~ '."' ~ e ~ '"') ~ ") < date_trunc('second', " ~ parse_timestamp(alias ~ '."' ~ b ~ '"') ~ ")", 'end_before_begin')) -%}
    {%- endfor -%}
    {%- if unknown_resource is not none -%}
        {%- do checks.append(('(' ~ unknown_resource ~ ')', 'unknown_resource')) -%}
    {%- endif -%}
    {%- if unknown_unit is not none -%}
        {%- do checks.append(('(' ~ unknown_unit ~ ')', 'unknown_unit')) -%}
    {%- endif -%}
    {{ first_reject_reason(checks) }}
{%- endmacro %}

{#- True when the extractor's canonical Extended JSON holds a non-null value for `field`. -#}
{% macro in_raw_document(alias, field) -%}
    (coalesce(try(json_type({{ alias }}._raw_document, '$."{{ field }}"')), 'NULL') <> 'NULL')
{%- endmacro %}
