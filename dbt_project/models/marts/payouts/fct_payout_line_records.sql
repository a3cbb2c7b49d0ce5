{{ config(materialized='incremental', incremental_strategy='append',
          on_schema_change='append_new_columns',
          pre_hook=["{{ clear_when_scoped() }}", "{{ period_delete_stale('statement_period') }}"]) }}
{#- Proof of every payout line: the records behind it (adjustments: the change between
    cutoff(Q−1) and cutoff(Q), netted per record). quantity (12 decimals) and amount
    (6 decimals) sum exactly to the line's quantity (adjustments: the change) and amount; see
    fct_invoice_line_records and macros/proofs/line_record_proofs.sql for the allocation.
    Incremental per statement_period (macros/periods_incremental.sql): a period's proof is
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
        l.farmer_id,
        l.statement_period,
        l.component,
        l.line_type,
        l.usage_period,
        l.statement_period as known_period,
        case when l.line_type = 'adjustment' then previous.period end as previous_known_period,
        CAST(case when l.line_type = 'adjustment' then l.quantity - coalesce(l.previous_quantity, 0)
                  else l.quantity end AS DECIMAL(38,12)) as line_quantity,
        l.amount as line_amount,
        q.cutoff_at,
        -- storage in GBh (byte-seconds), transfers in GB (bytes)
        case l.component when 'storage' then 3600000000000 else 1000000000 end as base_per_billable_unit
    from {{ ref('fct_payout_lines') }} as l
    inner join periods as q
        on q.period = l.statement_period
    left join periods as previous
        on previous.period_index = q.period_index - 1
    where {{ periods_to_compute('l.statement_period', 'statement_period') }}
),

proofs as (
    select *
    from {{ line_record_proofs('lines', ref('int_farmer_usage_records_known'), ['farmer_id', 'component'], amount_scale=6) }}
)

select
    CAST(l.line_id AS VARCHAR) as line_id,
    CAST(l.farmer_id AS VARCHAR) as farmer_id,
    CAST(l.statement_period AS VARCHAR) as statement_period,
    CAST(l.component AS VARCHAR) as component,
    CAST(l.line_type AS VARCHAR) as line_type,
    CAST(l.usage_period AS VARCHAR) as usage_period,
    CAST(p.source_name AS VARCHAR) as source_name,
    CAST(p.collection_name AS VARCHAR) as collection_name,
    CAST(p.record_id AS VARCHAR) as record_id,
    CAST(p.base_quantity AS DECIMAL(38,9)) as base_quantity,
    CAST(p.quantity AS DECIMAL(38,12)) as quantity,
    CAST(p.amount AS DECIMAL(18,6)) as amount,
    CAST(l.cutoff_at AS TIMESTAMP) as cutoff_at,
    -- a scoped build's proof of its period equals the unscoped one (tests/test_dbt_scoping.py):
    -- stamped like an unscoped build, so a later incremental run keeps it when final
    {{ batch_seq_now(scope_free=true) }} as built_through_batch_seq
from proofs as p
inner join lines as l
    on l.line_key = p.line_key
