-- Shown in Dagster as an asset check of fct_invoice_line_records.
{{ config(meta={'dagster': {'ref': {'name': 'fct_invoice_line_records'}}}) }}
-- Proof contributions sum exactly to each usage/adjustment line's quantity and amount, and a
-- line's records come from one collection (the allocation breaks ties by record_id alone).
-- Checked for the invoice periods the proofs wrote this run (all in a full build): a period
-- they kept holds the rows of an earlier run, checked then, of lines that cannot have changed
-- (macros/periods_incremental.sql). A period without proof rows is always checked.
{{ proofs_differing_from_lines(ref('fct_invoice_line_records'), ref('fct_invoice_lines'), 'invoice_period',
                              unproved_line_types=['discount']) }}
