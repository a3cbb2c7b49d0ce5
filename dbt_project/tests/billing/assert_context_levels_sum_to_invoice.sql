-- Shown in Dagster as an asset check of fct_invoice_context_amounts.
{{ config(meta={'dagster': {'ref': {'name': 'fct_invoice_context_amounts'}}}) }}
-- At every depth, the context amounts of an invoice add up exactly to its total; per line too.
-- Checked for the invoice periods the breakdown wrote this run (all in a full build): a period
-- it kept holds the rows of an earlier run, checked then, of an invoice that cannot have changed
-- (macros/periods_incremental.sql). A period without any breakdown rows is always checked.
with kept_periods as (
    {{ periods_kept_this_run(ref('fct_invoice_context_amounts'), 'invoice_period') }}
),
amounts as (
    select c.*
    from {{ ref('fct_invoice_context_amounts') }} as c
    anti join kept_periods as k using (invoice_period)
),
lines as (
    select l.*
    from {{ ref('fct_invoice_lines') }} as l
    anti join kept_periods as k using (invoice_period)
),
per_depth as (
    select account_id, invoice_period, depth, sum(amount) as amount
    from amounts
    group by account_id, invoice_period, depth
),
per_line as (
    select line_id, depth, sum(amount) as amount
    from amounts
    group by line_id, depth
)
select 'invoice' as what, d.account_id as id, d.invoice_period as period, d.depth
from per_depth as d
join {{ ref('fct_invoices') }} as i using (account_id, invoice_period)
where d.amount <> i.total
union all
select 'line', p.line_id, null, p.depth
from per_line as p
join lines as l using (line_id)
where p.amount <> l.amount
union all
-- every line with a non-zero amount is broken down
select 'missing', l.line_id, l.invoice_period, null
from lines as l
where l.amount <> 0
  and not exists (select 1 from amounts as c where c.line_id = l.line_id)
