{#- Knowledge that arrived too late to be billed or paid (SPEC §4.2): for a period P whose
    adjustment window has passed (P + max_adjustment_periods exists), the difference between
    P rated as known now ('latest', cutoff = as_of) and P as known at cutoff(P + max), per
    account and resource (report 'invoice', cents) and per farmer and component (report
    'payout', 6 decimals). Non-zero only. Only for the periods with a 'latest' window
    (int_knowledge_cutoffs: close(P + max) < as_of): until then P + max's window is cut at as_of
    itself and nothing is late. -#}
{%- set max_adj = var('max_adjustment_periods', 3) | int -%}
with periods as (
    select period, {{ period_index('period_start') }} as period_index
    from {{ ref('int_periods') }}
),

late_periods as (
    select usage_period from {{ ref('int_knowledge_cutoffs') }} where known_period = 'latest'
),

account_rated as (
    select * from {{ ref('int_account_lines_rated') }}
),

account_billed as (
    -- P as known at cutoff(P + max): the window's known period is P + max itself
    select r.*, r.known_period as window_end_period
    from account_rated as r
    where r.known_period_index = r.usage_period_index + {{ max_adj }}
      and r.usage_period in (select usage_period from late_periods)
),

account_latest as (
    select r.*, w.period as window_end_period
    from account_rated as r
    join periods as w on w.period_index = r.usage_period_index + {{ max_adj }}
    where r.known_period = 'latest'
),

account_late as (
    select
        'invoice' as report,
        coalesce(l.account_id, b.account_id) as account_id,
        cast(null as varchar) as farmer_id,
        coalesce(l.resource, b.resource) as item,
        coalesce(l.usage_period, b.usage_period) as usage_period,
        coalesce(l.window_end_period, b.window_end_period) as window_end_period,
        coalesce(b.quantity, 0) as billed_quantity,
        coalesce(l.quantity, 0) as latest_quantity,
        cast(coalesce(b.amount, 0) as decimal(18,6)) as billed_amount,
        cast(coalesce(l.amount, 0) as decimal(18,6)) as latest_amount,
        l.cutoff_at as latest_cutoff_at
    from account_latest as l
    full outer join account_billed as b
        on b.account_id = l.account_id
       and b.resource = l.resource
       and b.usage_period = l.usage_period
),

farmer_rated as (
    select * from {{ ref('int_farmer_lines_rated') }}
),

farmer_paid as (
    -- P as known at cutoff(P + max): the window's known period is P + max itself
    select r.*, r.known_period as window_end_period
    from farmer_rated as r
    where r.known_period_index = r.usage_period_index + {{ max_adj }}
      and r.usage_period in (select usage_period from late_periods)
),

farmer_latest as (
    select r.*, w.period as window_end_period
    from farmer_rated as r
    join periods as w on w.period_index = r.usage_period_index + {{ max_adj }}
    where r.known_period = 'latest'
),

farmer_late as (
    select
        'payout' as report,
        cast(null as varchar) as account_id,
        coalesce(l.farmer_id, b.farmer_id) as farmer_id,
        coalesce(l.component, b.component) as item,
        coalesce(l.usage_period, b.usage_period) as usage_period,
        coalesce(l.window_end_period, b.window_end_period) as window_end_period,
        coalesce(b.quantity, 0) as billed_quantity,
        coalesce(l.quantity, 0) as latest_quantity,
        cast(coalesce(b.amount, 0) as decimal(18,6)) as billed_amount,
        cast(coalesce(l.amount, 0) as decimal(18,6)) as latest_amount,
        l.cutoff_at as latest_cutoff_at
    from farmer_latest as l
    full outer join farmer_paid as b
        on b.farmer_id = l.farmer_id
       and b.component = l.component
       and b.usage_period = l.usage_period
),

late as (
    select * from account_late
    union all
    select * from farmer_late
)

select
    cast({{ stable_id(['report', 'account_id', 'farmer_id', 'item', 'usage_period']) }} as varchar) as late_id,
    cast(report as varchar) as report,
    cast(account_id as varchar) as account_id,
    cast(farmer_id as varchar) as farmer_id,
    cast(item as varchar) as item,
    cast(usage_period as varchar) as usage_period,
    cast(window_end_period as varchar) as window_end_period,
    cast(billed_quantity as decimal(38,12)) as billed_quantity,
    cast(latest_quantity as decimal(38,12)) as latest_quantity,
    cast(latest_quantity - billed_quantity as decimal(38,12)) as quantity,
    cast(billed_amount as decimal(18,6)) as billed_amount,
    cast(latest_amount as decimal(18,6)) as latest_amount,
    cast(latest_amount - billed_amount as decimal(18,6)) as amount,
    cast(latest_cutoff_at as timestamp) as latest_cutoff_at,
    cast('USD' as varchar) as currency
from late
where latest_amount <> billed_amount
