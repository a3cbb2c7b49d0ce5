-- Shown in Dagster as an asset check of fct_invoice_line_records.
{{ config(meta={'dagster': {'ref': {'name': 'fct_invoice_line_records'}}}) }}
-- Proof contributions sum exactly to each usage/adjustment line's quantity and amount, and a
-- line's records come from one collection (the allocation breaks ties by record_id alone).
-- Checked for the invoice periods the proofs wrote this run (all in a full build): a period
-- they kept holds the rows of an earlier run, checked then, of lines that cannot have changed
-- (macros/periods_incremental.sql). A period without proof rows is always checked.
with kept_periods as (
    select invoice_period
    from {{ ref('fct_invoice_line_records') }}
    group by invoice_period
    having max(built_through_batch_seq) >= 0
       and max(built_through_batch_seq) < (select max(built_through_batch_seq) from {{ ref('fct_invoice_line_records') }})
),

r as (
    select p.line_id, sum(p.quantity) as quantity, sum(p.amount) as amount,
           min(p.source_name) <> max(p.source_name) or min(p.collection_name) <> max(p.collection_name) as mixed_collections
    from {{ ref('fct_invoice_line_records') }} as p
    anti join kept_periods as k using (invoice_period)
    group by p.line_id
)
select l.line_id, l.amount, r.amount as proof_amount, l.quantity, r.quantity as proof_quantity
from {{ ref('fct_invoice_lines') }} as l
anti join kept_periods as k using (invoice_period)
left join r using (line_id)
where l.line_type <> 'discount'
  and (coalesce(r.amount, 0) <> l.amount
       or r.mixed_collections
       or coalesce(r.quantity, 0) <> case when l.line_type = 'adjustment'
                                          then l.quantity - l.previous_quantity else l.quantity end)
