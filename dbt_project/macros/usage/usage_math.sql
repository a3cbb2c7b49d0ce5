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

{#- SQL: per (account_id, context, resource, usage_period) of `windows` (a relation or CTE with
    usage_period and cutoff_at), the exact base quantity (base-unit seconds) of the time
    integrals of the usage period's own window (contract storage, time-integral gauges) before
    cutoff_at: what int_account_usage_known sums up to the period's end, cut at the cutoff
    (usage to date of a draft period). -#}
{% macro time_integrals_before(windows) -%}
    select c.account_id, c.context, 'network.storage' as resource, c.usage_period,
           sum({{ usage_rate_times_micros('c.data_size_bytes',
                  usage_micros_between('c.overlap_start', 'least(c.overlap_end, w.cutoff_at)')) }}) as base_quantity
    from {{ ref('int_storage_contracts_clipped') }} as c
    inner join {{ windows }} as w
        on w.usage_period = c.usage_period
    where c.known_period = c.usage_period
    group by c.account_id, c.context, c.usage_period
    union all
    select g.account_id, g.context, g.resource, g.usage_period,
           sum({{ usage_rate_times_micros('g.value_base',
                  usage_micros_between('g.held_start', 'least(g.held_end, w.cutoff_at)')) }})
    from {{ ref('int_gauge_intervals_capped') }} as g
    inner join {{ windows }} as w
        on w.usage_period = g.usage_period
    where g.known_period = g.usage_period
      and g.holds_in_period
      and g.resource <> 'storage.files'
    group by g.account_id, g.context, g.resource, g.usage_period
{%- endmacro %}

{#- The billing period ('YYYY-MM') of a TIMESTAMP. -#}
{% macro usage_period_of(ts) -%}
    strftime({{ ts }}, '%Y-%m')
{%- endmacro %}

{#- Per usage period and distinct knowledge cutoff: the earliest window (known_period) with
    that cutoff ('latest' sorts after every 'YYYY-MM') and the previous distinct cutoff
    ('-infinity' for the first). A record known at t is first known at the cutoff with
    previous_cutoff_at <= t < cutoff_at: an equi-join on usage_period with a range filter, no
    sort of the records (unlike an ASOF join). -#}
{% macro usage_cutoff_ranges() -%}
    select
        usage_period,
        known_period,
        cutoff_at,
        coalesce(lag(cutoff_at) over (partition by usage_period order by cutoff_at),
                 TIMESTAMP '-infinity') as previous_cutoff_at
    from (
        select usage_period, cutoff_at, min(known_period) as known_period
        from {{ ref('int_usage_knowledge_windows') }}
        group by usage_period, cutoff_at
    )
{%- endmacro %}
