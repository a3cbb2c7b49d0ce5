-- Shown in Dagster as an asset check of fct_usage_daily.
{{ config(meta={'dagster': {'ref': {'name': 'fct_usage_daily'}}}) }}
-- The days (and hours) of a line sum exactly to int_account_usage_known.quantity of
-- (account, context, resource, P, known_period = P); every such line has chart rows. For
-- storage.files (peak) the largest per-day / per-hour peak equals the line's peak instead.
-- The draft period (its cutoff, as_of, before its end) is charted up to as_of: its time
-- integrals are checked against their intervals cut at as_of (as fct_current_usage cuts them)
-- and its peaks against the holds starting before as_of; a line with nothing before as_of has
-- no chart rows. Hourly rows exist for the latest var('usage_hourly_periods', 2) periods only.
--
-- Checked: the usage periods whose own window (known_period = usage_period) a table behind the
-- lines or the charts wrote this run (rows stamped with the table's newest
-- built_through_batch_seq, or -1 after a scoped build; the counter table has a header row per
-- window written, so a window left without lines counts too). In a full build that is every
-- period. The others are as they were when last checked: their window was not rewritten
-- (int_account_usage_known and the counter table rewrite the same windows, whole) and no chart
-- row of theirs was written.
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

draft_windows as (
    select usage_period, cutoff_at
    from {{ ref('int_usage_knowledge_windows') }}
    where known_period = usage_period
      and cutoff_at < period_end
      and usage_period in (select usage_period from written_periods)
),

draft_to_date as (
    -- the draft's time integrals cut at its cutoff, and its peaks among the holds before it
    {{ time_integrals_before('draft_windows') }}
    union all
    select g.account_id, g.context, g.resource, g.usage_period,
           coalesce(max(g.value_base) filter (where g.held_start < w.cutoff_at), 0)
    from {{ ref('int_gauge_intervals_capped') }} as g
    inner join draft_windows as w
        on w.usage_period = g.usage_period
    where g.known_period = g.usage_period
      and g.holds_in_period
      and g.resource = 'storage.files'
    group by g.account_id, g.context, g.resource, g.usage_period
),

lines as (
    select l.account_id, l.context, l.resource, l.usage_period,
           coalesce({{ exact_divide('d.base_quantity', 'r.base_per_billable_unit', 12) }}, l.quantity) as quantity,
           d.base_quantity is not null as is_draft_to_date
    from {{ ref('int_account_usage_known') }} as l
    inner join {{ ref('resources') }} as r
        on r.resource = l.resource
    left join draft_to_date as d
        on d.account_id = l.account_id and d.context = l.context
        and d.resource = l.resource and d.usage_period = l.usage_period
    where l.known_period = l.usage_period
      and l.usage_period in (select usage_period from written_periods)
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
  and not (l.is_draft_to_date and l.quantity = 0 and c.total is null)
  and (g.chart = 'daily' or l.usage_period in (select period from hourly_periods))
union all
select c.chart, c.account_id, c.context, c.resource, c.usage_period, null, c.total
from charts as c
left join lines as l
    on c.account_id = l.account_id and c.context = l.context
    and c.resource = l.resource and c.usage_period = l.usage_period
where l.account_id is null
