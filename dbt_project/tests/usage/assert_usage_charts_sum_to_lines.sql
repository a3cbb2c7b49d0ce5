-- Shown in Dagster as an asset check of fct_usage_daily.
{{ config(meta={'dagster': {'ref': {'name': 'fct_usage_daily'}}}) }}
-- The days (and hours) of a line sum exactly to int_account_usage_known.quantity of
-- (account, context, resource, P, known_period = P); every such line has chart rows. For
-- storage.files (peak) the largest per-day / per-hour peak equals the line's peak instead.
-- Hourly rows exist for the latest var('usage_hourly_periods', 2) periods only.
--
-- Checked: the usage periods whose own window (known_period = usage_period) a table behind the
-- lines or the charts wrote this run (rows stamped with the table's newest
-- built_through_batch_seq, or -1 after a scoped build; the counter table has a header row per
-- window written, so a window left without lines counts too). In a full build that is every
-- period. The others are as they were when last checked: their window was not rewritten
-- (int_account_usage_known and the counter table rewrite the same windows, whole) and no chart
-- row of theirs was written (a carried line's rows only move to the new cutoff_at).
with written_periods as (
    select usage_period
    from ({{ windows_written_this_run([(ref('int_account_usage_known'), false),
                                       (ref('int_account_usage_counter_records_known'), false),
                                       (ref('fct_usage_daily'), true),
                                       (ref('fct_usage_hourly'), true)]) }})
    where known_period = usage_period
),

hourly_periods as (
    select period
    from {{ ref('int_periods') }}
    qualify row_number() over (order by period_start desc) <= {{ var('usage_hourly_periods', 2) | int }}
),

lines as (
    select account_id, context, resource, usage_period, quantity
    from {{ ref('int_account_usage_known') }}
    where known_period = usage_period
      and usage_period in (select usage_period from written_periods)
),

charts as (
    select 'daily' as chart, account_id, context, resource, usage_period,
           case when resource = 'storage.files' then max(quantity) else sum(quantity) end as total
    from {{ ref('fct_usage_daily') }}
    where usage_period in (select usage_period from written_periods)
    group by account_id, context, resource, usage_period
    union all
    select 'hourly', account_id, context, resource, usage_period,
           case when resource = 'storage.files' then max(quantity) else sum(quantity) end
    from {{ ref('fct_usage_hourly') }}
    where usage_period in (select usage_period from written_periods)
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
