{#- Proof of every usage and adjustment line (SPEC §5 "Events"): the raw records behind it.
    usage line:      the records of Q as known at cutoff(Q);
    adjustment line: the change of P's records between cutoff(Q-1) and cutoff(Q), netted per
                     record (records whose net is zero are left out unless nothing else
                     remains), so they add up to the change.
    base_quantity is the record's exact contribution in base units. quantity (billable units,
    12 decimals) and amount (cents) are allocated so that they sum exactly to the line's
    quantity (adjustments: quantity − previous_quantity) and amount: quantity = base /
    base_per_billable_unit rounded, the last 10^-12 residues placed on the largest records;
    amount by largest remainder in proportion to the quantity (ties: record id ascending).
    See macros/proofs/line_record_proofs.sql. -#}
with periods as (
    select period, {{ period_index('period_start') }} as period_index
    from {{ ref('int_periods') }}
),

lines as materialized (
    select
        -- integer key for the per-line joins, windows and aggregates (deterministic: the
        -- CTE's rows must keep their key wherever it is read)
        row_number() over (order by l.line_id) as line_key,
        l.line_id,
        l.account_id,
        l.invoice_period,
        l.line_type,
        l.resource,
        l.usage_period,
        l.invoice_period as known_period,
        case when l.line_type = 'adjustment' then previous.period end as previous_known_period,
        CAST(case when l.line_type = 'adjustment' then l.quantity - coalesce(l.previous_quantity, 0)
                  else l.quantity end AS DECIMAL(38,12)) as line_quantity,
        l.amount as line_amount,
        res.base_per_billable_unit
    from {{ ref('fct_invoice_lines') }} as l
    inner join periods as q
        on q.period = l.invoice_period
    left join periods as previous
        on previous.period_index = q.period_index - 1
    inner join {{ ref('resources') }} as res
        on res.resource = l.resource
    where l.line_type in ('usage', 'adjustment')
),

proofs as (
    select *
    from {{ line_record_proofs('lines', ref('int_account_usage_records_known'), ['account_id', 'resource'], amount_scale=2) }}
)

select
    CAST(l.line_id AS VARCHAR) as line_id,
    CAST(l.account_id AS VARCHAR) as account_id,
    CAST(l.invoice_period AS VARCHAR) as invoice_period,
    CAST(l.line_type AS VARCHAR) as line_type,
    CAST(l.resource AS VARCHAR) as resource,
    CAST(l.usage_period AS VARCHAR) as usage_period,
    CAST(p.source_name AS VARCHAR) as source_name,
    CAST(p.collection_name AS VARCHAR) as collection_name,
    CAST(p.record_id AS VARCHAR) as record_id,
    CAST(p.base_quantity AS DECIMAL(38,9)) as base_quantity,
    CAST(p.quantity AS DECIMAL(38,12)) as quantity,
    CAST(p.amount AS DECIMAL(18,2)) as amount
from proofs as p
inner join lines as l
    on l.line_key = p.line_key
