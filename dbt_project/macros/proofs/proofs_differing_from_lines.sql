{#- Body of the proof money tests (assert_invoice_proofs_sum_to_lines,
    assert_payout_proofs_sum_to_lines): the lines of `lines` whose proof records (`records`, a
    proof mart) do not sum exactly to the line's quantity (adjustments: the change) and amount,
    or mix collections (the allocation breaks ties by record_id alone). Lines of
    `unproved_line_types` have no records and are not checked (the invoices' discount line).
    Checked for the periods the proof mart wrote this run: the lines outside the periods it kept
    (periods_kept_this_run), and the records it wrote this run (built_this_run; it writes a
    period whole, so they are the records of those periods, and the filter is a constant the
    scan applies instead of an anti join after reading every period). -#}
{% macro proofs_differing_from_lines(records, lines, period_column, unproved_line_types=[]) -%}
with kept_periods as (
    {{ periods_kept_this_run(records, period_column) }}
),

r as (
    select p.line_id, sum(p.quantity) as quantity, sum(p.amount) as amount,
           min(p.source_name) <> max(p.source_name) or min(p.collection_name) <> max(p.collection_name) as mixed_collections
    from {{ records }} as p
    where {{ built_this_run(records) }}
    group by p.line_id
)

select l.line_id, l.amount, r.amount as proof_amount, l.quantity, r.quantity as proof_quantity
from {{ lines }} as l
anti join kept_periods as k using ({{ period_column }})
left join r using (line_id)
where {% for t in unproved_line_types %}l.line_type <> '{{ t }}' and {% endfor %}(coalesce(r.amount, 0) <> l.amount
       or r.mixed_collections
       or coalesce(r.quantity, 0) <> case when l.line_type = 'adjustment'
                                          then l.quantity - l.previous_quantity else l.quantity end)
{%- endmacro %}
