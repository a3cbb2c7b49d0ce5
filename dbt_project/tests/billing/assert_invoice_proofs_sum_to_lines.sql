-- Shown in Dagster as an asset check of fct_invoice_line_records.
{{ config(meta={'dagster': {'ref': {'name': 'fct_invoice_line_records'}}}) }}
-- Proof contributions sum exactly to each usage/adjustment line's quantity and amount, and a
-- line's records come from one collection (the allocation breaks ties by record_id alone).
with r as (
    select line_id, sum(quantity) as quantity, sum(amount) as amount,
           min(source_name) <> max(source_name) or min(collection_name) <> max(collection_name) as mixed_collections
    from {{ ref('fct_invoice_line_records') }}
    group by line_id
)
select l.line_id, l.amount, r.amount as proof_amount, l.quantity, r.quantity as proof_quantity
from {{ ref('fct_invoice_lines') }} as l
left join r using (line_id)
where l.line_type <> 'discount'
  and (coalesce(r.amount, 0) <> l.amount
       or r.mixed_collections
       or coalesce(r.quantity, 0) <> case when l.line_type = 'adjustment'
                                          then l.quantity - l.previous_quantity else l.quantity end)
