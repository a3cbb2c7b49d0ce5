{#- numerator / denominator as DECIMAL(38, scale), computed with HUGEINT integer arithmetic and
    rounded half away from zero. Works for integer and decimal operands: both are first scaled
    by 10^input_scale (default 9, the scale of staged quantities) to exact integers. Overflow
    raises an error, never a silent wrong value. A zero denominator yields NULL. -#}
{% macro exact_divide(numerator, denominator, scale, input_scale=9) -%}
    {%- set k = 10 ** (input_scale | int) -%}
    {%- set s = 10 ** (scale | int) -%}
    {%- set n -%}(CAST(trunc({{ numerator }}) AS HUGEINT) * {{ k }} + CAST((({{ numerator }}) - trunc({{ numerator }})) * {{ k }} AS HUGEINT)){%- endset -%}
    {%- set d -%}(CAST(trunc({{ denominator }}) AS HUGEINT) * {{ k }} + CAST((({{ denominator }}) - trunc({{ denominator }})) * {{ k }} AS HUGEINT)){%- endset -%}
    {%- set an = 'abs(' ~ n ~ ')' -%}
    {%- set ad = 'abs(nullif(' ~ d ~ ', 0))' -%}
    CAST(
        CAST(sign({{ n }}) * sign({{ d }}) * (({{ an }} // {{ ad }}) * CAST({{ s }} AS HUGEINT)
             + (({{ an }} % {{ ad }}) * CAST({{ 2 * s }} AS HUGEINT) + {{ ad }}) // (2 * {{ ad }}))
        AS DECIMAL(38,0)) * {{ exact_scale_factor(scale) }}
    AS DECIMAL(38,{{ scale }}))
{%- endmacro %}

{#- 10^-scale as an exact DECIMAL literal (1 for scale 0). -#}
{% macro exact_scale_factor(scale) -%}
    {%- if (scale | int) == 0 -%}CAST(1 AS DECIMAL(1,0)){%- else -%}0.{{ '0' * ((scale | int) - 1) }}1{%- endif -%}
{%- endmacro %}

{#- byte-seconds -> GB-hours (10^9 bytes x 3600 s), DECIMAL(38,12). -#}
{% macro gb_hours(byte_seconds) -%}
    {{ exact_divide(byte_seconds, 3600000000000, 12) }}
{%- endmacro %}

{#- bytes -> GB (10^9 bytes), DECIMAL(38,12). -#}
{% macro gb(bytes) -%}
    {{ exact_divide(bytes, 1000000000, 12) }}
{%- endmacro %}
