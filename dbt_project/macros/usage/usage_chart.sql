{#- Body of fct_usage_daily (grain='day') and fct_usage_hourly (grain='hour'): usage per
    (account_id, context, resource, bucket) of each period as known at the period's own cutoff
    (known_period = usage_period).
    Each bucket's exact base quantity is computed analytically (interval overlap with the bucket
    boundaries; counters by their timestamp), then the LINE's rounded quantity
    (int_account_usage_known.quantity) is allocated over the buckets by largest remainder at 12
    decimals (ties: earlier bucket first), so the buckets of a line sum exactly to the line.
    storage.files (aggregation 'peak'): a bucket's quantity is the peak among the samples whose
    hold interval meets the bucket; peaks do not add up, so those rows are excluded from the sum
    invariant (their monthly line is the max, not the sum). -#}
{% macro usage_chart(grain, bucket_col, bucket_type, last_periods=none) -%}
with chart_periods as (
    -- all periods, or only the latest `last_periods` ones (hourly charts)
    select period
    from {{ ref('int_periods') }}
    {%- if last_periods is not none %}
    qualify row_number() over (order by period_start desc) <= {{ last_periods | int }}
    {%- endif %}
),

lines as (
    -- line_key: an integer partition key for the allocation windows (faster than 4 columns)
    select *, row_number() over () as line_key
    from {{ ref('int_account_usage_known') }}
    where known_period = usage_period
      and usage_period in (select period from chart_periods)
),

resources as (
    select * from {{ ref('resources') }}
),

windows as (
    select * from {{ ref('int_usage_knowledge_windows') }}
    where known_period = usage_period
      and usage_period in (select period from chart_periods)
),

intervals as (
    -- time-integral resources: [start, end) with a constant rate
    select account_id, context, 'network.storage' as resource, usage_period,
           overlap_start as start_at, overlap_end as end_at,
           CAST(data_size_bytes AS DECIMAL(38,9)) as rate
    from {{ ref('int_storage_contracts_clipped') }}
    where known_period = usage_period
      and usage_period in (select period from chart_periods)
    union all
    select account_id, context, resource, usage_period,
           held_start, held_end, CAST(value_base AS DECIMAL(38,9))
    from {{ ref('int_gauge_intervals_capped') }}
    where known_period = usage_period and holds_in_period
      and usage_period in (select period from chart_periods)
),

interval_changes as (
    -- sweep per line: the rate changes at each interval's start and end, so overlapping
    -- contracts of one line become a few constant-rate segments (never one row per contract per
    -- bucket). storage.files is not summed: its holds (disjoint within a series) stay as they are.
    select account_id, context, resource, usage_period, start_at as change_at, rate as delta
    from intervals where resource <> 'storage.files'
    union all
    select account_id, context, resource, usage_period, end_at, -rate
    from intervals where resource <> 'storage.files'
),

change_points as (
    select account_id, context, resource, usage_period, change_at, CAST(sum(delta) AS DECIMAL(38,9)) as delta
    from interval_changes
    group by account_id, context, resource, usage_period, change_at
),

segments as (
    select * from (
        select
            account_id, context, resource, usage_period,
            change_at as start_at,
            lead(change_at) over (partition by account_id, context, resource, usage_period order by change_at) as end_at,
            CAST(sum(delta) over (
                partition by account_id, context, resource, usage_period
                order by change_at rows between unbounded preceding and current row
            ) AS DECIMAL(38,9)) as rate
        from change_points
    )
    where end_at is not null and rate <> 0
    union all
    select account_id, context, resource, usage_period, start_at, end_at, rate
    from intervals where resource = 'storage.files'
),

interval_buckets as (
    select
        i.*,
        CAST(b.bucket AS TIMESTAMP) as bucket_start
    from segments as i,
        unnest(generate_series(
            date_trunc('{{ grain }}', i.start_at),
            i.end_at - interval 1 microsecond,
            interval 1 {{ grain }}
        )) as b(bucket)
),

interval_pieces as (
    select
        *,
        {{ usage_micros_between('greatest(start_at, bucket_start)',
                                'least(end_at, bucket_start + interval 1 ' ~ grain ~ ')') }} as piece_micros
    from interval_buckets
),

integral_buckets as (
    select
        account_id, context, resource, usage_period, bucket_start,
        CAST(sum({{ usage_rate_times_micros('rate', 'piece_micros') }}) AS DECIMAL(38,9)) as base_quantity
    from interval_pieces
    where resource <> 'storage.files'
    group by all
),

peak_buckets as (
    select
        account_id, context, resource, usage_period, bucket_start,
        CAST(max(rate) AS DECIMAL(38,9)) as base_quantity
    from interval_pieces
    where resource = 'storage.files' and piece_micros > 0
    group by all
),

counter_buckets as (
    select
        t.account_id, t.context, t.resource, w.usage_period,
        CAST(date_trunc('{{ grain }}', t.completed_at) AS TIMESTAMP) as bucket_start,
        CAST(sum(t.settled_bytes) AS DECIMAL(38,9)) as base_quantity
    from {{ ref('int_transfers_settled') }} as t
    inner join windows as w
        on w.usage_period = t.usage_period and t.known_at < w.cutoff_at
    group by all
    union all
    select
        e.account_id, e.context, e.resource, w.usage_period,
        CAST(date_trunc('{{ grain }}', e.occurred_at) AS TIMESTAMP) as bucket_start,
        CAST(sum(e.quantity_base) AS DECIMAL(38,9)) as base_quantity
    from {{ ref('int_usage_events_deduplicated') }} as e
    inner join windows as w
        on w.usage_period = {{ usage_period_of('e.occurred_at') }} and e.knowledge_at < w.cutoff_at
    group by all
),

summed_buckets as (
    select b.*, l.line_key, l.quantity as line_quantity
    from (
        select * from integral_buckets
        union all
        select * from counter_buckets
    ) as b
    inner join lines as l
        on l.account_id = b.account_id and l.context = b.context
        and l.resource = b.resource and l.usage_period = b.usage_period
),

allocated as (
    {{ largest_remainder('line_quantity', 'base_quantity',
                         'line_key', 'bucket_start asc', 12,
                         relation='summed_buckets', out_col='quantity', weight_scale=9) }}
),

all_buckets as (
    select account_id, context, resource, usage_period, bucket_start, base_quantity, quantity
    from allocated
    union all
    select p.account_id, p.context, p.resource, p.usage_period, p.bucket_start, p.base_quantity,
           {{ exact_divide('p.base_quantity', 'r.base_per_billable_unit', 12) }} as quantity
    from peak_buckets as p
    inner join resources as r on r.resource = p.resource
)

select
    CAST(b.account_id AS VARCHAR) as account_id,
    CAST(b.context AS VARCHAR) as context,
    CAST(b.resource AS VARCHAR) as resource,
    CAST(b.bucket_start AS {{ bucket_type }}) as {{ bucket_col }},
    CAST(b.usage_period AS VARCHAR) as usage_period,
    CAST(b.quantity AS DECIMAL(38,12)) as quantity,
    CAST(r.billable_unit AS VARCHAR) as billable_unit,
    CAST(b.base_quantity AS DECIMAL(38,9)) as base_quantity,
    CAST(r.base_unit AS VARCHAR) as base_unit,
    CAST(r.aggregation AS VARCHAR) as aggregation
from all_buckets as b
inner join resources as r on r.resource = b.resource
{%- endmacro %}
