{#- Proof of every payout line: the records behind it (adjustments: records as known at
    cutoff(Q) positive, at cutoff(Q−1) negative, netted per record). quantity (12 decimals)
    and amount (6 decimals) sum exactly to the line's quantity (adjustments: the change) and
    amount; see fct_invoice_line_records for the allocation. -#}
with lines as (
    select line_id, farmer_id, statement_period, component, line_type, usage_period,
           quantity, previous_quantity, amount
    from {{ ref('fct_payout_lines') }}
),

periods as (
    select period, {{ period_index('period_start') }} as period_index
    from {{ ref('int_periods') }}
),

line_periods as (
    select l.*, q.period_index as statement_period_index
    from lines as l
    join periods as q on q.period = l.statement_period
),

records as (
    select r.*, p.period_index as known_period_index
    from {{ ref('int_farmer_usage_records_known') }} as r
    join periods as p on p.period = r.known_period
),

signed as (
    select l.line_id, r.source_name, r.collection_name, r.record_id, r.base_quantity
    from line_periods as l
    join records as r
        on r.farmer_id = l.farmer_id
       and r.component = l.component
       and r.usage_period = l.usage_period
       and r.known_period_index = l.statement_period_index
    union all
    select l.line_id, r.source_name, r.collection_name, r.record_id, -r.base_quantity
    from line_periods as l
    join records as r
        on r.farmer_id = l.farmer_id
       and r.component = l.component
       and r.usage_period = l.usage_period
       and r.known_period_index = l.statement_period_index - 1
    where l.line_type = 'adjustment'
),

netted as (
    select line_id, source_name, collection_name, record_id, sum(base_quantity) as base_quantity
    from signed
    group by line_id, source_name, collection_name, record_id
),

kept as (
    select *
    from netted
    qualify base_quantity <> 0
         or max(abs(base_quantity)) over (partition by line_id) = 0
),

converted as (
    select
        k.*,
        l.farmer_id, l.statement_period, l.component, l.line_type, l.usage_period, l.amount as line_amount,
        cast(case when l.line_type = 'adjustment' then l.quantity - coalesce(l.previous_quantity, 0)
                  else l.quantity end as decimal(38,12)) as line_quantity,
        case l.component
            when 'storage' then {{ exact_divide('k.base_quantity', 3600000000000, 12) }}
            else {{ exact_divide('k.base_quantity', 1000000000, 12) }}
        end as quantity0
    from kept as k
    join lines as l on l.line_id = k.line_id
),

residual as (
    select
        *,
        cast(round((line_quantity - sum(quantity0) over (partition by line_id)) * 1000000000000) as hugeint) as residual_units,
        count(*) over (partition by line_id) as n_records,
        row_number() over (partition by line_id order by abs(base_quantity) desc, source_name, collection_name, record_id) as size_rank
    from converted
),

quantities as (
    select
        *,
        cast(quantity0 + cast(
            sign(residual_units) * (abs(residual_units) // n_records
                + case when size_rank <= abs(residual_units) % n_records then 1 else 0 end)
            as decimal(38,0)) * 0.000000000001 as decimal(38,12)) as quantity_contribution,
        concat_ws('/', source_name, collection_name, record_id) as record_key
    from residual
),

allocated as (
    select *
    from {{ allocate_largest_remainder('quantities', 'line_amount', 'quantity_contribution', 'line_id', 'record_key', scale=6, output='amount_contribution', weight_scale=12) }}
)

select
    cast(line_id as varchar) as line_id,
    cast(farmer_id as varchar) as farmer_id,
    cast(statement_period as varchar) as statement_period,
    cast(component as varchar) as component,
    cast(line_type as varchar) as line_type,
    cast(usage_period as varchar) as usage_period,
    cast(source_name as varchar) as source_name,
    cast(collection_name as varchar) as collection_name,
    cast(record_id as varchar) as record_id,
    cast(base_quantity as decimal(38,9)) as base_quantity,
    cast(quantity_contribution as decimal(38,12)) as quantity,
    cast(amount_contribution as decimal(18,6)) as amount
from allocated
