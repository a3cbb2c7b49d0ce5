{{ config(materialized='incremental', incremental_strategy='append',
          on_schema_change='append_new_columns',
          pre_hook=["{{ clear_when_scoped() }}", "{{ period_delete_stale('invoice_period') }}"]) }}
{#- One invoice per (account_id, invoice_period) that has lines: subtotal = Σ rounded usage and
    adjustment lines; plan and discount_pct known at close(Q) (latest version with updated_at
    before the cutoff); discount = round(subtotal × discount_pct / 100, 2) half away from zero;
    total = subtotal − discount (SPEC §4.6).
    Incremental per invoice_period (macros/periods_incremental.sql): a final invoice is kept
    while its cutoff_at is unchanged and precedes all new knowledge. -#}
-- depends_on: {{ ref('int_raw_batches') }}
with lines as (
    select *
    from {{ ref('int_invoice_lines_priced') }}
    where {{ periods_to_compute('invoice_period', 'invoice_period') }}
),

invoices as (
    select
        account_id,
        invoice_period,
        cast(sum(amount) as decimal(18,2)) as subtotal,
        cast(coalesce(sum(amount) filter (where line_type = 'usage'), 0) as decimal(18,2)) as usage_amount,
        cast(coalesce(sum(amount) filter (where line_type = 'adjustment'), 0) as decimal(18,2)) as adjustment_amount,
        count(*) as priced_line_count
    from lines
    group by account_id, invoice_period
),

periods as (
    select period, period_start, period_end, close_at, cutoff_at, is_closed
    from {{ ref('int_periods') }}
),

accounts_known as (
    select
        i.account_id,
        i.invoice_period,
        v.plan,
        v.discount_pct
    from invoices as i
    join periods as p
        on p.period = i.invoice_period
    join {{ ref('int_account_versions_merged') }} as v
        on v.account_id = i.account_id
       and v.updated_at < p.cutoff_at
    qualify row_number() over (
        partition by i.account_id, i.invoice_period
        order by v.updated_at desc, v.valid_from desc, v.record_id desc
    ) = 1
),

totaled as (
    select
        i.account_id,
        i.invoice_period,
        p.period_start,
        p.period_end,
        p.close_at,
        p.cutoff_at,
        case when p.is_closed then 'final' else 'draft' end as status,
        a.plan,
        cast(coalesce(a.discount_pct, 0) as decimal(9,4)) as discount_pct,
        i.usage_amount,
        i.adjustment_amount,
        i.subtotal,
        i.priced_line_count
    from invoices as i
    join periods as p
        on p.period = i.invoice_period
    left join accounts_known as a
        on a.account_id = i.account_id
       and a.invoice_period = i.invoice_period
)

select
    *,
    {{ round_money(apply_pct('subtotal', 'discount_pct')) }} as discount,
    cast(subtotal - {{ round_money(apply_pct('subtotal', 'discount_pct')) }} as decimal(18,2)) as total,
    -- a scoped build's invoice of its period equals the unscoped one: stamped like an unscoped
    -- build, so a later incremental run keeps it when final
    {{ batch_seq_now(scope_free=true) }} as built_through_batch_seq
from totaled
