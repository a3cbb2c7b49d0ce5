-- Shown in Dagster as an asset check of int_account_usage_known, the first model whose numbers
-- these macros make (it reads no model: without a dependency dagster-dbt cannot attach it and
-- warns on every run).
-- depends_on: {{ ref('int_account_usage_known') }}
-- exact_divide / gb_hours / gb on known values (integer arithmetic, half away from zero).
-- Compared as text so the result scale is asserted too. Returns the failing cases.
-- (Each value is rendered to text before the UNION: DuckDB unions of DECIMAL(38,s) with
-- different scales fall back to DECIMAL(38,0).)
with cases as (
    select 'gbh 7.2e12 byte-seconds' as case_name,
           CAST({{ gb_hours('CAST(7200000000000 AS HUGEINT)') }} AS VARCHAR) as got, '2.000000000000' as expected
    union all select '1/3 scale 2', CAST({{ exact_divide('1', '3', 2) }} AS VARCHAR), '0.33'
    union all select '2/3 scale 2', CAST({{ exact_divide('2', '3', 2) }} AS VARCHAR), '0.67'
    union all select '-5/2 scale 0', CAST({{ exact_divide('-5', '2', 0) }} AS VARCHAR), '-3'
    union all select '5/2 scale 0', CAST({{ exact_divide('5', '2', 0) }} AS VARCHAR), '3'
    union all select '-1/3 scale 2', CAST({{ exact_divide('-1', '3', 2) }} AS VARCHAR), '-0.33'
    union all select '1/-8 scale 2', CAST({{ exact_divide('1', '-8', 2) }} AS VARCHAR), '-0.13'
    union all select 'decimal 2.5/2 scale 1', CAST({{ exact_divide('CAST(2.5 AS DECIMAL(38,9))', '2', 1) }} AS VARCHAR), '1.3'
    union all select 'decimal 0.98e9 bytes -> GB', CAST({{ gb('CAST(980000000 AS DECIMAL(38,9))') }} AS VARCHAR), '0.980000000000'
    union all select '336 GBh', CAST({{ gb_hours('CAST(1209600000000000 AS HUGEINT)') }} AS VARCHAR), '336.000000000000'
    union all select 'carry 0.999999 scale 2', CAST({{ exact_divide('CAST(0.999999 AS DECIMAL(38,9))', '1', 2) }} AS VARCHAR), '1.00'
    union all select 'big byte-seconds', CAST({{ gb_hours('CAST(123456789012345678901234 AS HUGEINT)') }} AS VARCHAR), '34293552503.429355250343'
    union all select 'division by zero is NULL', coalesce(CAST({{ exact_divide('1', '0', 2) }} AS VARCHAR), 'NULL'), 'NULL'
)
select * from cases where got is distinct from expected
