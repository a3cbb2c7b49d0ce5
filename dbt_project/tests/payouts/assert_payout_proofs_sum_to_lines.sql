-- Shown in Dagster as an asset check of fct_payout_line_records.
{{ config(meta={'dagster': {'ref': {'name': 'fct_payout_line_records'}}}) }}
-- Proof contributions sum exactly to each payout line's quantity and amount (lines with a
-- non-zero quantity or amount must have records), and a line's records come from one
-- collection (the allocation breaks ties by record_id alone).
with r as (
    select line_id, sum(quantity) as quantity, sum(amount) as amount,
           min(source_name) <> max(source_name) or min(collection_name) <> max(collection_name) as mixed_collections
    from {{ ref('fct_payout_line_records') }}
    group by line_id
)
select l.line_id
from {{ ref('fct_payout_lines') }} as l
left join r using (line_id)
where coalesce(r.amount, 0) <> l.amount
   or r.mixed_collections
   or coalesce(r.quantity, 0) <> case when l.line_type = 'adjustment'
                                      then l.quantity - l.previous_quantity else l.quantity end
