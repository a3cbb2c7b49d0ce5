{#- Helpers of the usage layer (intermediate/usage, marts/usage). -#}

{#- A HUGEINT count of base-unit-microseconds (e.g. byte-microseconds) as exact base-unit-seconds
    DECIMAL(38,9): integer division is exact here because the fraction keeps 6 decimals. -#}
{% macro usage_micros_to_seconds(micros) -%}
    CAST(
        CAST(({{ micros }}) // 1000000 AS DECIMAL(38,9))
        + CAST(({{ micros }}) % 1000000 AS DECIMAL(18,0)) * 0.000001
    AS DECIMAL(38,9))
{%- endmacro %}

{#- Microseconds between two TIMESTAMPs as HUGEINT (0 when end <= start). -#}
{% macro usage_micros_between(start_ts, end_ts) -%}
    CAST(greatest(date_diff('microsecond', {{ start_ts }}, {{ end_ts }}), 0) AS HUGEINT)
{%- endmacro %}

{#- A DECIMAL(38,9) rate (bytes, count) times a duration in microseconds, as exact
    rate-seconds DECIMAL(38,9). rate is split into integer and fraction so the product of the
    integer part stays a HUGEINT; the fractional part (< 1) keeps at most 9 + 6 decimals and is
    rounded to 9 (it only occurs for gauge values that are fractional in the base unit). -#}
{% macro usage_rate_times_micros(rate, micros) -%}
    CAST(
        {{ usage_micros_to_seconds('CAST(trunc(' ~ rate ~ ') AS HUGEINT) * (' ~ micros ~ ')') }}
        + CAST((({{ rate }}) - trunc({{ rate }})) * CAST(({{ micros }}) AS DECIMAL(18,0)) AS DECIMAL(38,9)) * 0.000001
    AS DECIMAL(38,9))
{%- endmacro %}

{#- The billing period ('YYYY-MM') of a TIMESTAMP. -#}
{% macro usage_period_of(ts) -%}
    strftime({{ ts }}, '%Y-%m')
{%- endmacro %}
