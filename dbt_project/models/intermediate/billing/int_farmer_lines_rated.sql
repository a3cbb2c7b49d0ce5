{{ config(materialized='incremental', incremental_strategy='append',
          pre_hook=["{{ clear_when_scoped() }}", "{{ windows_delete_stale(none) }}"],
          post_hook="{{ windows_delete_moved() }}") }}
{#- One rated payout component per (farmer_id, component, usage_period, known_period): the
    farmer's usage of usage_period as known at known_period's cutoff × the rate valid at the
    usage period's start, rounded to 6 decimals half away from zero (SPEC §4.7). known_period
    'latest' is rated too (late-not-paid).
    Windows sharing (usage_period, cutoff_at) (during the grace hours, the previous period's and
    the draft period's windows of a usage period, both cut at as_of) have the same usage: rated
    once and fanned out.
    Incremental per knowledge window (macros/usage/windows_incremental.sql): a window whose
    cutoff is unchanged and precedes all new knowledge is kept; new windows and windows whose
    cutoff moved are rated in full. Seeds (rates) changing needs --full-refresh. -#}
-- depends_on: {{ ref('int_raw_batches') }}
with {{ windows_to_write() }},

evaluations as (
    -- each distinct (usage_period, cutoff_at) to rate, read from one of its windows
    select usage_period, cutoff_at, min(known_period) as rated_known_period
    from windows
    group by usage_period, cutoff_at
),

farmer_usage as (
    select k.farmer_id, k.usage_period, e.cutoff_at, k.storage_gbh, k.download_gb, k.upload_gb
    from {{ ref('int_farmer_usage_known') }} as k
    inner join evaluations as e
        on e.usage_period = k.usage_period
        and e.rated_known_period = k.known_period
),

usage as (
    select farmer_id, usage_period, cutoff_at, 'storage' as component,
           cast(storage_gbh as decimal(38,12)) as quantity
    from farmer_usage
    union all
    select farmer_id, usage_period, cutoff_at, 'download',
           cast(download_gb as decimal(38,12))
    from farmer_usage
    union all
    select farmer_id, usage_period, cutoff_at, 'upload',
           cast(upload_gb as decimal(38,12))
    from farmer_usage
),

periods as (
    select period, period_start, period_end, {{ period_index('period_start') }} as period_index
    from {{ ref('int_periods') }}
),

rates as (
    select p.period, r.component, r.rate
    from periods as p
    join {{ ref('payout_rates') }} as r
        on r.valid_from <= cast(p.period_start as date)
    qualify r.valid_from = max(r.valid_from) over (partition by p.period, r.component)
)

select
    u.farmer_id,
    u.component,
    u.usage_period,
    w.known_period,
    u.cutoff_at,
    p.period_start,
    p.period_end,
    p.period_index as usage_period_index,
    kp.period_index as known_period_index,
    coalesce(u.quantity, cast(0 as decimal(38,12))) as quantity,
    cast(r.rate as decimal(18,10)) as rate,
    {{ round_money('coalesce(u.quantity, 0) * coalesce(r.rate, 0)', 6) }} as amount,
    r.rate is not null as has_rate,
    {{ batch_seq_now() }} as built_through_batch_seq
from usage as u
-- fan out to the windows of the (usage_period, cutoff_at)
inner join windows as w
    on w.usage_period = u.usage_period
    and w.cutoff_at = u.cutoff_at
join periods as p
    on p.period = u.usage_period
left join periods as kp
    on kp.period = w.known_period
left join rates as r
    on r.period = u.usage_period
   and r.component = u.component
