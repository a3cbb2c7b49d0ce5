{{ config(materialized='incremental', incremental_strategy='append',
          on_schema_change='append_new_columns',
          pre_hook=["{{ clear_when_scoped() }}", "{{ period_delete_stale('invoice_period') }}"]) }}
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
    See macros/proofs/line_record_proofs.sql.
    Incremental per invoice_period (macros/periods_incremental.sql): a period's proof is
    computed as known at its cutoff_at; the proof of a final period is kept while that cutoff is
    unchanged and precedes all new knowledge, the other periods are recomputed. -#}
-- depends_on: {{ ref('int_raw_batches') }}
with periods as (
    select period, cutoff_at, {{ period_index('period_start') }} as period_index
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
        q.cutoff_at,
        res.base_per_billable_unit
    from {{ ref('fct_invoice_lines') }} as l
    inner join periods as q
        on q.period = l.invoice_period
    left join periods as previous
        on previous.period_index = q.period_index - 1
    inner join {{ ref('resources') }} as res
        on res.resource = l.resource
    where l.line_type in ('usage', 'adjustment')
      and {{ periods_to_compute('l.invoice_period', 'invoice_period') }}
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
    CAST(p.amount AS DECIMAL(18,2)) as amount,
    CAST(l.cutoff_at AS TIMESTAMP) as cutoff_at,
    -- a scoped build's proof of its period equals the unscoped one (tests/test_dbt_scoping.py):
    -- stamped like an unscoped build, so a later incremental run keeps it when final
    {{ batch_seq_now(scope_free=true) }} as built_through_batch_seq
from proofs as p
inner join lines as l
    on l.line_key = p.line_key
