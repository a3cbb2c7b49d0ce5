{#- numerator / denominator as DECIMAL(38, scale), computed with HUGEINT integer arithmetic and
    rounded half away from zero. Works for integer and decimal operands: both are first scaled
    by 10^input_scale (default 9, the scale of staged quantities) to exact integers. Overflow
    raises an error, never a silent wrong value. A zero denominator yields NULL. -#}
{% macro exact_divide(numerator, denominator, scale, input_scale=9) -%}
    {%- set s = 10 ** (scale | int) -%}
    {%- set n = scaled_hugeint(numerator, input_scale) -%}
    {%- set d = scaled_hugeint(denominator, input_scale) -%}
    {%- set an = 'abs(' ~ n ~ ')' -%}
    {%- set ad = 'abs(nullif(' ~ d ~ ', 0))' -%}
    CAST(
        CAST(sign({{ n }}) * sign({{ d }}) * (({{ an }} // {{ ad }}) * CAST({{ s }} AS HUGEINT)
             + (({{ an }} % {{ ad }}) * CAST({{ 2 * s }} AS HUGEINT) + {{ ad }}) // (2 * {{ ad }}))
        AS DECIMAL(38,0)) * {{ exact_scale_factor(scale) }}
    AS DECIMAL(38,{{ scale }}))
{%- endmacro %}

{#- SQL: x x 10^scale as an exact HUGEINT, for an integer or DECIMAL x with at most `scale`
    decimals (e.g. a DECIMAL(38,9) base quantity in nano-units with scale 9). The integer part
    is scaled as a HUGEINT, so no DECIMAL product overflows 38 digits. -#}
{% macro scaled_hugeint(x, scale) -%}
    {%- set k = 10 ** (scale | int) -%}
    (CAST(trunc({{ x }}) AS HUGEINT) * {{ k }} + CAST((({{ x }}) - trunc({{ x }})) * {{ k }} AS HUGEINT))
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
