{{ config(materialized='incremental', incremental_strategy='append',
          on_schema_change='append_new_columns',
          pre_hook=["{{ clear_when_scoped() }}", "{{ period_delete_stale('invoice_period') }}"]) }}
{#- One invoice per account and period (SPEC §4.6): status final once the period is closed
    (draft before); total = subtotal − discount; line_count counts every line incl. discount.
    Incremental per invoice_period (macros/periods_incremental.sql): a final invoice is kept
    while its cutoff_at is unchanged and precedes all new knowledge. -#}
-- depends_on: {{ ref('int_raw_batches') }}
-- depends_on: {{ ref('int_periods') }}
select
    cast(account_id as varchar) as account_id,
    cast(invoice_period as varchar) as invoice_period,
    cast(status as varchar) as status,
    cast(plan as varchar) as plan,
    cast(discount_pct as decimal(9,4)) as discount_pct,
    cast(usage_amount as decimal(18,2)) as usage_amount,
    cast(adjustment_amount as decimal(18,2)) as adjustment_amount,
    cast(subtotal as decimal(18,2)) as subtotal,
    cast(discount as decimal(18,2)) as discount,
    cast(total as decimal(18,2)) as total,
    cast(priced_line_count + 1 as integer) as line_count,
    cast('USD' as varchar) as currency,
    cast(period_start as timestamp) as period_start,
    cast(period_end as timestamp) as period_end,
    cast(close_at as timestamp) as close_at,
    cast(cutoff_at as timestamp) as cutoff_at,
    -- a scoped build's invoice of its period equals the unscoped one: stamped like an unscoped
    -- build, so a later incremental run keeps it when final
    {{ batch_seq_now(scope_free=true) }} as built_through_batch_seq
from {{ ref('int_invoices_totaled') }}
where {{ periods_to_compute('invoice_period', 'invoice_period') }}
