{#- One invoice per account and period (SPEC §4.6): status final once the period is closed
    (draft before); total = subtotal − discount; line_count counts every line incl. discount. -#}
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
    cast(cutoff_at as timestamp) as cutoff_at
from {{ ref('int_invoices_totaled') }}
