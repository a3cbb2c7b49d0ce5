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

    Incremental per line (macros/incremental.sql, macros/usage/windows_incremental.sql): a
    period's rows are computed as known at its cutoff_at (stored on every row).
    usage_chart_delete_stale (pre_hook) deletes the periods that left the chart, whose cutoff
    moved back, or whose unchanged cutoff lies after new knowledge; the model computes every
    chart period without rows in full. A period whose cutoff moved forward (the draft period,
    every day) is carried line by line: a line's buckets are a function of its quantity and of
    its input rows, so only the lines in `changed_lines` are recomputed, each with a marker row
    (base_quantity NULL); windows_carry_moved (post_hook) moves the other lines' rows to the new
    cutoff and windows_delete_moved drops the recomputed lines' old rows and the markers.
    A line is recomputed when (the carry is exact, argued per input):
    - it appeared or disappeared, or its quantity differs from the sum (peak: max) of its stored
      quantities;
    - one of its input rows was computed after the chart was built: contract rows (a carry
      moves cutoff_at only), settled transfers and usage events (rewritten with their stamp);
    - it has a counter known since the stored cutoff (also a zero-quantity one, which adds a
      bucket of 0);
    - gauges (the series is the line): it has a sample known since the stored cutoff or a sample
      winner rewritten since the chart was built (int_gauge_intervals_capped rewrites only the
      rows of such samples and their predecessors, and may drop a row without writing one);
    - counters and contracts (whose input rows can move to another line: a back-dated report
      or event, a new contract version): its exact base quantity differs from the sum of its
      stored base quantities. Removing a row of positive weight from a line lowers that sum
      unless a row is added, which is caught above; a zero-weight row yields no bucket. (Gauge
      values may be fractional and are rounded per bucket, so their sums need not match the
      line's exactly: gauges are caught by their samples instead.) -#}

{#- SQL: the usage periods a chart keeps: all, or the latest `last_periods` (hourly charts). -#}
{% macro usage_chart_periods(last_periods=none) -%}
    select period
    from {{ ref('int_periods') }}
    {%- if last_periods is not none %}
    qualify row_number() over (order by period_start desc) <= {{ last_periods | int }}
    {%- endif %}
{%- endmacro %}

{#- SQL: the chart's windows: each kept period's own window (known_period = usage_period). -#}
{% macro usage_chart_windows(last_periods=none) -%}
    select w.usage_period, w.cutoff_at, w.period_start, w.period_end
    from {{ ref('int_usage_knowledge_windows') }} as w
    where w.known_period = w.usage_period
      and w.usage_period in ({{ usage_chart_periods(last_periods) }})
{%- endmacro %}

{#- pre_hook of the charts: deletes the periods to recompute in full (left the chart, cutoff
    moved back, unchanged cutoff after new knowledge). Periods whose cutoff moved forward stay
    for the per-line carry. -#}
{% macro usage_chart_delete_stale(last_periods=none) -%}
    {%- if incremental_run() -%}
        delete from {{ this }}
        where usage_period in (
            select s.usage_period
            from (select usage_period, max(cutoff_at) as cutoff_at from {{ this }} group by usage_period) as s
            left join ({{ usage_chart_windows(last_periods) }}) as w
                on w.usage_period = s.usage_period
            where w.usage_period is null
               or w.cutoff_at < s.cutoff_at
               or (w.cutoff_at = s.cutoff_at and s.cutoff_at > {{ new_knowledge_since() }})
        )
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{% macro usage_chart(grain, bucket_col, bucket_type, last_periods=none) -%}
{%- set bucket_micros = 86400000000 if grain == 'day' else 3600000000 -%}
{%- set incremental = incremental_run() -%}
-- the periods to write: new ones in full (previous_cutoff_at NULL), moved ones per line (after
-- usage_chart_delete_stale, the stored periods are valid as stored or moved forward)
with {{ windows_to_write(usage_chart_windows(last_periods), ['usage_period']) }},

resources as (
    select * from {{ ref('resources') }}
),

window_lines as (
    select l.account_id, l.context, l.resource, l.usage_period, l.quantity, l.base_quantity,
           w.cutoff_at, w.previous_cutoff_at
    from {{ ref('int_account_usage_known') }} as l
    inner join windows as w
        on w.usage_period = l.usage_period
    where l.known_period = l.usage_period
),

{%- if incremental %}

stored_lines as (
    select t.account_id, t.context, t.resource, t.usage_period,
           sum(t.base_quantity) as base_quantity,
           case when r.aggregation = 'peak' then max(t.quantity) else sum(t.quantity) end as quantity
    from {{ this }} as t
    inner join resources as r
        on r.resource = t.resource
    where t.usage_period in (select usage_period from windows where previous_cutoff_at is not null)
    group by t.account_id, t.context, t.resource, t.usage_period, r.aggregation
),

touched_lines as (
    -- lines with an input row computed since the chart was built, or a counter known since
    -- the stored cutoff
    select c.account_id, c.context, 'network.storage' as resource, c.usage_period
    from {{ ref('int_storage_contracts_clipped') }} as c
    semi join windows as w
        on w.usage_period = c.usage_period and w.previous_cutoff_at is not null
    where c.known_period = c.usage_period
      and c.built_through_batch_seq > {{ built_through_batch_seq() }}
    union
    -- gauges: the samples a period's holds are computed from (observed from the cap before it)
    select s.account_id, s.context, s.resource, w.usage_period
    from {{ ref('int_usage_samples_deduplicated') }} as s
    inner join windows as w
        on w.previous_cutoff_at is not null
        and s.observed_at >= w.period_start - interval {{ var('gauge_max_gap_hours') | int }} hour
        and s.observed_at < w.period_end
    where s.built_through_batch_seq > {{ built_through_batch_seq() }}
       or (s.knowledge_at >= w.previous_cutoff_at and s.knowledge_at < w.cutoff_at)
    union
    -- counters: prefiltered (stamp, or known since the earliest stored cutoff) before the join
    select t.account_id, t.context, t.resource, t.usage_period
    from {{ ref('int_transfers_settled') }} as t
    inner join windows as w
        on w.usage_period = t.usage_period and w.previous_cutoff_at is not null
    where (t.built_through_batch_seq > {{ built_through_batch_seq() }}
           or t.known_at >= (select min(previous_cutoff_at) from windows))
      and (t.built_through_batch_seq > {{ built_through_batch_seq() }}
           or (t.known_at >= w.previous_cutoff_at and t.known_at < w.cutoff_at))
    union
    select e.account_id, e.context, e.resource, w.usage_period
    from {{ ref('int_usage_events_deduplicated') }} as e
    inner join windows as w
        on w.usage_period = {{ usage_period_of('e.occurred_at') }} and w.previous_cutoff_at is not null
    where (e.built_through_batch_seq > {{ built_through_batch_seq() }}
           or e.knowledge_at >= (select min(previous_cutoff_at) from windows))
      and (e.built_through_batch_seq > {{ built_through_batch_seq() }}
           or (e.knowledge_at >= w.previous_cutoff_at and e.knowledge_at < w.cutoff_at))
),

changed_lines as (
    -- per moved period: the lines to recompute (see the header); those no longer in the
    -- period get only a marker
    select
        coalesce(n.account_id, s.account_id) as account_id,
        coalesce(n.context, s.context) as context,
        coalesce(n.resource, s.resource) as resource,
        coalesce(n.usage_period, s.usage_period) as usage_period
    from (select * from window_lines where previous_cutoff_at is not null) as n
    full join stored_lines as s
        on s.account_id = n.account_id and s.context = n.context
        and s.resource = n.resource and s.usage_period = n.usage_period
    left join resources as r
        on r.resource = coalesce(n.resource, s.resource)
    where n.account_id is null
       or s.account_id is null
       or n.quantity <> s.quantity
       or ((r.kind = 'counter' or r.resource = 'network.storage') and n.base_quantity <> s.base_quantity)
    union
    select t.*
    from touched_lines as t
),
{%- endif %}

lines as (
    -- line_key: the integer key of everything below; units/sign: the line quantity as the
    -- allocated integer (largest_remainder's _lr_units / _lr_sign)
    select
        l.account_id, l.context, l.resource, l.usage_period, l.cutoff_at,
        row_number() over () as line_key,
        abs(CAST(trunc(l.quantity) AS HUGEINT) * 1000000000000
            + CAST(trunc((l.quantity - trunc(l.quantity)) * 1000000000000) AS HUGEINT)) as units,
        case when l.quantity < 0 then -1 else 1 end as sign
    from window_lines as l
    {%- if incremental %}
    where l.previous_cutoff_at is null
       or exists (
           select 1 from changed_lines as c
           where c.account_id = l.account_id and c.context = l.context
             and c.resource = l.resource and c.usage_period = l.usage_period
       )
    {%- endif %}
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
    from {{ ref('int_gauge_intervals_capped') }} as g
    semi join lines as l
        on l.account_id = g.account_id and l.context = g.context
        and l.resource = g.resource and l.usage_period = g.usage_period
    where g.known_period = g.usage_period and g.holds_in_period
      and g.resource = 'storage.files'
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
    {%- if incremental %}
    union all
    -- markers of the recomputed lines of moved periods (dropped by windows_delete_moved)
    select c.account_id, c.context, c.resource, c.usage_period,
           epoch_us(w.period_start) // {{ bucket_micros }} as bucket,
           CAST(NULL AS DECIMAL(38,9)) as base_quantity, CAST(0 AS DECIMAL(38,12)) as quantity
    from changed_lines as c
    inner join windows as w
        on w.usage_period = c.usage_period
    {%- endif %}
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
