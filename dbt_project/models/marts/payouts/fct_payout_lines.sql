{#- Payout statement lines (SPEC §4.7, §4.2): per farmer and statement period Q, one usage line
    per component (storage GBh, download GB, upload GB) of Q as known at cutoff(Q), and an
    adjustment line per component for each earlier P in the window:
    amount(P at cutoff(Q)) − amount(P at cutoff(Q−1)), non-zero only.
    With the var `period` set (macros/scope.sql): only statement period Q. -#}
{%- set max_adj = var('max_adjustment_periods', 3) | int -%}
{%- set scoped = scope_period() -%}
with rated as (
    select * from {{ ref('int_farmer_lines_rated') }}
    where known_period_index is not null
),

periods as (
    select period, {{ period_index('period_start') }} as period_index
    from {{ ref('int_periods') }}
),

usage_lines as (
    select
        farmer_id, usage_period as statement_period, component, 'usage' as line_type, usage_period,
        quantity, rate, amount, cast(null as decimal(38,12)) as previous_quantity,
        cast(null as decimal(18,6)) as previous_amount, amount as line_amount
    from rated
    where known_period_index = usage_period_index
),

rerated as (
    select r.*, r.known_period as statement_period
    from rated as r
    where r.known_period_index - r.usage_period_index between 1 and {{ max_adj }}
),

previous as (
    select r.*, q.period as statement_period
    from rated as r
    join periods as q on q.period_index = r.known_period_index + 1
    where r.known_period_index - r.usage_period_index between 0 and {{ max_adj }} - 1
),

adjustment_lines as (
    select
        coalesce(c.farmer_id, p.farmer_id) as farmer_id,
        coalesce(c.statement_period, p.statement_period) as statement_period,
        coalesce(c.component, p.component) as component,
        'adjustment' as line_type,
        coalesce(c.usage_period, p.usage_period) as usage_period,
        coalesce(c.quantity, 0) as quantity,
        coalesce(c.rate, p.rate) as rate,
        coalesce(c.amount, 0) as amount,
        coalesce(p.quantity, 0) as previous_quantity,
        coalesce(p.amount, 0) as previous_amount,
        coalesce(c.amount, 0) - coalesce(p.amount, 0) as line_amount
    from rerated as c
    full outer join previous as p
        on p.farmer_id = c.farmer_id
       and p.component = c.component
       and p.usage_period = c.usage_period
       and p.statement_period = c.statement_period
),

lines as (
    select * from usage_lines
    union all
    select * from adjustment_lines where line_amount <> 0
)
{%- if scoped %},

scoped_lines as (
    select * from lines where statement_period = '{{ scoped }}'
)
{%- endif %}

select
    cast({{ stable_id(['farmer_id', 'statement_period', 'line_type', 'component', 'usage_period']) }} as varchar) as line_id,
    cast(farmer_id as varchar) as farmer_id,
    cast(statement_period as varchar) as statement_period,
    cast(component as varchar) as component,
    cast(line_type as varchar) as line_type,
    cast(usage_period as varchar) as usage_period,
    cast(case component when 'storage' then 'GBh' else 'GB' end as varchar) as unit,
    cast(quantity as decimal(38,12)) as quantity,
    cast(rate as decimal(18,10)) as rate,
    cast(amount as decimal(18,6)) as rated_amount,
    cast(previous_quantity as decimal(38,12)) as previous_quantity,
    cast(previous_amount as decimal(18,6)) as previous_amount,
    cast(line_amount as decimal(18,6)) as amount
from {{ 'scoped_lines' if scoped else 'lines' }}
