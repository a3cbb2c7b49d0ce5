{{ config(materialized='incremental', incremental_strategy='append',
          on_schema_change='append_new_columns',
          pre_hook=["{{ clear_when_scoped() }}", "{{ period_delete_stale('invoice_period') }}"]) }}
{#- Usage and adjustment lines of every invoice period Q (SPEC §4.2, §4.6), before the discount.
    usage: usage_period = Q rated as known at cutoff(Q).
    adjustment: for each P with Q - max_adjustment_periods <= P < Q, per resource,
      amount(P rated at cutoff(Q)) - amount(P rated at cutoff(Q-1)); non-zero only.
    With the var `period` set (macros/scope.sql): only invoice period Q.
    Incremental per invoice_period (macros/periods_incremental.sql): a final invoice's lines
    are kept while its cutoff_at is unchanged and precedes all new knowledge. -#}
{%- set max_adj = var('max_adjustment_periods', 3) | int -%}
{%- set scoped = scope_period() -%}
-- depends_on: {{ ref('int_raw_batches') }}
with {{ periods_written('invoice_period') }},

rated as (
    -- as known at the cutoffs of the computed invoices and of the periods before them
    select *
    from {{ ref('int_account_lines_rated') }}
    where known_period_index in (
        select period_index from computed_periods
        union all
        select period_index - 1 from computed_periods
    )
),

usage_lines as (
    select
        account_id,
        usage_period as invoice_period,
        'usage' as line_type,
        resource,
        usage_period,
        quantity,
        included_quantity,
        billable_quantity,
        amount as rated_amount,
        cast(null as decimal(38,12)) as previous_quantity,
        cast(null as decimal(18,2)) as previous_amount,
        amount,
        plan,
        cutoff_at
    from rated
    where known_period_index = usage_period_index
    {%- if scoped %}
      and usage_period = '{{ scoped }}'
    {%- endif %}
),

-- P as known at cutoff(Q), for Q in (P, P + max]
rerated as (
    select r.*, r.known_period as invoice_period
    from rated as r
    where r.known_period_index - r.usage_period_index between 1 and {{ max_adj }}
),

-- P as known at cutoff(Q - 1), for Q in (P, P + max], Q an existing period
previous as (
    select r.*, q.period as invoice_period
    from rated as r
    join periods as q
        on q.period_index = r.known_period_index + 1
    where r.known_period_index - r.usage_period_index between 0 and {{ max_adj }} - 1
),

adjustment_lines as (
    select
        coalesce(c.account_id, p.account_id) as account_id,
        coalesce(c.invoice_period, p.invoice_period) as invoice_period,
        'adjustment' as line_type,
        coalesce(c.resource, p.resource) as resource,
        coalesce(c.usage_period, p.usage_period) as usage_period,
        coalesce(c.quantity, 0) as quantity,
        coalesce(c.included_quantity, p.included_quantity) as included_quantity,
        coalesce(c.billable_quantity, 0) as billable_quantity,
        cast(coalesce(c.amount, 0) as decimal(18,2)) as rated_amount,
        cast(coalesce(p.quantity, 0) as decimal(38,12)) as previous_quantity,
        cast(coalesce(p.amount, 0) as decimal(18,2)) as previous_amount,
        cast(coalesce(c.amount, 0) - coalesce(p.amount, 0) as decimal(18,2)) as amount,
        coalesce(c.plan, p.plan) as plan,
        c.cutoff_at
    from rerated as c
    full outer join previous as p
        on p.account_id = c.account_id
       and p.resource = c.resource
       and p.usage_period = c.usage_period
       and p.invoice_period = c.invoice_period
),

lines as (
    select
        account_id,
        invoice_period,
        line_type,
        resource,
        usage_period,
        cast(quantity as decimal(38,12)) as quantity,
        cast(included_quantity as decimal(38,12)) as included_quantity,
        cast(billable_quantity as decimal(38,12)) as billable_quantity,
        cast(rated_amount as decimal(18,2)) as rated_amount,
        previous_quantity,
        previous_amount,
        cast(amount as decimal(18,2)) as amount
    from usage_lines
    union all
    select
        account_id,
        invoice_period,
        line_type,
        resource,
        usage_period,
        cast(quantity as decimal(38,12)),
        cast(included_quantity as decimal(38,12)),
        cast(billable_quantity as decimal(38,12)),
        rated_amount,
        previous_quantity,
        previous_amount,
        amount
    from adjustment_lines
    where amount <> 0
    {%- if scoped %}
      and invoice_period = '{{ scoped }}'
    {%- endif %}
)

select
    l.*,
    c.cutoff_at,
    -- a scoped build's lines of its invoice period equal the unscoped ones: stamped like an
    -- unscoped build, so a later incremental run keeps them when final
    {{ batch_seq_now(scope_free=true) }} as built_through_batch_seq
from lines as l
inner join computed_periods as c
    on c.period = l.invoice_period
