-- Shown in Dagster as an asset check of fct_invoice_context_amounts, whose cents this macro
-- splits (it reads no model: without a dependency dagster-dbt cannot attach it and warns on
-- every run).
-- depends_on: {{ ref('fct_invoice_context_amounts') }}
-- largest_remainder macro on fixed cases; returns rows where the allocation differs from the
-- expected one.
-- p1: SPEC example 4 jobs line $0.23 over two equal contexts -> alice 0.12, bob 0.11 (tie: path asc)
-- p2: $2.40 in proportion 100:50 -> 1.60 / 0.80
-- p3: negative total -0.05 over 1:1:1 -> -0.02, -0.02, -0.01
-- p4: all-zero weights: 0.03 over 3 rows -> 0.01 each
-- p5: huge weights (units x weight > HUGEINT): 1 over weights 1e25 : 2e25 -> 0.33 / 0.67
with cases(p, k, total, weight, expected) as (
    values
        ('p1', 'lab/alice', 0.23, 617.0, 0.12),
        ('p1', 'lab/bob', 0.23, 617.0, 0.11),
        ('p2', 'lab/alice', 2.40, 100.0, 1.60),
        ('p2', 'lab/bob', 2.40, 50.0, 0.80),
        ('p3', 'a', -0.05, 1.0, -0.02),
        ('p3', 'b', -0.05, 1.0, -0.02),
        ('p3', 'c', -0.05, 1.0, -0.01),
        ('p4', 'a', 0.03, 0.0, 0.01),
        ('p4', 'b', 0.03, 0.0, 0.01),
        ('p4', 'c', 0.03, 0.0, 0.01),
        ('p5', 'a', 1.00, 10000000000000000000000000.0, 0.33),
        ('p5', 'b', 1.00, 20000000000000000000000000.0, 0.67)
),

typed as (
    select p, k, CAST(total AS DECIMAL(38,2)) as total, CAST(weight AS DECIMAL(38,9)) as weight,
           CAST(expected AS DECIMAL(38,2)) as expected
    from cases
),

allocated as (
    {{ largest_remainder('total', 'weight', 'p', 'k asc', 2, relation='typed', out_col='amount', weight_scale=9) }}
)

select * from allocated where amount is distinct from expected
union all
select p, null, max(total), null, null, sum(amount)
from allocated group by p having sum(amount) <> max(total)
