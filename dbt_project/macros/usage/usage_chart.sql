{#- Body of fct_usage_daily (grain='day') and fct_usage_hourly (grain='hour'): usage per
    (account_id, context, resource, bucket) of each period as known at the period's own cutoff
    (known_period = usage_period).
    Each bucket's exact base quantity is computed analytically (interval overlap with the bucket
    boundaries; counters by their timestamp), then the LINE's rounded quantity
    (int_account_usage_known.quantity) is allocated over the buckets by largest remainder at 12
    decimals (ties: earlier bucket first), so the buckets of a line sum exactly to the line.
    storage.files (aggregation 'peak'): a bucket's quantity is the peak among the samples whose
    hold interval meets the bucket; peaks do not add up, so those rows are excluded from the sum
    invariant (their monthly line is the max, not the sum).

    Speed (rows are lines x buckets, millions): everything record- or bucket-level is keyed by an
    integer line_key and an integer bucket number (epoch microseconds // bucket length; UTC, so
    every bucket has the same length), and quantities are HUGEINT nano-units (base x 10^9), so
    the work is integer hashing and arithmetic instead of 4 text columns and DECIMAL
    arithmetic. The allocation is the largest_remainder macro's method and numbers (same
    weights: base_quantity x 10^9, same down-scaling of huge weights, same tie order), with the
    per-line sums as grouped aggregates joined back by line_key.

    Incremental per usage_period (macros/incremental.sql): a period's rows are computed as known
    at its cutoff_at (stored on every row), so they stay valid while that cutoff is unchanged and
    <= new_knowledge_since(). usage_chart_delete_stale (pre_hook) deletes the periods that can
    have changed (cutoff moved, new knowledge before it) or that left the chart; the model then
    computes every chart period that has no rows. -#}

{#- SQL: the usage periods a chart keeps: all, or the latest `last_periods` (hourly charts). -#}
{% macro usage_chart_periods(last_periods=none) -%}
    select period
    from {{ ref('int_periods') }}
    {%- if last_periods is not none %}
    qualify row_number() over (order by period_start desc) <= {{ last_periods | int }}
    {%- endif %}
{%- endmacro %}

{#- pre_hook of the charts: deletes the periods whose rows can have changed or that left the
    chart. -#}
{% macro usage_chart_delete_stale(last_periods=none) -%}
    {%- if incremental_run() -%}
        delete from {{ this }}
        where usage_period in (
            select s.usage_period
            from (select distinct usage_period, cutoff_at from {{ this }}) as s
            left join (
                select w.usage_period, w.cutoff_at
                from {{ ref('int_usage_knowledge_windows') }} as w
                where w.known_period = w.usage_period
                  and w.usage_period in ({{ usage_chart_periods(last_periods) }})
            ) as w
                on w.usage_period = s.usage_period and w.cutoff_at = s.cutoff_at
            where w.usage_period is null
               or s.cutoff_at > {{ new_knowledge_since() }}
        )
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{% macro usage_chart(grain, bucket_col, bucket_type, last_periods=none) -%}
{%- set bucket_micros = 86400000000 if grain == 'day' else 3600000000 -%}
with computed_periods as (
    {{ usage_chart_periods(last_periods) }}
    {%- if incremental_run() %}
    -- incremental: only the periods without rows (usage_chart_delete_stale removed those that
    -- can have changed)
    except
    select usage_period from {{ this }}
    {%- endif %}
),

resources as (
    select * from {{ ref('resources') }}
),

windows as (
    select usage_period, cutoff_at
    from {{ ref('int_usage_knowledge_windows') }}
    where known_period = usage_period
      and usage_period in (select period from computed_periods)
),

lines as (
    -- line_key: the integer key of everything below; units/sign: the line quantity as the
    -- allocated integer (largest_remainder's _lr_units / _lr_sign)
    select
        l.account_id, l.context, l.resource, l.usage_period, w.cutoff_at,
        row_number() over () as line_key,
        abs(CAST(trunc(l.quantity) AS HUGEINT) * 1000000000000
            + CAST(trunc((l.quantity - trunc(l.quantity)) * 1000000000000) AS HUGEINT)) as units,
        case when l.quantity < 0 then -1 else 1 end as sign
    from {{ ref('int_account_usage_known') }} as l
    inner join windows as w
        on w.usage_period = l.usage_period
    where l.known_period = l.usage_period
),

intervals as (
    -- time-integral resources of the lines: [start, end) in epoch microseconds with a constant
    -- rate in nano-units
    select l.line_key,
           epoch_us(c.overlap_start) as start_us, epoch_us(c.overlap_end) as end_us,
           CAST(c.data_size_bytes AS HUGEINT) * 1000000000 as rate_nanos
    from {{ ref('int_storage_contracts_clipped') }} as c
    inner join lines as l
        on l.account_id = c.account_id and l.context = c.context
        and l.resource = 'network.storage' and l.usage_period = c.usage_period
    where c.known_period = c.usage_period
    union all
    select l.line_key,
           epoch_us(g.held_start), epoch_us(g.held_end),
           CAST(trunc(g.value_base) AS HUGEINT) * 1000000000
               + CAST((g.value_base - trunc(g.value_base)) * 1000000000 AS HUGEINT)
    from {{ ref('int_gauge_intervals_capped') }} as g
    inner join lines as l
        on l.account_id = g.account_id and l.context = g.context
        and l.resource = g.resource and l.usage_period = g.usage_period
    where g.known_period = g.usage_period and g.holds_in_period
      and g.resource <> 'storage.files'
),

change_points as (
    -- sweep per line: the rate changes at each interval's start and end, so overlapping
    -- contracts of one line become a few constant-rate segments (never one row per contract per
    -- bucket)
    select line_key, change_us, sum(delta_nanos) as delta_nanos
    from (
        select line_key, start_us as change_us, rate_nanos as delta_nanos from intervals
        union all
        select line_key, end_us, -rate_nanos from intervals
    )
    group by line_key, change_us
),

segments as (
    select * from (
        select
            line_key,
            change_us as start_us,
            lead(change_us) over (partition by line_key order by change_us) as end_us,
            sum(delta_nanos) over (
                partition by line_key order by change_us rows between unbounded preceding and current row
            ) as rate_nanos
        from change_points
    )
    where end_us is not null and rate_nanos <> 0
),

segment_rates as materialized (
    -- rate x micros as nano-units, exactly usage_rate_times_micros: the integer part of the rate
    -- exact, the fraction rounded half away from zero to 9 decimals; a whole bucket's weight is
    -- the same for every whole bucket of a segment
    select
        line_key, start_us, end_us,
        sign(rate_nanos) as rate_sign,
        abs(rate_nanos) // 1000000000 as rate_whole,
        abs(rate_nanos) % 1000000000 as rate_fraction_nanos,
        sign(rate_nanos) * (
            (abs(rate_nanos) // 1000000000) * {{ bucket_micros * 1000 }}
            + ((abs(rate_nanos) % 1000000000) * {{ bucket_micros }} + 500000) // 1000000
        ) as whole_bucket_nanos
    from segments
),

whole_buckets as (
    -- buckets a segment covers entirely: one row each, no other segment of the line meets them
    -- (the segments of a line are disjoint)
    select line_key, bucket, whole_bucket_nanos as weight_nanos
    from (
        select line_key, whole_bucket_nanos,
               unnest(range((start_us + {{ bucket_micros - 1 }}) // {{ bucket_micros }},
                            end_us // {{ bucket_micros }})) as bucket
        from segment_rates
    )
),

partial_buckets as (
    -- the at most two partly covered buckets of a segment (its first and its last), summed per
    -- bucket over the segments meeting it
    select line_key, bucket,
           sum(rate_sign * (rate_whole * piece_micros * 1000
                            + (rate_fraction_nanos * piece_micros + 500000) // 1000000)) as weight_nanos
    from (
        select line_key, rate_sign, rate_whole, rate_fraction_nanos,
               start_us // {{ bucket_micros }} as bucket,
               least(end_us, (start_us // {{ bucket_micros }} + 1) * {{ bucket_micros }}) - start_us as piece_micros
        from segment_rates
        where start_us % {{ bucket_micros }} <> 0
        union all
        select line_key, rate_sign, rate_whole, rate_fraction_nanos,
               (end_us - 1) // {{ bucket_micros }} as bucket,
               end_us - ((end_us - 1) // {{ bucket_micros }}) * {{ bucket_micros }} as piece_micros
        from segment_rates
        where end_us % {{ bucket_micros }} <> 0
          and (start_us % {{ bucket_micros }} = 0
               or (end_us - 1) // {{ bucket_micros }} <> start_us // {{ bucket_micros }})
    )
    group by line_key, bucket
),

weights as (
    -- one row per (line_key, bucket)
    select * from whole_buckets
    union all
    select * from partial_buckets
    union all
    -- counters: pre-aggregated per (line_key, bucket)
    select l.line_key, epoch_us(t.completed_at) // {{ bucket_micros }} as bucket,
           sum(t.settled_bytes) * 1000000000
    from {{ ref('int_transfers_settled') }} as t
    inner join lines as l
        on l.account_id = t.account_id and l.context = t.context
        and l.resource = t.resource and l.usage_period = t.usage_period
    where t.known_at < l.cutoff_at
    group by 1, 2
    union all
    select line_key, bucket,
           CAST(trunc(quantity_base) AS HUGEINT) * 1000000000
               + CAST((quantity_base - trunc(quantity_base)) * 1000000000 AS HUGEINT)
    from (
        select l.line_key, epoch_us(e.occurred_at) // {{ bucket_micros }} as bucket,
               sum(e.quantity_base) as quantity_base
        from {{ ref('int_usage_events_deduplicated') }} as e
        inner join lines as l
            on l.account_id = e.account_id and l.context = e.context
            and l.resource = e.resource and l.usage_period = {{ usage_period_of('e.occurred_at') }}
        where e.knowledge_at < l.cutoff_at
        group by 1, 2
    )
),

line_weights as (
    -- largest_remainder's _lr_wsum and its down-scaling divisor of huge weights
    select
        l.line_key, l.units, l.sign, w.weight_sum,
        case
            when w.weight_sum = 0 then NULL
            else CAST('1' || repeat('0', CAST(greatest(0,
                    length(CAST(l.units AS VARCHAR)) + length(CAST(w.weight_sum AS VARCHAR)) - 37) AS BIGINT)) AS HUGEINT)
        end as weight_divisor
    from (
        select line_key, sum(weight_nanos) as weight_sum
        from weights
        group by line_key
    ) as w
    inner join lines as l
        on l.line_key = w.line_key
),

scaled_weights as (
    select
        w.line_key, w.bucket, w.weight_nanos, lw.units, lw.sign,
        case when lw.weight_sum = 0 then CAST(1 AS HUGEINT)
             when lw.weight_divisor = 1 then w.weight_nanos
             else w.weight_nanos // lw.weight_divisor end as weight_scaled
    from weights as w
    inner join line_weights as lw
        on lw.line_key = w.line_key
),

floors as (
    select
        w.line_key, w.bucket, w.weight_nanos, w.sign,
        units_floor,
        -- one HUGEINT division per row, not two (% is as slow as //)
        units_share - units_floor * scaled_sum as units_remainder
    from (
        select w.*, s.scaled_sum, w.units * w.weight_scaled as units_share,
               (w.units * w.weight_scaled) // s.scaled_sum as units_floor
        from scaled_weights as w
        inner join (
            select line_key, sum(weight_scaled) as scaled_sum
            from scaled_weights
            group by line_key
        ) as s
            on s.line_key = w.line_key
    ) as w
),

shortfalls as (
    -- units still to hand out per line (fewer than its rows with a remainder)
    select l.*, l.units - f.floor_sum as shortfall
    from (
        select line_key, sum(units_floor) as floor_sum
        from floors
        group by line_key
    ) as f
    inner join lines as l
        on l.line_key = f.line_key
),

allocated as (
    -- one more unit to the `shortfall` rows with the largest remainders (ties: earlier bucket)
    select
        line_key, bucket, weight_nanos,
        sign * (units_floor + case when remainder_rank <= shortfall then 1 else 0 end) as quantity_units
    from (
        select
            f.line_key, f.bucket, f.weight_nanos, f.sign, f.units_floor, s.shortfall,
            row_number() over (partition by f.line_key order by f.units_remainder desc, f.bucket asc) as remainder_rank
        from floors as f
        inner join shortfalls as s
            on s.line_key = f.line_key
    )
),

summed_buckets as (
    select
        l.account_id, l.context, l.resource, l.usage_period, a.bucket,
        CAST(CAST(a.weight_nanos AS DECIMAL(38,0)) * 0.000000001 AS DECIMAL(38,9)) as base_quantity,
        CAST(CAST(a.quantity_units AS DECIMAL(38,0)) * 0.000000000001 AS DECIMAL(38,12)) as quantity
    from allocated as a
    inner join lines as l
        on l.line_key = a.line_key
),

peak_holds as (
    -- storage.files: the holds of a series (disjoint) are not summed; a bucket's peak is the
    -- largest value among the holds that meet it
    select account_id, context, resource, usage_period,
           epoch_us(held_start) as start_us, epoch_us(held_end) as end_us,
           CAST(value_base AS DECIMAL(38,9)) as rate
    from {{ ref('int_gauge_intervals_capped') }}
    where known_period = usage_period and holds_in_period
      and resource = 'storage.files'
      and usage_period in (select period from computed_periods)
),

peak_buckets as (
    select
        p.account_id, p.context, p.resource, p.usage_period, p.bucket,
        p.base_quantity,
        {{ exact_divide('p.base_quantity', 'r.base_per_billable_unit', 12) }} as quantity
    from (
        select account_id, context, resource, usage_period, bucket,
               CAST(max(rate) AS DECIMAL(38,9)) as base_quantity
        from (
            select *, unnest(range(start_us // {{ bucket_micros }}, (end_us - 1) // {{ bucket_micros }} + 1)) as bucket
            from peak_holds
            where end_us > start_us
        )
        group by all
    ) as p
    inner join resources as r on r.resource = p.resource
),

all_buckets as (
    select * from summed_buckets
    union all
    select * from peak_buckets
)

select
    CAST(b.account_id AS VARCHAR) as account_id,
    CAST(b.context AS VARCHAR) as context,
    CAST(b.resource AS VARCHAR) as resource,
    {%- if grain == 'day' %}
    CAST(DATE '1970-01-01' + CAST(b.bucket AS INTEGER) AS {{ bucket_type }}) as {{ bucket_col }},
    {%- else %}
    CAST(make_timestamp(b.bucket * {{ bucket_micros }}) AS {{ bucket_type }}) as {{ bucket_col }},
    {%- endif %}
    CAST(b.usage_period AS VARCHAR) as usage_period,
    CAST(b.quantity AS DECIMAL(38,12)) as quantity,
    CAST(r.billable_unit AS VARCHAR) as billable_unit,
    CAST(b.base_quantity AS DECIMAL(38,9)) as base_quantity,
    CAST(r.base_unit AS VARCHAR) as base_unit,
    CAST(r.aggregation AS VARCHAR) as aggregation,
    CAST(w.cutoff_at AS TIMESTAMP) as cutoff_at,
    {{ batch_seq_now() }} as built_through_batch_seq
from all_buckets as b
inner join resources as r on r.resource = b.resource
inner join windows as w on w.usage_period = b.usage_period
{%- endmacro %}
