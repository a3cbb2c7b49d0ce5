-- Shown in Dagster as an asset check of fct_invoices.
{{ config(meta={'dagster': {'ref': {'name': 'fct_invoices'}}}) }}
-- Σ usage+adjustment lines = subtotal, the discount line = −discount, Σ all lines = total,
-- total = subtotal − discount, line_count matches.
with l as (
    select
        account_id, invoice_period,
        sum(amount) filter (where line_type <> 'discount') as priced,
        sum(amount) filter (where line_type = 'discount') as discount_line,
        count(*) filter (where line_type = 'discount') as discount_lines,
        sum(amount) as all_lines,
        count(*) as n
    from {{ ref('fct_invoice_lines') }}
    group by account_id, invoice_period
)
select i.account_id, i.invoice_period
from {{ ref('fct_invoices') }} as i
full outer join l using (account_id, invoice_period)
where i.account_id is null or l.account_id is null
   or l.priced is distinct from i.subtotal
   or l.discount_lines <> 1
   or l.discount_line is distinct from -i.discount
   or l.all_lines is distinct from i.total
   or i.total is distinct from i.subtotal - i.discount
   or l.n <> i.line_count
