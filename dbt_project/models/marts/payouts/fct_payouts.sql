{{ config(materialized='incremental', incremental_strategy='append',
          on_schema_change='append_new_columns',
          pre_hook=["{{ clear_when_scoped() }}", "{{ period_delete_stale('statement_period') }}"]) }}
{#- One payout statement per farmer and period (SPEC §4.7): quantities of Q as known at
    cutoff(Q), gross = Σ lines (adjustments included), held-back by the farmer's age in whole
    months at the period's end (day clamped), held = round(gross × held_pct / 100, 6),
    net = gross − held. A farmer known (at the cutoff) to be disqualified before the period's
    end: status disqualified, gross shown, held 0, net 0 (forfeited).
    Incremental per statement_period (macros/periods_incremental.sql): a final statement is
    kept while its cutoff_at is unchanged and precedes all new knowledge. -#}
-- depends_on: {{ ref('int_raw_batches') }}
with lines as (
    select
        farmer_id,
        statement_period,
        cast(sum(amount) as decimal(18,6)) as gross,
        cast(coalesce(sum(amount) filter (where line_type = 'usage'), 0) as decimal(18,6)) as usage_amount,
        cast(coalesce(sum(amount) filter (where line_type = 'adjustment'), 0) as decimal(18,6)) as adjustment_amount,
        count(*) as line_count
    from {{ ref('fct_payout_lines') }}
    where {{ periods_to_compute('statement_period', 'statement_period') }}
    group by farmer_id, statement_period
),

periods as (
    select period, period_start, period_end, close_at, cutoff_at, is_closed
    from {{ ref('int_periods') }}
),

usage as (
    select farmer_id, usage_period, storage_gbh, download_gb, upload_gb, audits, audits_passed
    from {{ ref('int_farmer_usage_known') }}
    where known_period = usage_period
),

farmers_known as (
    select l.farmer_id, l.statement_period, v.joined_at, v.disqualified_at, v.payout_address
    from lines as l
    join periods as p on p.period = l.statement_period
    join {{ ref('int_farmer_versions_ordered') }} as v
        on v.farmer_id = l.farmer_id
       and v.updated_at < p.cutoff_at
    qualify row_number() over (
        partition by l.farmer_id, l.statement_period
        order by v.updated_at desc, v.valid_from desc, v.record_id desc
    ) = 1
),

aged as (
    select
        l.*,
        p.period_start,
        p.period_end,
        p.cutoff_at,
        case when p.is_closed then 'final' else 'draft' end as period_status,
        f.joined_at,
        f.disqualified_at,
        f.payout_address,
        coalesce(f.disqualified_at < p.period_end, false) as is_disqualified,
        case when f.joined_at is null then 0
             else {{ age_in_months('f.joined_at', 'p.period_end') }} end as age_months,
        u.storage_gbh, u.download_gb, u.upload_gb, u.audits, u.audits_passed
    from lines as l
    join periods as p on p.period = l.statement_period
    left join farmers_known as f
        on f.farmer_id = l.farmer_id and f.statement_period = l.statement_period
    left join usage as u
        on u.farmer_id = l.farmer_id and u.usage_period = l.statement_period
),

held as (
    select
        a.*,
        s.held_pct as scheduled_held_pct
    from aged as a
    left join {{ ref('held_back_schedule') }} as s
        on s.min_age_months <= a.age_months
    qualify row_number() over (
        partition by a.farmer_id, a.statement_period order by s.min_age_months desc nulls last
    ) = 1
)

select
    cast(farmer_id as varchar) as farmer_id,
    cast(statement_period as varchar) as statement_period,
    cast(case when is_disqualified then 'disqualified' else 'ok' end as varchar) as status,
    cast(period_status as varchar) as period_status,
    cast(coalesce(storage_gbh, 0) as decimal(38,12)) as storage_gbh,
    cast(coalesce(download_gb, 0) as decimal(38,12)) as download_gb,
    cast(coalesce(upload_gb, 0) as decimal(38,12)) as upload_gb,
    cast(coalesce(audits, 0) as bigint) as audits,
    cast(coalesce(audits_passed, 0) as bigint) as audits_passed,
    cast(usage_amount as decimal(18,6)) as usage_amount,
    cast(adjustment_amount as decimal(18,6)) as adjustment_amount,
    cast(gross as decimal(18,6)) as gross,
    cast(age_months as integer) as age_months,
    cast(coalesce(scheduled_held_pct, 0) as decimal(9,4)) as held_pct,
    cast(case when is_disqualified then 0
              else {{ round_money(apply_pct('gross', 'coalesce(scheduled_held_pct, 0)'), 6) }} end as decimal(18,6)) as held,
    cast(case when is_disqualified then 0
              else gross - {{ round_money(apply_pct('gross', 'coalesce(scheduled_held_pct, 0)'), 6) }} end as decimal(18,6)) as net,
    cast(line_count as integer) as line_count,
    cast(payout_address as varchar) as payout_address,
    cast(joined_at as timestamp) as joined_at,
    cast(disqualified_at as timestamp) as disqualified_at,
    cast(period_start as timestamp) as period_start,
    cast(period_end as timestamp) as period_end,
    cast(cutoff_at as timestamp) as cutoff_at,
    cast('USD' as varchar) as currency,
    -- a scoped build's statement of its period equals the unscoped one: stamped like an
    -- unscoped build, so a later incremental run keeps it when final
    {{ batch_seq_now(scope_free=true) }} as built_through_batch_seq
from held
