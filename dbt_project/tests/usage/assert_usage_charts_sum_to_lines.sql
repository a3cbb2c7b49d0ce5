-- Shown in Dagster as an asset check of fct_usage_daily.
{{ config(meta={'dagster': {'ref': {'name': 'fct_usage_daily'}}}) }}
-- The days (and hours) of a line sum exactly to int_account_usage_known.quantity of
-- (account, context, resource, P, known_period = P); every such line has chart rows. For
-- storage.files (peak) the largest per-day / per-hour peak equals the line's peak instead.
-- Hourly rows exist for the latest var('usage_hourly_periods', 2) periods only.
with hourly_periods as (
    select period
    from {{ ref('int_periods') }}
    qualify row_number() over (order by period_start desc) <= {{ var('usage_hourly_periods', 2) | int }}
),

lines as (
    select account_id, context, resource, usage_period, quantity
    from {{ ref('int_account_usage_known') }}
    where known_period = usage_period
),

charts as (
    select 'daily' as chart, account_id, context, resource, usage_period,
           case when resource = 'storage.files' then max(quantity) else sum(quantity) end as total
    from {{ ref('fct_usage_daily') }}
    group by account_id, context, resource, usage_period
    union all
    select 'hourly', account_id, context, resource, usage_period,
           case when resource = 'storage.files' then max(quantity) else sum(quantity) end
    from {{ ref('fct_usage_hourly') }}
    group by account_id, context, resource, usage_period
),

grains as (
    select 'daily' as chart union all select 'hourly'
)

select g.chart, l.account_id, l.context, l.resource, l.usage_period, l.quantity, c.total
from lines as l
cross join grains as g
left join charts as c
    on c.chart = g.chart and c.account_id = l.account_id and c.context = l.context
    and c.resource = l.resource and c.usage_period = l.usage_period
where c.total is distinct from l.quantity
  and (g.chart = 'daily' or l.usage_period in (select period from hourly_periods))
union all
select c.chart, c.account_id, c.context, c.resource, c.usage_period, null, c.total
from charts as c
left join lines as l
    on c.account_id = l.account_id and c.context = l.context
    and c.resource = l.resource and c.usage_period = l.usage_period
where l.account_id is null
