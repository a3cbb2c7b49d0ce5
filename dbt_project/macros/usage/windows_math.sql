{#- Exact rate x duration products of the per-window usage models (int_storage_contracts_clipped,
    int_gauge_intervals_capped). Same values as usage_micros_to_seconds / usage_rate_times_micros,
    but the integer part is one DECIMAL product (micros x 10^-6 is exact at scale 6) instead of a
    HUGEINT // and % by 10^6, which dominated these models' run time. Overflow raises, as before. -#}

{#- An integer rate (HUGEINT/BIGINT/DECIMAL(38,0), e.g. bytes) times a BIGINT count of
    microseconds, as exact rate-seconds DECIMAL(38,9). -#}
{% macro windows_bytes_times_micros(integer_rate, micros) -%}
    CAST(CAST({{ integer_rate }} AS DECIMAL(38,0)) * (({{ micros }}) * 0.000001) AS DECIMAL(38,9))
{%- endmacro %}

{#- A DECIMAL(38,9) rate given as its integer part trunc(rate) and fraction rate - trunc(rate)
    (computed once per sample, not per window) times a BIGINT count of microseconds, as
    rate-seconds DECIMAL(38,9) equal to usage_rate_times_micros: the integer part exactly, the
    fraction's product (at most 9 + 6 decimals) rounded half away from zero to 9. Integral rates
    (the usual case) skip the rounding division. -#}
{% macro windows_rate_times_micros(rate_integer, rate_fraction, micros) -%}
    case
        when {{ rate_fraction }} = 0 then {{ windows_bytes_times_micros(rate_integer, micros) }}
        else CAST(
            {{ windows_bytes_times_micros(rate_integer, micros) }}
            + CAST(({{ rate_fraction }}) * CAST(({{ micros }}) AS DECIMAL(18,0)) AS DECIMAL(38,9)) * 0.000001
        AS DECIMAL(38,9))
    end
{%- endmacro %}
