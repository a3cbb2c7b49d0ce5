{#- Current usage (SPEC §5): for the period containing as_of, per account and resource, the
    period-to-date usage as known now, included quantity and what remains of it, billable so far
    and its amount, and a linear projection to the period's end
    (usage × period seconds / elapsed seconds, exact) with its projected amount. A peak gauge
    (storage.files) is projected flat: its peak so far.
    Period-to-date means the time before as_of. The draft window's time-integral usage runs to
    the period's end: a contract known now counts to its store_end and a gauge's last sample
    holds up to gauge_max_gap_hours on; that is the draft invoice as known, but not usage to
    date. So network.storage and storage.bytes_used are re-summed here from the draft window's
    intervals cut at as_of (exact, as int_account_usage_known sums them), converted and rounded
    once per account line like int_account_lines_rated, and priced with the same tiers;
    counters and peaks are the draft line's own quantity. -#}
with periods as (
    select period, period_start, period_end
    from {{ ref('int_periods') }}
    where period_start <= {{ as_of() }}
      and period_end > {{ as_of() }}
),

draft_lines as (
    select r.*
    from {{ ref('int_account_lines_rated') }} as r
    join periods as p
        on p.period = r.usage_period
    where r.known_period = r.usage_period
),

draft_window as (
    select period as usage_period, {{ as_of() }} as cutoff_at
    from periods
),

interval_base_to_date as (
    -- exact base-unit seconds of the draft window's intervals before as_of, per account
    select account_id, resource, sum(base_quantity) as base_quantity
    from ({{ time_integrals_before('draft_window') }})
    group by account_id, resource
),

tier_rows as (
    {{ price_tiers_at_period_start('periods') }}
),

clock as (
    select
        period,
        cast(date_diff('second', period_start, period_end) as bigint) as period_seconds,
        cast(greatest(date_diff('second', period_start, {{ as_of() }}), 1) as bigint) as elapsed_seconds,
        {{ as_of() }} as as_of
    from periods
),

to_date as (
    -- the draft line with its quantity to date (time-integral resources re-summed, else as is)
    select
        l.* replace (
            coalesce(
                cast({{ exact_divide('i.base_quantity', 'res.base_per_billable_unit', 12) }} as decimal(38,12)),
                l.quantity
            ) as quantity
        ),
        res.billable_unit,
        res.aggregation
    from draft_lines as l
    left join interval_base_to_date as i
        on i.account_id = l.account_id
       and i.resource = l.resource
    left join {{ ref('resources') }} as res
        on res.resource = l.resource
),

projected as (
    select
        l.*,
        c.as_of,
        c.period_seconds,
        c.elapsed_seconds,
        case when l.aggregation = 'peak' then l.quantity
             else {{ exact_divide('l.quantity * c.period_seconds', 'c.elapsed_seconds', 12, 12) }}
        end as projected_quantity
    from to_date as l
    join clock as c on c.period = l.usage_period
),

projected_billable as (
    select
        * replace (cast(greatest(quantity - included_quantity, 0) as decimal(38,12)) as billable_quantity),
        cast(greatest(projected_quantity - included_quantity, 0) as decimal(38,12)) as projected_billable_quantity
    from projected
),

priced as (
    -- the draft line's tiers applied to the billable quantity to date and to the projected one
    select
        b.account_id,
        b.resource,
        cast(coalesce(sum({{ tier_amount('b.billable_quantity', 't.tier_start', 't.tier_end', 't.unit_price') }}), 0) as decimal(38,20)) as exact_amount_to_date,
        cast(coalesce(sum({{ tier_amount('b.projected_billable_quantity', 't.tier_start', 't.tier_end', 't.unit_price') }}), 0) as decimal(38,20)) as projected_exact_amount
    from projected_billable as b
    left join tier_rows as t
        on t.period = b.usage_period
       and t.resource = b.resource
    group by b.account_id, b.resource
)

select
    cast(b.account_id as varchar) as account_id,
    cast(b.usage_period as varchar) as usage_period,
    cast(b.resource as varchar) as resource,
    cast(b.billable_unit as varchar) as billable_unit,
    cast(b.plan as varchar) as plan,
    cast(b.as_of as timestamp) as as_of,
    cast(b.period_start as timestamp) as period_start,
    cast(b.period_end as timestamp) as period_end,
    cast(b.elapsed_seconds as bigint) as elapsed_seconds,
    cast(b.period_seconds as bigint) as period_seconds,
    cast(b.quantity as decimal(38,12)) as period_to_date_quantity,
    cast(b.included_quantity as decimal(38,12)) as included_quantity,
    cast(greatest(b.included_quantity - b.quantity, 0) as decimal(38,12)) as included_remaining,
    cast(b.billable_quantity as decimal(38,12)) as billable_quantity,
    {{ round_money('pp.exact_amount_to_date') }} as amount_to_date,
    cast(b.projected_quantity as decimal(38,12)) as projected_quantity,
    cast(b.projected_billable_quantity as decimal(38,12)) as projected_billable_quantity,
    {{ round_money('pp.projected_exact_amount') }} as projected_amount,
    cast('USD' as varchar) as currency
from projected_billable as b
join priced as pp
    using (account_id, resource)
