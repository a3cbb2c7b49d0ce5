{{ config(materialized='incremental', incremental_strategy='append',
          pre_hook=["{{ clear_when_scoped() }}", "{{ windows_delete_stale(none) }}"],
          post_hook="{{ windows_delete_moved() }}") }}
{#- One rated line per (account_id, resource, usage_period, known_period): the usage of
    usage_period as known at known_period's cutoff (summed over contexts), priced with the
    price list and plan valid at the usage period's start, and the account's plan and
    discount as known at that cutoff (SPEC §4.6). known_period 'latest' (cutoff = as_of) is
    rated too, for the late-not-billed mart.
    The line's quantity is its exact base quantity (summed over contexts) converted and rounded
    once, not the sum of the contexts' rounded quantities (which can lose 10^-12 per context and
    move a line across a cent boundary).
    Windows sharing (usage_period, cutoff_at) (during the grace hours, the previous period's and
    the draft period's windows of a usage period, both cut at as_of) have the same usage and
    account versions: rated once and fanned out.
    Incremental per knowledge window (macros/usage/windows_incremental.sql): a window whose
    cutoff is unchanged and precedes all new knowledge (usage and account versions: every raw
    collection) is kept; new windows and windows whose cutoff moved are rated in full.
    Seeds (prices, plans) are not in the change log: changing them needs --full-refresh. -#}
-- depends_on: {{ ref('int_raw_batches') }}
with {{ windows_to_write() }},

evaluations as (
    -- each distinct (usage_period, cutoff_at) to rate, read from one of its windows
    select usage_period, cutoff_at, min(known_period) as rated_known_period
    from windows
    group by usage_period, cutoff_at
),

usage_by_line as (
    select
        u.account_id,
        u.resource,
        u.usage_period,
        e.cutoff_at,
        sum(u.base_quantity) as base_quantity,
        count(*) as context_count
    from {{ ref('int_account_usage_known') }} as u
    inner join evaluations as e
        on e.usage_period = u.usage_period
        and e.rated_known_period = u.known_period
    group by u.account_id, u.resource, u.usage_period, e.cutoff_at
),

usage as (
    select
        u.*,
        cast({{ exact_divide('u.base_quantity', 'r.base_per_billable_unit', 12) }} as decimal(38,12)) as quantity
    from usage_by_line as u
    inner join {{ ref('resources') }} as r
        on r.resource = u.resource
),

periods as (
    select
        period,
        period_start,
        period_end,
        cast(hours as integer) as hours,
        {{ period_index('period_start') }} as period_index
    from {{ ref('int_periods') }}
),

account_keys as (
    select distinct account_id, cutoff_at from usage
),

accounts_known as (
    -- the account version known at the cutoff: latest updated_at strictly before it
    select
        k.account_id,
        k.cutoff_at,
        v.plan,
        v.discount_pct
    from account_keys as k
    join {{ ref('int_account_versions_merged') }} as v
        on v.account_id = k.account_id
       and v.updated_at < k.cutoff_at
    qualify row_number() over (
        partition by k.account_id, k.cutoff_at
        order by v.updated_at desc, v.valid_from desc, v.record_id desc
    ) = 1
),

plan_rows as (
    -- a period uses the plan version valid at its start (versioned per plan)
    select
        p.period,
        pl.plan,
        pl.resource,
        pl.included_quantity,
        pl.basis
    from periods as p
    join {{ ref('plans') }} as pl
        on pl.valid_from <= cast(p.period_start as date)
    qualify pl.valid_from = max(pl.valid_from) over (partition by p.period, pl.plan)
),

tier_rows as (
    -- a period uses the price tiers valid at its start (versioned per resource)
    {{ price_tiers_at_period_start('periods') }}
),

lines as (
    select
        u.account_id,
        u.resource,
        u.usage_period,
        u.cutoff_at,
        p.period_start,
        p.period_end,
        p.hours as period_hours,
        p.period_index as usage_period_index,
        a.plan,
        cast(coalesce(a.discount_pct, 0) as decimal(9,4)) as discount_pct,
        u.quantity,
        u.base_quantity,
        u.context_count,
        cast(coalesce(
            case when pr.basis = 'per_hour' then pr.included_quantity * p.hours
                 else pr.included_quantity end,
            0) as decimal(38,12)) as included_quantity
    from usage as u
    join periods as p
        on p.period = u.usage_period
    left join accounts_known as a
        on a.account_id = u.account_id
       and a.cutoff_at = u.cutoff_at
    left join plan_rows as pr
        on pr.period = u.usage_period
       and pr.plan = a.plan
       and pr.resource = u.resource
),

billable as (
    select
        *,
        cast(greatest(quantity - included_quantity, 0) as decimal(38,12)) as billable_quantity
    from lines
),

priced as (
    select
        b.account_id,
        b.resource,
        b.usage_period,
        b.cutoff_at,
        cast(coalesce(sum({{ tier_amount('b.billable_quantity', 't.tier_start', 't.tier_end', 't.unit_price') }}), 0) as decimal(38,20)) as exact_amount,
        count(t.resource) > 0 as has_price
    from billable as b
    left join tier_rows as t
        on t.period = b.usage_period
       and t.resource = b.resource
    group by b.account_id, b.resource, b.usage_period, b.cutoff_at
)

select
    b.account_id,
    b.resource,
    b.usage_period,
    w.known_period,
    b.cutoff_at,
    b.period_start,
    b.period_end,
    b.period_hours,
    b.usage_period_index,
    kp.period_index as known_period_index,
    b.plan,
    b.discount_pct,
    b.quantity,
    b.base_quantity,
    b.context_count,
    b.included_quantity,
    b.billable_quantity,
    pz.exact_amount,
    {{ round_money('pz.exact_amount') }} as amount,
    pz.has_price,
    {{ batch_seq_now() }} as built_through_batch_seq
from billable as b
join priced as pz
    using (account_id, resource, usage_period, cutoff_at)
-- fan out to the windows of the (usage_period, cutoff_at)
inner join windows as w
    on w.usage_period = b.usage_period
    and w.cutoff_at = b.cutoff_at
left join periods as kp
    on kp.period = w.known_period
