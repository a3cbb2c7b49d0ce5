-- Shown in Dagster as an asset check of fct_payouts.
{{ config(meta={'dagster': {'ref': {'name': 'fct_payouts'}}}) }}
-- net = gross − held for ok statements (never negative when gross is not), gross = Σ lines;
-- disqualified statements forfeit: held 0, net 0.
with l as (
    select farmer_id, statement_period, sum(amount) as gross, count(*) as n
    from {{ ref('fct_payout_lines') }}
    group by farmer_id, statement_period
)
select p.farmer_id, p.statement_period
from {{ ref('fct_payouts') }} as p
left join l using (farmer_id, statement_period)
where l.gross is distinct from p.gross
   or l.n <> p.line_count
   or (p.status = 'ok' and (p.net <> p.gross - p.held or (p.gross >= 0 and p.net < 0)))
   or (p.status = 'disqualified' and (p.net <> 0 or p.held <> 0))
