{#- Casting raw VARCHAR text ($toString renderings) into typed values. Every cast is a try_cast:
    NULL means "absent or unparseable"; `reject_reason` tells the two apart. -#}

{#- Raw text with surrounding blanks removed; '' counts as absent. -#}
{% macro clean_text(col) -%}
    nullif(trim({{ col }}), '')
{%- endmacro %}

{#- Exact decimal from text: int32/int64/double/Decimal128/numeric strings ('123.4500', '1e+20',
    '77'). Never FLOAT. -#}
{% macro parse_number(col, type='DECIMAL(38,9)') -%}
    try_cast(nullif(trim({{ col }}), '') AS {{ type }})
{%- endmacro %}

{#- UTC TIMESTAMP from ISO text: '...Z' and '+02:00' offsets are honoured, naive text is UTC
    (the profile pins the session TimeZone to UTC). -#}
{% macro parse_timestamp(col) -%}
    timezone('UTC', try_cast(nullif(trim({{ col }}), '') AS TIMESTAMPTZ))
{%- endmacro %}

{#- 'true'/'false' (any case) -> BOOLEAN; anything else NULL. -#}
{% macro parse_boolean(col) -%}
    case lower(trim({{ col }})) when 'true' then true when 'false' then false end
{%- endmacro %}

{#- The `raw_document` column: the extractor's canonical Extended JSON when it kept one, else a
    JSON object of the raw text fields. -#}
{% macro raw_document(alias, fields) -%}
    coalesce({{ alias }}._raw_document, CAST(json_object(
        {%- for f in fields %}'{{ f }}', {{ alias }}."{{ f }}"{{ ", " if not loop.last }}{% endfor -%}
    ) AS VARCHAR))
{%- endmacro %}

{#- quantity (DECIMAL(38,9)) x base_per_unit (exact decimal) -> DECIMAL(38,9), exact for integral
    factors, rounded to 9 decimals otherwise; NULL (not an error) when the product overflows
    DECIMAL(38,9) - staging rejects such rows as invalid_value:<quantity field>. -#}
{% macro to_base_units(quantity, base_per_unit) -%}
    try(CAST(
        {{ quantity }} * CAST(trunc({{ base_per_unit }}) AS HUGEINT)
        + CAST({{ quantity }} * ({{ base_per_unit }} - trunc({{ base_per_unit }})) AS DECIMAL(38,9))
    AS DECIMAL(38,9)))
{%- endmacro %}
