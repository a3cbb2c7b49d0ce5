{#- Largest-remainder (Hamilton) allocation of a total over the rows of each partition, in
    proportion to a weight, to `scale` decimals; the allocated amounts of a partition sum EXACTLY
    to its total.

    Usage (the macro renders a complete SELECT over `relation`, so wrap it in parentheses):

        select * from (
            {{ largest_remainder('line_amount', 'context_quantity', 'invoice_id, line_id',
                                 'context asc', 2, relation='contexts', out_col='context_amount') }}
        ) as allocated

    Arguments
    - total_col: the partition's total (same value on every row of the partition), any exact
      numeric with at most `scale` decimals (more are truncated). May be negative: the absolute
      value is allocated and the sign applied to every share.
    - weight_col: non-negative exact weight (at most `weight_scale` decimals, default 12).
      If all weights of a partition are 0 (or NULL), the rows weigh equally.
    - partition_by: SQL list of partition columns.
    - order_by: SQL ORDER BY list breaking ties between equal remainders (e.g. 'context asc').
    - scale: decimals of the allocated amounts (2 for cents, 12 for quantities).
    - relation: the relation (ref, CTE name) holding the rows.
    - out_col: name of the added DECIMAL(38, scale) column (default `allocated`).

    Method: units = |total| x 10^scale (HUGEINT); each row gets floor(units x w / W); the
    remaining units go one each to the rows with the largest remainders (ties: order_by). All in
    HUGEINT integer arithmetic. Only if units x W would not fit a HUGEINT are the weights first
    divided by a power of ten (exact to >= 18 significant digits of the weight total); the sum
    invariant holds regardless. -#}
{% macro largest_remainder(total_col, weight_col, partition_by, order_by, scale, relation, out_col='allocated', weight_scale=12) -%}
    {%- set s = 10 ** (scale | int) -%}
    {%- set ws = 10 ** (weight_scale | int) -%}
    {%- set tmp = ['_lr_units', '_lr_sign', '_lr_w', '_lr_wsum', '_lr_w2', '_lr_w2sum', '_lr_floor', '_lr_rem', '_lr_short', '_lr_rank'] -%}
select
    * exclude ({{ tmp | join(', ') }}),
    CAST(
        CAST(_lr_sign * (_lr_floor + case when _lr_rank <= _lr_short then 1 else 0 end) AS DECIMAL(38,0))
        * {{ exact_scale_factor(scale) }}
    AS DECIMAL(38,{{ scale }})) as {{ out_col }}
from (
    select
        *,
        _lr_units - sum(_lr_floor) over (partition by {{ partition_by }}) as _lr_short,
        row_number() over (partition by {{ partition_by }} order by _lr_rem desc, {{ order_by }}) as _lr_rank
    from (
        select
            *,
            (_lr_units * _lr_w2) // nullif(_lr_w2sum, 0) as _lr_floor,
            (_lr_units * _lr_w2) % nullif(_lr_w2sum, 0) as _lr_rem
        from (
            select
                *,
                sum(_lr_w2) over (partition by {{ partition_by }}) as _lr_w2sum
            from (
                select
                    *,
                    case
                        when _lr_wsum = 0 then CAST(1 AS HUGEINT)
                        else _lr_w // CAST('1' || repeat('0', CAST(greatest(0,
                                length(CAST(_lr_units AS VARCHAR)) + length(CAST(_lr_wsum AS VARCHAR)) - 37) AS BIGINT)) AS HUGEINT)
                    end as _lr_w2
                from (
                    select
                        *,
                        sum(_lr_w) over (partition by {{ partition_by }}) as _lr_wsum
                    from (
                        select
                            *,
                            abs(CAST(trunc({{ total_col }}) AS HUGEINT) * {{ s }}
                                + CAST(trunc((({{ total_col }}) - trunc({{ total_col }})) * {{ s }}) AS HUGEINT)) as _lr_units,
                            case when ({{ total_col }}) < 0 then -1 else 1 end as _lr_sign,
                            coalesce(CAST(trunc({{ weight_col }}) AS HUGEINT) * {{ ws }}
                                + CAST(trunc((({{ weight_col }}) - trunc({{ weight_col }})) * {{ ws }}) AS HUGEINT), 0) as _lr_w
                        from {{ relation }}
                    )
                )
            )
        )
    )
)
{%- endmacro %}
