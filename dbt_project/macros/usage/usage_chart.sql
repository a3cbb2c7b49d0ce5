{#- Body of fct_usage_daily (grain='day') and fct_usage_hourly (grain='hour'): usage per
    (account_id, context, resource, bucket) of each period as known at the period's own cutoff
    (known_period = usage_period), charted over [period_start, least(period_end, cutoff_at)): a
    closed period whole, the draft period up to as_of (usage to date, as fct_current_usage
    counts it; a known contract's storage after as_of is on the draft invoice, not on a chart).

    Quantities: each bucket's exact base quantity (weight, in nano-units) comes analytically from
    interval overlaps with the bucket (counters by their timestamp). A line's quantities are
    cumulative roundings: bucket b gets round(W(b)) - round(W(b-1)), where W(b) is the line's
    base up to and including b and round() converts base to billable units at 12 decimals half
    away from zero (exact_divide). They telescope: a line's buckets sum exactly to round(W), the
    line's quantity (int_account_usage_known.quantity) for a closed period, its usage to date for
    the draft. Each bucket is within 10^-12 of its exact share, and a bucket depends only on the
    line's weights up to it, so a change at bucket b leaves the buckets before b as they are.
    Gauge holds are weighted cumulatively from the hold's start (the fraction of a fractional
    value rounded as held_base_seconds rounds it once per hold), so they telescope to the line's
    base too. storage.files (aggregation 'peak'): a bucket's quantity is the peak among the
    samples whose hold meets the bucket; peaks do not add up (the line is the max).

    Speed (rows are lines x buckets, millions): everything record- or bucket-level is keyed by an
    integer line_key and an integer bucket number (epoch microseconds // bucket length; UTC, so
    every bucket has the same length), and weights are HUGEINT nano-units.

    Incremental per line and bucket (macros/incremental.sql, macros/usage/windows_incremental.sql).
    usage_chart_delete_stale (pre_hook) deletes the periods that left the chart, whose cutoff
    moved back, or whose unchanged cutoff lies after new knowledge; the model computes every
    chart period without rows in full. A period whose cutoff moved forward (the draft period,
    every day) keeps its stored rows and recomputes each line from its first changed bucket
    (from_bucket) on: the cumulative base before it is the sum of the line's stored weights, so
    the recomputed buckets continue the stored ones exactly. A row keeps the cutoff_at it was
    computed at (no row is rewritten to move it): the period's cutoff is its newest. A line
    whose stored rows reach from_bucket gets a marker row (base_quantity NULL, at from_bucket);
    usage_chart_delete_replaced (post_hook) drops its older rows from that bucket on, and the
    markers. A line's from_bucket is the earliest of (the change is exact, argued per input):
    - the bucket its stored chart ended in, for time integrals and peaks: the chart grows with
      as_of (a normal day appends the day's buckets);
    - its first bucket when it appeared or disappeared, or when the base of its current inputs
      over the stored chart (contracts up to the stored chart's end, counters known before the
      stored cutoff) differs from the sum of its stored weights: an input left the line (a new
      contract version, a back-dated winner) or a new one reaches back;
    - contracts rewritten since the chart was built: the bucket of their overlap_start;
    - gauges (the series is the line): a sample known since the stored cutoff or a sample
      winner rewritten since the chart was built: the bucket of its observed_at, from which on it
      changes the holds (its own and its predecessor's end);
    - counters known since the stored cutoff: their bucket (a new settled transfer or event was
      not on the chart); counters rewritten since the chart was built but known before the
      stored cutoff (a back-dated winner, which may have moved within the line): the first bucket.
    What this misses is an input whose change leaves the line's total over the stored chart
    exactly as it was while moving weight between its buckets without a rewritten row (a zero
    weight moving, or two changes cancelling to the nano-unit); the incremental tests compare a
    day's incremental build with a full rebuild. -#}

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


{#- post_hook of the charts: drops the stored rows the run replaced (a line's rows from its
    marker's bucket on, computed at an earlier cutoff), then the markers. -#}
{% macro usage_chart_delete_replaced(bucket_col) -%}
    {%- if incremental_run() -%}
        delete from {{ this }} as t
        using (
            select account_id, context, resource, usage_period, {{ bucket_col }} as from_bucket, cutoff_at
            from {{ this }}
            where base_quantity is null
        ) as m
        where t.account_id = m.account_id and t.context = m.context and t.resource = m.resource
          and t.usage_period = m.usage_period
          and t.{{ bucket_col }} >= m.from_bucket
          and (t.cutoff_at < m.cutoff_at or t.base_quantity is null)
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- SQL: nano-units of base as HUGEINT units of 10^-12 billable unit, rounded half away from zero
    (= exact_divide(base, base_per_billable_unit, 12); divisor: base_per_billable_unit, an
    integer for every resource). -#}
{% macro usage_chart_units(nanos, divisor) -%}
    (sign({{ nanos }}) * ((abs({{ nanos }}) * 2000 + {{ divisor }}) // (2 * {{ divisor }})))
{%- endmacro %}

{% macro usage_chart(grain, bucket_col, bucket_type, last_periods=none) -%}
{%- set B = 86400000000 if grain == 'day' else 3600000000 -%}
{%- set incremental = incremental_run() -%}
{%- set stored_bucket = 'epoch_us(CAST(t.' ~ bucket_col ~ ' AS TIMESTAMP)) // ' ~ B -%}
-- the periods to write: new ones in full (previous_cutoff_at NULL), moved ones per line (after
-- usage_chart_delete_stale, the stored periods are valid as stored or moved forward)
with {{ windows_to_write(usage_chart_windows(last_periods), ['usage_period']) }},

resources as (
    select * from {{ ref('resources') }}
),

chart_windows as (
    -- what a window charts: [period_start, end_us) from bucket first_bucket on; a moved window's
    -- stored rows cover [period_start, stored_end_at), its buckets from stored_end_bucket on are
    -- new or were partial
    select
        usage_period, cutoff_at, previous_cutoff_at, period_start, period_end,
        epoch_us(period_start) // {{ B }} as first_bucket,
        greatest(epoch_us(least(period_end, cutoff_at)), epoch_us(period_start)) as end_us,
        greatest(least(period_end, previous_cutoff_at), period_start) as stored_end_at,
        epoch_us(greatest(least(period_end, previous_cutoff_at), period_start)) // {{ B }} as stored_end_bucket
    from windows
),

window_lines as (
    select l.account_id, l.context, l.resource, l.usage_period,
           w.cutoff_at, w.previous_cutoff_at, w.first_bucket, w.end_us, w.stored_end_bucket
    from {{ ref('int_account_usage_known') }} as l
    inner join chart_windows as w
        on w.usage_period = l.usage_period
    where l.known_period = l.usage_period
),

{%- if incremental %}

moved_windows as (
    select * from chart_windows where previous_cutoff_at is not null
),

stored_lines as (
    -- per line of a moved window: the sum of its stored weights and its last stored bucket
    select t.account_id, t.context, t.resource, t.usage_period,
           sum(t.base_quantity) as stored_base,
           max({{ stored_bucket }}) as last_stored_bucket
    from {{ this }} as t
    where t.usage_period in (select usage_period from moved_windows)
    group by t.account_id, t.context, t.resource, t.usage_period
),

expected_lines as (
    -- per contract or counter line of a moved window: the base of its current inputs over what
    -- the stored chart covers (contracts up to its end, counters known before its cutoff)
    select c.account_id, c.context, 'network.storage' as resource, c.usage_period,
           sum(CAST(c.data_size_bytes AS HUGEINT)
               * {{ usage_micros_between('c.overlap_start', 'least(c.overlap_end, w.stored_end_at)') }}) * 1000 as expected_nanos
    from {{ ref('int_storage_contracts_clipped') }} as c
    inner join moved_windows as w
        on w.usage_period = c.usage_period
    where c.known_period = c.usage_period
      and c.overlap_start < w.stored_end_at
    group by c.account_id, c.context, c.usage_period
    union all
    select t.account_id, t.context, t.resource, t.usage_period,
           sum(CAST(t.settled_bytes AS HUGEINT)) * 1000000000
    from {{ ref('int_transfers_settled') }} as t
    inner join moved_windows as w
        on w.usage_period = t.usage_period
    where t.known_at < w.previous_cutoff_at
    group by t.account_id, t.context, t.resource, t.usage_period
    union all
    select account_id, context, resource, usage_period, {{ scaled_hugeint('quantity_base', 9) }}
    from (
        select e.account_id, e.context, e.resource, w.usage_period, sum(e.quantity_base) as quantity_base
        from {{ ref('int_usage_events_deduplicated') }} as e
        inner join moved_windows as w
            on w.usage_period = {{ usage_period_of('e.occurred_at') }}
        where e.knowledge_at < w.previous_cutoff_at
          -- before the period key (a strftime per row): at L 20 M events, most of other periods
          and e.occurred_at >= (select min(period_start) from moved_windows)
        group by e.account_id, e.context, e.resource, w.usage_period
    )
),

changed_buckets as (
    -- (line, bucket from which it changes), see the header
    -- the chart grows with the cutoff: time integrals and peaks from the stored end's bucket
    select l.account_id, l.context, l.resource, l.usage_period, l.stored_end_bucket as from_bucket
    from window_lines as l
    inner join resources as r
        on r.resource = l.resource
    where l.previous_cutoff_at is not null
      and r.aggregation in ('time_integral', 'peak')
      and l.end_us > l.stored_end_bucket * {{ B }}
    union all
    -- appeared, disappeared, or an input left or reaches back: the whole line
    select coalesce(n.account_id, s.account_id), coalesce(n.context, s.context),
           coalesce(n.resource, s.resource), w.usage_period, w.first_bucket
    from (select * from window_lines where previous_cutoff_at is not null) as n
    full join stored_lines as s
        on s.account_id = n.account_id and s.context = n.context
        and s.resource = n.resource and s.usage_period = n.usage_period
    inner join moved_windows as w
        on w.usage_period = coalesce(n.usage_period, s.usage_period)
    left join resources as r
        on r.resource = coalesce(n.resource, s.resource)
    left join expected_lines as e
        on e.account_id = s.account_id and e.context = s.context
        and e.resource = s.resource and e.usage_period = s.usage_period
    where n.account_id is null
       or s.account_id is null
       or ((r.kind = 'counter' or r.resource = 'network.storage')
           and coalesce(e.expected_nanos, 0) <> {{ scaled_hugeint('s.stored_base', 9) }})
    union all
    select c.account_id, c.context, 'network.storage', c.usage_period,
           epoch_us(c.overlap_start) // {{ B }}
    from {{ ref('int_storage_contracts_clipped') }} as c
    semi join moved_windows as w
        on w.usage_period = c.usage_period
    where c.known_period = c.usage_period
      and c.built_through_batch_seq > {{ built_through_batch_seq() }}
    union all
    select s.account_id, s.context, s.resource, w.usage_period, epoch_us(s.observed_at) // {{ B }}
    from {{ ref('int_usage_samples_deduplicated') }} as s
    inner join moved_windows as w
        on s.observed_at >= w.period_start - interval {{ var('gauge_max_gap_hours') | int }} hour
        and s.observed_at < w.period_end
    where s.built_through_batch_seq > {{ built_through_batch_seq() }}
       or (s.knowledge_at >= w.previous_cutoff_at and s.knowledge_at < w.cutoff_at)
    union all
    -- counters: prefiltered (stamp, or known since the earliest stored cutoff) before the join
    select t.account_id, t.context, t.resource, t.usage_period,
           case when t.known_at >= w.previous_cutoff_at then epoch_us(t.completed_at) // {{ B }}
                else w.first_bucket end
    from {{ ref('int_transfers_settled') }} as t
    inner join moved_windows as w
        on w.usage_period = t.usage_period
    where (t.built_through_batch_seq > {{ built_through_batch_seq() }}
           or t.known_at >= (select min(previous_cutoff_at) from moved_windows))
      and (t.built_through_batch_seq > {{ built_through_batch_seq() }}
           or (t.known_at >= w.previous_cutoff_at and t.known_at < w.cutoff_at))
    union all
    select e.account_id, e.context, e.resource, w.usage_period,
           case when e.knowledge_at >= w.previous_cutoff_at then epoch_us(e.occurred_at) // {{ B }}
                else w.first_bucket end
    from {{ ref('int_usage_events_deduplicated') }} as e
    inner join moved_windows as w
        on w.usage_period = {{ usage_period_of('e.occurred_at') }}
    where e.occurred_at >= (select min(period_start) from moved_windows)
      and (e.built_through_batch_seq > {{ built_through_batch_seq() }}
           or e.knowledge_at >= (select min(previous_cutoff_at) from moved_windows))
      and (e.built_through_batch_seq > {{ built_through_batch_seq() }}
           or (e.knowledge_at >= w.previous_cutoff_at and e.knowledge_at < w.cutoff_at))
),

line_starts as (
    select account_id, context, resource, usage_period, min(from_bucket) as from_bucket
    from changed_buckets
    group by account_id, context, resource, usage_period
),
{%- endif %}

lines as (
    -- the lines to (re)compute from from_bucket on; line_key: the integer key of everything below
    select
        l.account_id, l.context, l.resource, l.usage_period, l.first_bucket, l.end_us,
        row_number() over () as line_key,
        {%- if incremental %}
        greatest(coalesce(ls.from_bucket, l.first_bucket), l.first_bucket) as from_bucket,
        {%- else %}
        l.first_bucket as from_bucket,
        {%- endif %}
        CAST(r.base_per_billable_unit AS HUGEINT) as units_divisor
    from window_lines as l
    inner join resources as r
        on r.resource = l.resource
    {%- if incremental %}
    left join line_starts as ls
        on ls.account_id = l.account_id and ls.context = l.context
        and ls.resource = l.resource and ls.usage_period = l.usage_period
    where l.previous_cutoff_at is null
       or ls.from_bucket is not null
    {%- endif %}
),

{%- if incremental %}

replacing_lines as (
    -- recomputed lines with stored rows
    select l.line_key, l.account_id, l.context, l.resource, l.usage_period, l.first_bucket,
           l.from_bucket, s.stored_base, s.last_stored_bucket
    from lines as l
    inner join stored_lines as s
        on s.account_id = l.account_id and s.context = l.context
        and s.resource = l.resource and s.usage_period = l.usage_period
),

partial_lines as materialized (
    -- recomputed lines with stored rows before from_bucket
    select line_key, account_id, context, resource, usage_period, from_bucket
    from replacing_lines
    where from_bucket > first_bucket and from_bucket <= last_stored_bucket
),

partial_prefixes as (
    -- their stored weights before from_bucket. The stored rows are first cut to those lines by a
    -- semi join built on the (few) lines: a plain join built its hash table on the stored rows of
    -- the whole period (L: 32 M rows, 11.6 s, even with no such line)
    select r.line_key, sum(t.base_quantity) as prefix_base
    from (
        select t.*
        from {{ this }} as t
        semi join partial_lines as p
            on p.account_id = t.account_id and p.context = t.context
            and p.resource = t.resource and p.usage_period = t.usage_period
    ) as t
    inner join partial_lines as r
        on r.account_id = t.account_id and r.context = t.context
        and r.resource = t.resource and r.usage_period = t.usage_period
    where {{ stored_bucket }} < r.from_bucket
    group by r.line_key
),

line_prefixes as (
    -- the line's cumulative weight before from_bucket
    select r.line_key,
           {{ scaled_hugeint('case when r.from_bucket > r.last_stored_bucket then r.stored_base
                                      when r.from_bucket = r.first_bucket then 0
                                      else coalesce(p.prefix_base, 0) end', 9) }} as prefix_nanos
    from replacing_lines as r
    left join partial_prefixes as p
        on p.line_key = r.line_key
),
{%- endif %}

contract_intervals as (
    -- contracts over the buckets to compute (their rates are whole bytes, so an interval's weight
    -- is linear in its length and it may be cut anywhere)
    select * from (
        select l.line_key,
               greatest(epoch_us(c.overlap_start), l.from_bucket * {{ B }}) as start_us,
               least(epoch_us(c.overlap_end), l.end_us) as end_us,
               CAST(c.data_size_bytes AS HUGEINT) * 1000000000 as rate_nanos
        from {{ ref('int_storage_contracts_clipped') }} as c
        inner join lines as l
            on l.account_id = c.account_id and l.context = c.context
            and l.resource = 'network.storage' and l.usage_period = c.usage_period
        where c.known_period = c.usage_period
    )
    where end_us > start_us
),

contract_change_points as (
    -- sweep per line: the rate changes at each interval's start and end, so overlapping
    -- contracts of one line become a few constant-rate segments (never one row per contract per
    -- bucket)
    select line_key, change_us, sum(delta_nanos) as delta_nanos
    from (
        select line_key, start_us as change_us, rate_nanos as delta_nanos from contract_intervals
        union all
        select line_key, end_us, -rate_nanos from contract_intervals
    )
    group by line_key, change_us
),

segments as (
    -- [start_us, end_us) at a constant rate; origin_us: where its cumulative weight starts
    select line_key, start_us as origin_us, start_us, end_us, rate_nanos
    from (
        select
            line_key,
            change_us as start_us,
            lead(change_us) over (partition by line_key order by change_us) as end_us,
            sum(delta_nanos) over (
                partition by line_key order by change_us rows between unbounded preceding and current row
            ) as rate_nanos
        from contract_change_points
    )
    where end_us is not null and rate_nanos <> 0
    union all
    -- time-integral gauges: each hold (a series' holds are disjoint), weighted from its start
    select line_key, origin_us, greatest(origin_us, from_us), least(held_end_us, end_us), rate_nanos
    from (
        select l.line_key, l.from_bucket * {{ B }} as from_us, l.end_us,
               epoch_us(g.held_start) as origin_us, epoch_us(g.held_end) as held_end_us,
               {{ scaled_hugeint('g.value_base', 9) }} as rate_nanos
        from {{ ref('int_gauge_intervals_capped') }} as g
        inner join lines as l
            on l.account_id = g.account_id and l.context = g.context
            and l.resource = g.resource and l.usage_period = g.usage_period
        where g.known_period = g.usage_period and g.holds_in_period
          and g.resource <> 'storage.files'
          -- = rate_nanos <> 0 (value_base is DECIMAL(38,9)), without a HUGEINT per hold
          and g.value_base <> 0
    )
    where least(held_end_us, end_us) > greatest(origin_us, from_us)
),

segment_rates as materialized (
    -- weight of the first m microseconds of a segment, exactly usage_rate_times_micros (and
    -- held_base_seconds): sign x (whole x m x 1000 + round(fraction x m / 10^6)); a whole
    -- bucket's weight is the same for every whole bucket of a segment when the fraction is 0
    select
        line_key, origin_us, start_us, end_us,
        sign(rate_nanos) as rate_sign,
        abs(rate_nanos) // 1000000000 as rate_whole,
        abs(rate_nanos) % 1000000000 as rate_fraction_nanos,
        sign(rate_nanos) * (abs(rate_nanos) // 1000000000) * {{ B * 1000 }} as whole_bucket_nanos
    from segments
),

whole_buckets as (
    -- buckets a segment covers entirely: one row each, no other segment of the line meets them
    select line_key, bucket,
           case when rate_fraction_nanos = 0 then whole_bucket_nanos
                else whole_bucket_nanos
                     + rate_sign * ((rate_fraction_nanos * (bucket * {{ B }} + {{ B }} - origin_us) + 500000) // 1000000
                                    - (rate_fraction_nanos * (bucket * {{ B }} - origin_us) + 500000) // 1000000)
           end as weight_nanos
    from (
        select line_key, origin_us, rate_sign, rate_fraction_nanos, whole_bucket_nanos,
               unnest(range((start_us + {{ B - 1 }}) // {{ B }}, end_us // {{ B }})) as bucket
        from segment_rates
    )
),

partial_buckets as (
    -- the at most two partly covered buckets of a segment, summed per bucket over the segments
    -- meeting it
    select line_key, bucket,
           sum(rate_sign * (rate_whole * (piece_end_us - piece_start_us) * 1000
                            + (rate_fraction_nanos * (piece_end_us - origin_us) + 500000) // 1000000
                            - (rate_fraction_nanos * (piece_start_us - origin_us) + 500000) // 1000000)) as weight_nanos
    from (
        select line_key, origin_us, rate_sign, rate_whole, rate_fraction_nanos,
               start_us // {{ B }} as bucket,
               start_us as piece_start_us,
               least(end_us, (start_us // {{ B }} + 1) * {{ B }}) as piece_end_us
        from segment_rates
        where start_us % {{ B }} <> 0
        union all
        select line_key, origin_us, rate_sign, rate_whole, rate_fraction_nanos,
               (end_us - 1) // {{ B }} as bucket,
               ((end_us - 1) // {{ B }}) * {{ B }} as piece_start_us,
               end_us as piece_end_us
        from segment_rates
        where end_us % {{ B }} <> 0
          and (start_us % {{ B }} = 0
               or (end_us - 1) // {{ B }} <> start_us // {{ B }})
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
    select l.line_key, epoch_us(t.completed_at) // {{ B }} as bucket,
           sum(CAST(t.settled_bytes AS HUGEINT)) * 1000000000
    from {{ ref('int_transfers_settled') }} as t
    inner join lines as l
        on l.account_id = t.account_id and l.context = t.context
        and l.resource = t.resource and l.usage_period = t.usage_period
    inner join windows as w
        on w.usage_period = l.usage_period
    where t.known_at < w.cutoff_at
      and epoch_us(t.completed_at) // {{ B }} >= l.from_bucket
    group by 1, 2
    union all
    select line_key, bucket, {{ scaled_hugeint('quantity_base', 9) }}
    from (
        select l.line_key, epoch_us(e.occurred_at) // {{ B }} as bucket,
               sum(e.quantity_base) as quantity_base
        from {{ ref('int_usage_events_deduplicated') }} as e
        inner join lines as l
            on l.account_id = e.account_id and l.context = e.context
            and l.resource = e.resource and l.usage_period = {{ usage_period_of('e.occurred_at') }}
        inner join windows as w
            on w.usage_period = l.usage_period
        where e.knowledge_at < w.cutoff_at
          and e.occurred_at >= (select min(period_start) from windows)
          and epoch_us(e.occurred_at) // {{ B }} >= l.from_bucket
        group by 1, 2
    )
),

cumulated as (
    -- the line's weight through each bucket, continuing its stored prefix
    select
        w.line_key, w.bucket, w.weight_nanos, l.units_divisor,
        {%- if incremental %}
        coalesce(p.prefix_nanos, 0)
        {%- else %}
        CAST(0 AS HUGEINT)
        {%- endif %}
            + sum(w.weight_nanos) over (
                partition by w.line_key order by w.bucket rows between unbounded preceding and current row
            ) as cumulative_nanos
    from weights as w
    inner join lines as l
        on l.line_key = w.line_key
    {%- if incremental %}
    left join line_prefixes as p
        on p.line_key = w.line_key
    {%- endif %}
),

summed_buckets as (
    select
        l.account_id, l.context, l.resource, l.usage_period, c.bucket,
        CAST(CAST(c.weight_nanos AS DECIMAL(38,0)) * 0.000000001 AS DECIMAL(38,9)) as base_quantity,
        CAST(CAST({{ usage_chart_units('c.cumulative_nanos', 'c.units_divisor') }}
                  - {{ usage_chart_units('(c.cumulative_nanos - c.weight_nanos)', 'c.units_divisor') }}
             AS DECIMAL(38,0)) * 0.000000000001 AS DECIMAL(38,12)) as quantity
    from cumulated as c
    inner join lines as l
        on l.line_key = c.line_key
),

peak_holds as (
    -- storage.files: the holds of a series (disjoint) are not summed; a bucket's peak is the
    -- largest value among the holds that meet it
    select l.account_id, l.context, l.resource, l.usage_period,
           greatest(epoch_us(g.held_start), l.from_bucket * {{ B }}) as start_us,
           least(epoch_us(g.held_end), l.end_us) as end_us,
           CAST(g.value_base AS DECIMAL(38,9)) as rate
    from {{ ref('int_gauge_intervals_capped') }} as g
    inner join lines as l
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
            select *, unnest(range(start_us // {{ B }}, (end_us - 1) // {{ B }} + 1)) as bucket
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
    -- markers: recomputed lines with stored rows from from_bucket on, and lines gone (dropped
    -- with the rows they replace by usage_chart_delete_replaced)
    select account_id, context, resource, usage_period, from_bucket as bucket,
           CAST(NULL AS DECIMAL(38,9)) as base_quantity, CAST(0 AS DECIMAL(38,12)) as quantity
    from replacing_lines
    where last_stored_bucket >= from_bucket
    union all
    select s.account_id, s.context, s.resource, s.usage_period, w.first_bucket,
           CAST(NULL AS DECIMAL(38,9)), CAST(0 AS DECIMAL(38,12))
    from stored_lines as s
    inner join moved_windows as w
        on w.usage_period = s.usage_period
    where not exists (
        select 1 from window_lines as n
        where n.account_id = s.account_id and n.context = s.context
          and n.resource = s.resource and n.usage_period = s.usage_period
    )
    {%- endif %}
)

select
    CAST(b.account_id AS VARCHAR) as account_id,
    CAST(b.context AS VARCHAR) as context,
    CAST(b.resource AS VARCHAR) as resource,
    {%- if grain == 'day' %}
    CAST(DATE '1970-01-01' + CAST(b.bucket AS INTEGER) AS {{ bucket_type }}) as {{ bucket_col }},
    {%- else %}
    CAST(make_timestamp(b.bucket * {{ B }}) AS {{ bucket_type }}) as {{ bucket_col }},
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
