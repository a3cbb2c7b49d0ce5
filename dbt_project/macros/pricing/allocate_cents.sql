{#- Largest-remainder allocation (SPEC §4.6): split `total` over the rows of each partition in
    proportion to `weight`, at `scale` decimals, so that the parts add up exactly to the total.

    Returns a parenthesised SELECT over `from_sql` (a relation or CTE name) with every input
    column plus `output` DECIMAL(38, scale). Exact HUGEINT arithmetic throughout:
      - the total is allocated by magnitude and the sign re-applied, so a negative line splits
        as the mirror of the positive one;
      - weights are scaled to integers by 10^weight_scale; weights may have mixed signs as long
        as they do not sum to zero (shares are floored, the leftover units go to the largest
        remainders, ties broken by `order_by` ascending);
      - when the weights sum to zero (or are all NULL), the total is split equally.
    `total` must be constant within a partition. Overflow raises an error (never a silent
    wrong value): |total|·10^scale · |weight|·10^weight_scale must fit in a HUGEINT.
    (Named allocate_cents.sql: the usage worker's largest_remainder macro was not available
    when this was written.) -#}
{% macro allocate_largest_remainder(from_sql, total, weight, partition_by, order_by, scale=2, output='allocated', weight_scale=12) -%}
    {%- set parts = partition_by if partition_by is string else partition_by | join(', ') -%}
    {%- set orders = order_by if order_by is string else order_by | join(', ') -%}
    {%- set ts = 10 ** (scale | int) -%}
    {%- set ws = 10 ** (weight_scale | int) -%}
(
    with _lr_1 as (
        select
            *,
            sign({{ total }}) as _lr_sign,
            cast(round(abs({{ total }}) * {{ ts }}) as hugeint) as _lr_t,
            cast(round(coalesce({{ weight }}, 0) * {{ ws }}) as hugeint) as _lr_w0
        from {{ from_sql }}
    ),
    _lr_2 as (
        select
            *,
            sum(_lr_w0) over (partition by {{ parts }}) as _lr_wsum0,
            count(*) over (partition by {{ parts }}) as _lr_n
        from _lr_1
    ),
    _lr_3 as (
        select
            *,
            case when _lr_wsum0 = 0 then cast(1 as hugeint) else _lr_w0 * sign(_lr_wsum0) end as _lr_w,
            case when _lr_wsum0 = 0 then cast(_lr_n as hugeint) else abs(_lr_wsum0) end as _lr_wsum
        from _lr_2
    ),
    _lr_4 as (
        select *, _lr_t * _lr_w as _lr_num from _lr_3
    ),
    _lr_5 as (
        select
            *,
            case when _lr_num >= 0 then _lr_num // _lr_wsum
                 else -((-_lr_num + _lr_wsum - 1) // _lr_wsum) end as _lr_q
        from _lr_4
    ),
    _lr_6 as (
        select
            *,
            _lr_num - _lr_q * _lr_wsum as _lr_r,
            _lr_t - sum(_lr_q) over (partition by {{ parts }}) as _lr_left
        from _lr_5
    ),
    _lr_7 as (
        select
            *,
            row_number() over (partition by {{ parts }} order by _lr_r desc, {{ orders }}) as _lr_rank
        from _lr_6
    )
    select
        * exclude (_lr_sign, _lr_t, _lr_w0, _lr_wsum0, _lr_n, _lr_w, _lr_wsum, _lr_num, _lr_q, _lr_r, _lr_left, _lr_rank),
        cast(
            cast(_lr_sign * (_lr_q + case when _lr_rank <= _lr_left then 1 else 0 end) as decimal(38,0))
            * {{ exact_scale_factor(scale) }}
        as decimal(38,{{ scale }})) as {{ output }}
    from _lr_7
)
{%- endmacro %}
