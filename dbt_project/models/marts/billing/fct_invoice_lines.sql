{#- Invoice lines (SPEC §4.2, §4.6): grain (account_id, invoice_period, line_type, resource,
    usage_period); usage lines of Q, adjustment lines for earlier periods in the window, and
    one discount line (negative amount, resource NULL, usage_period = Q) per invoice. -#}
with priced as (
    select * from {{ ref('int_invoice_lines_priced') }}
),

invoices as (
    select * from {{ ref('int_invoices_totaled') }}
),

units as (
    select resource, billable_unit from {{ ref('resources') }}
),

lines as (
    select
        p.account_id,
        p.invoice_period,
        p.line_type,
        p.resource,
        p.usage_period,
        u.billable_unit,
        p.quantity,
        p.included_quantity,
        p.billable_quantity,
        p.rated_amount,
        p.previous_quantity,
        p.previous_amount,
        p.amount
    from priced as p
    left join units as u
        on u.resource = p.resource
    union all
    select
        account_id,
        invoice_period,
        'discount' as line_type,
        cast(null as varchar) as resource,
        invoice_period as usage_period,
        cast(null as varchar) as billable_unit,
        cast(null as decimal(38,12)) as quantity,
        cast(null as decimal(38,12)) as included_quantity,
        cast(null as decimal(38,12)) as billable_quantity,
        cast(null as decimal(18,2)) as rated_amount,
        cast(null as decimal(38,12)) as previous_quantity,
        cast(null as decimal(18,2)) as previous_amount,
        cast(-discount as decimal(18,2)) as amount
    from invoices
)

select
    cast({{ stable_id(['account_id', 'invoice_period', 'line_type', 'resource', 'usage_period']) }} as varchar) as line_id,
    cast(account_id as varchar) as account_id,
    cast(invoice_period as varchar) as invoice_period,
    cast(line_type as varchar) as line_type,
    cast(resource as varchar) as resource,
    cast(usage_period as varchar) as usage_period,
    cast(billable_unit as varchar) as billable_unit,
    cast(quantity as decimal(38,12)) as quantity,
    cast(included_quantity as decimal(38,12)) as included_quantity,
    cast(billable_quantity as decimal(38,12)) as billable_quantity,
    cast(rated_amount as decimal(18,2)) as rated_amount,
    cast(previous_quantity as decimal(38,12)) as previous_quantity,
    cast(previous_amount as decimal(18,2)) as previous_amount,
    cast(amount as decimal(18,2)) as amount,
    cast('USD' as varchar) as currency
from lines
