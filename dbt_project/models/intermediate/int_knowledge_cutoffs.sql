-- For each usage period P: the knowledge cutoffs at which P's usage is evaluated.
-- known_period Q runs from P to P + max_adjustment_periods among existing periods, with
-- cutoff_at = least(close(Q), as_of); plus one row known_period = 'latest' with cutoff_at = as_of
-- for the periods whose adjustment window has closed before as_of (close(P + max) < as_of): the
-- knowledge the late-not-billed mart compares with P's last adjustment. Before that, P's latest
-- periodic window is already cut at as_of, so a 'latest' window would hold the same rows again
-- (and be carried to the new as_of every day: at L half the rows of the as_of windows).
-- With the var `period` set (macros/scope.sql), only the pairs the invoice / statement of that
-- period needs.
{%- set max_adj = var('max_adjustment_periods') | int %}
{%- set scoped = scope_period() %}

with periods as (
    select period, period_start, cutoff_at from {{ ref('int_periods') }}
)

select
    p.period as usage_period,
    q.period as known_period,
    q.cutoff_at,
    CAST(date_diff('month', p.period_start, q.period_start) AS INTEGER) as adjustment_offset
from periods as p
join periods as q
    on q.period_start >= p.period_start
   and q.period_start <= p.period_start + to_months(CAST({{ max_adj }} AS INTEGER))
{%- if scoped %}
where (p.period_start = {{ scope_period_start() }} and q.period_start = {{ scope_period_start() }})
   or (p.period_start >= {{ scope_period_start() }} - to_months({{ max_adj }})
       and p.period_start < {{ scope_period_start() }}
       and q.period_start in ({{ scope_period_start() }}, {{ scope_period_start() }} - to_months(1)))
{%- endif %}

union all

select
    p.period as usage_period,
    'latest' as known_period,
    {{ as_of() }} as cutoff_at,
    CAST(NULL AS INTEGER) as adjustment_offset
from periods as p
semi join periods as q
    on q.period_start = p.period_start + to_months(CAST({{ max_adj }} AS INTEGER))
   and q.cutoff_at < {{ as_of() }}
{%- if scoped %}
where p.period_start = {{ scope_period_start() }} - to_months({{ max_adj }})
{%- endif %}
