{#- One rated payout component per (farmer_id, component, usage_period, known_period): the
    farmer's usage of usage_period as known at known_period's cutoff × the rate valid at the
    usage period's start, rounded to 6 decimals half away from zero (SPEC §4.7). known_period
    'latest' is rated too (late-not-paid). -#}
with usage as (
    select farmer_id, usage_period, known_period, cutoff_at, 'storage' as component,
           cast(storage_gbh as decimal(38,12)) as quantity
    from {{ ref('int_farmer_usage_known') }}
    union all
    select farmer_id, usage_period, known_period, cutoff_at, 'download',
           cast(download_gb as decimal(38,12))
    from {{ ref('int_farmer_usage_known') }}
    union all
    select farmer_id, usage_period, known_period, cutoff_at, 'upload',
           cast(upload_gb as decimal(38,12))
    from {{ ref('int_farmer_usage_known') }}
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
    u.known_period,
    u.cutoff_at,
    p.period_start,
    p.period_end,
    p.period_index as usage_period_index,
    kp.period_index as known_period_index,
    coalesce(u.quantity, cast(0 as decimal(38,12))) as quantity,
    cast(r.rate as decimal(18,10)) as rate,
    {{ round_money('coalesce(u.quantity, 0) * coalesce(r.rate, 0)', 6) }} as amount,
    r.rate is not null as has_rate
from usage as u
join periods as p
    on p.period = u.usage_period
left join periods as kp
    on kp.period = u.known_period
left join rates as r
    on r.period = u.usage_period
   and r.component = u.component
