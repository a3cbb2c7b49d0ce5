{#- Proof of every usage and adjustment line (SPEC §5 "Events"): the raw records behind it.
    usage line:      the records of Q as known at cutoff(Q);
    adjustment line: the records of P as known at cutoff(Q) (+) and at cutoff(Q-1) (−),
                     netted per record (records whose net is zero are left out unless nothing
                     else remains), so they add up to the change.
    base_quantity is the record's exact contribution in base units. quantity (billable units,
    12 decimals) and amount (cents) are allocated so that they sum exactly to the line's
    quantity (adjustments: quantity − previous_quantity) and amount: quantity = base /
    base_per_billable_unit rounded, the last 10^-12 residues placed on the largest records;
    amount by largest remainder in proportion to the quantity (ties: record id ascending). -#}
with lines as (
    select line_id, account_id, invoice_period, line_type, resource, usage_period,
           quantity, previous_quantity, amount
    from {{ ref('fct_invoice_lines') }}
    where line_type in ('usage', 'adjustment')
),

periods as (
    select period, {{ period_index('period_start') }} as period_index
    from {{ ref('int_periods') }}
),

line_periods as (
    select l.*, q.period_index as invoice_period_index
    from lines as l
    join periods as q on q.period = l.invoice_period
),

records as (
    select r.*, p.period_index as known_period_index
    from {{ ref('int_account_usage_records_known') }} as r
    join periods as p on p.period = r.known_period
),

signed as (
    select l.line_id, r.source_name, r.collection_name, r.record_id, r.base_quantity
    from line_periods as l
    join records as r
        on r.account_id = l.account_id
       and r.resource = l.resource
       and r.usage_period = l.usage_period
       and r.known_period_index = l.invoice_period_index
    union all
    select l.line_id, r.source_name, r.collection_name, r.record_id, -r.base_quantity
    from line_periods as l
    join records as r
        on r.account_id = l.account_id
       and r.resource = l.resource
       and r.usage_period = l.usage_period
       and r.known_period_index = l.invoice_period_index - 1
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
        l.account_id, l.invoice_period, l.line_type, l.resource, l.usage_period, l.amount as line_amount,
        cast(case when l.line_type = 'adjustment' then l.quantity - coalesce(l.previous_quantity, 0)
                  else l.quantity end as decimal(38,12)) as line_quantity,
        {{ exact_divide('k.base_quantity', 'res.base_per_billable_unit', 12) }} as quantity0
    from kept as k
    join lines as l on l.line_id = k.line_id
    join {{ ref('resources') }} as res on res.resource = l.resource
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
    from {{ allocate_largest_remainder('quantities', 'line_amount', 'quantity_contribution', 'line_id', 'record_key', scale=2, output='amount_contribution', weight_scale=12) }}
)

select
    cast(line_id as varchar) as line_id,
    cast(account_id as varchar) as account_id,
    cast(invoice_period as varchar) as invoice_period,
    cast(line_type as varchar) as line_type,
    cast(resource as varchar) as resource,
    cast(usage_period as varchar) as usage_period,
    cast(source_name as varchar) as source_name,
    cast(collection_name as varchar) as collection_name,
    cast(record_id as varchar) as record_id,
    cast(base_quantity as decimal(38,9)) as base_quantity,
    cast(quantity_contribution as decimal(38,12)) as quantity,
    cast(amount_contribution as decimal(18,2)) as amount
from allocated
