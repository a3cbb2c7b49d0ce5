{#- The records behind usage / adjustment lines and their exact share of each line (SPEC §5
    "Events"), shared by fct_invoice_line_records and fct_payout_line_records.

    lines: relation with one row per line: line_key (BIGINT, unique), the match columns,
      usage_period, known_period (the invoice / statement period Q), previous_known_period
      (adjustment lines: Q-1; usage lines: NULL), line_quantity (adjustments: the change),
      line_amount, base_per_billable_unit.
    records: a *_usage_records_known model (match columns, usage_period, known_period,
      is_cumulative, source_name, collection_name, record_id, base_quantity).
    match_columns: the columns tying a record to a line besides usage_period, e.g.
      ['account_id', 'resource'].

    Which records: a usage line holds its usage period's records as known at cutoff(Q); an
    adjustment line the change between cutoff(Q-1) and cutoff(Q), netted per record. A counter
    (is_cumulative) is known from its first window on, so it changes exactly one line: the one
    whose known_period is its first window (no netting, no repetition per window). Contracts
    and gauges are netted: + at known_period, − at previous_known_period. Records whose net is
    zero are left out, unless the whole line nets to zero: then every record behind it is
    listed with 0 (the counters known at cutoff(Q) included), and the amount is split equally.

    Allocation (unchanged): quantity = base / base_per_billable_unit rounded to 12 decimals,
    the line's residual 10^-12 units spread from the largest records (|base| desc, then record
    id); amount by largest remainder in proportion to quantity at amount_scale decimals (ties:
    record id ascending; source and collection are constant within a line). The quantities of a
    line add up to line_quantity exactly, so the weight total is line_quantity x 10^12 and
    needs no pass of its own. Two sorts per line in all, on the integer line_key.

    Returns a parenthesised SELECT: line_key, source_name, collection_name, record_id,
    base_quantity (net), quantity DECIMAL(38,12), amount DECIMAL(38, amount_scale). -#}
{% macro line_record_proofs(lines, records, match_columns, amount_scale) -%}
    {%- set ts = 10 ** (amount_scale | int) -%}
    {%- set match -%}
        {%- for c in match_columns %}r.{{ c }} = l.{{ c }} and {% endfor -%}
        r.usage_period = l.usage_period
    {%- endset -%}
    {#- source and collection as ENUMs of the project's sources (one byte each) through the
        netting, the sorts and their spills; a name outside them fails the cast, loudly -#}
    {%- set sources = graph.sources.values() if execute else [] -%}
    {%- set source_enum = "ENUM('" ~ (sources | map(attribute='source_name') | unique | sort | join("', '")) ~ "')" -%}
    {%- set collection_enum = "ENUM('" ~ (sources | map(attribute='name') | unique | sort | join("', '")) ~ "')" -%}
    {%- set names -%}
        CAST(r.source_name AS {{ source_enum }}) as source_name, CAST(r.collection_name AS {{ collection_enum }}) as collection_name
    {%- endset %}
(
    with _counters as (
        -- each counter record lands in the one line of its first window
        select l.line_key, {{ names }}, r.record_id, r.base_quantity
        from {{ records }} as r
        inner join {{ lines }} as l
            on {{ match }} and r.known_period = l.known_period
        where r.is_cumulative
    ),

    _states as (
        select line_key, source_name, collection_name, record_id, sum(base_quantity) as base_quantity
        from (
            select l.line_key, {{ names }}, r.record_id, r.base_quantity
            from {{ records }} as r
            inner join {{ lines }} as l
                on {{ match }} and r.known_period = l.known_period
            where not r.is_cumulative
            union all
            select l.line_key, {{ names }}, r.record_id, -r.base_quantity
            from {{ records }} as r
            inner join {{ lines }} as l
                on {{ match }} and r.known_period = l.previous_known_period
            where not r.is_cumulative
        )
        group by line_key, source_name, collection_name, record_id
    ),

    _changes as materialized (
        select * from _counters
        union all
        select * from _states
    ),

    _unchanged_lines as materialized (
        select *
        from {{ lines }}
        where line_key not in (select line_key from _changes where base_quantity <> 0)
    ),

    _kept as (
        select * from _changes where base_quantity <> 0
        union all
        select * from _changes where line_key in (select line_key from _unchanged_lines)
        union all
        -- lines that net to zero also list the counters known before their window ('latest'
        -- sorts after every period)
        select l.line_key, {{ names }}, r.record_id, CAST(0 AS DECIMAL(38,9))
        from {{ records }} as r
        inner join _unchanged_lines as l
            on {{ match }} and r.known_period < l.known_period
        where r.is_cumulative
    ),

    _line_units as (
        -- per line, in integers: the quantity in 10^-12 units (the weight total of the amount
        -- split), the amount in 10^-scale units and its sign, the base units per billable unit
        select
            line_key,
            {{ scaled_hugeint('coalesce(line_quantity, 0)', 12) }} as _quantity_units,
            CAST(round(abs(line_amount) * {{ ts }}) AS HUGEINT) as _t,
            sign(line_amount) as _sign,
            CAST(base_per_billable_unit AS HUGEINT) as _bpu
        from {{ lines }}
    ),

    _converted as (
        -- the record's quantity in 10^-12 units rounded half away from zero: base / bpu x 10^12
        -- = (base x 10^9) x 1000 / bpu, bpu an integer: the same value as
        -- exact_divide(base, bpu, 12), with one HUGEINT division
        select
            k.line_key, k.source_name, k.collection_name, k.record_id, k.base_quantity,
            case when _n >= 0 then (_n * 2000 + u._bpu) // (2 * u._bpu)
                 else -((-_n * 2000 + u._bpu) // (2 * u._bpu)) end as _q0
        from (select *, CAST(base_quantity * 1000000000 AS HUGEINT) as _n from _kept) as k
        inner join _line_units as u
            on u.line_key = k.line_key
    ),

    -- The two sorts below carry only what they order and what is per record: the per-line
    -- integers (_line_units) are joined to their results by line_key, which keeps the sorted
    -- rows narrow (they spill at L: 60 M invoice records).
    _sized as (
        -- one sort: the size rank and, over the same window, the line's count and sum.
        -- (source_name and collection_name are constant within a line: record_id orders.)
        select
            *,
            row_number() over (
                partition by line_key order by abs(base_quantity) desc, record_id
            ) as _size_rank,
            count(*) over (
                partition by line_key order by abs(base_quantity) desc, record_id
                rows between unbounded preceding and unbounded following
            ) as _n_records,
            sum(_q0) over (
                partition by line_key order by abs(base_quantity) desc, record_id
                rows between unbounded preceding and unbounded following
            ) as _q0_sum
        from _converted
    ),

    _quantities as (
        -- the residual units go one by one to the largest records
        select
            line_key, source_name, collection_name, record_id, base_quantity, _n_records,
            _quantity_units, _t,
            _q0 + case when _residual = 0 then 0
                       else sign(_residual) * (abs(_residual) // _n_records
                           + case when _size_rank <= abs(_residual) % _n_records then 1 else 0 end)
                  end as _units
        from (
            select
                s.line_key, s.source_name, s.collection_name, s.record_id, s.base_quantity, s._q0,
                s._size_rank, s._n_records, u._quantity_units, u._t,
                u._quantity_units - s._q0_sum as _residual
            from _sized as s
            inner join _line_units as u
                on u.line_key = s.line_key
        )
    ),

    _shares as (
        -- amount units t over weights w = the quantity units (they sum to the line's quantity
        -- units; equal weights when that is zero): floor share _q, remainder _num - _q x _wsum
        select
            line_key, source_name, collection_name, record_id, base_quantity, _units, _q,
            _num - _q * _wsum as _remainder
        from (
            select
                *,
                case when _num >= 0 then _num // _wsum
                     else -((-_num + _wsum - 1) // _wsum) end as _q
            from (
                select
                    *,
                    _t * case when _quantity_units = 0 then CAST(1 AS HUGEINT)
                              else _units * sign(_quantity_units) end as _num,
                    case when _quantity_units = 0 then CAST(_n_records AS HUGEINT)
                         else abs(_quantity_units) end as _wsum
                from _quantities
            )
        )
    ),

    _ranked as (
        select
            *,
            row_number() over (
                partition by line_key order by _remainder desc, record_id
            ) as _rank,
            sum(_q) over (
                partition by line_key order by _remainder desc, record_id
                rows between unbounded preceding and unbounded following
            ) as _q_sum
        from _shares
    )

    select
        r.line_key,
        CAST(r.source_name AS VARCHAR) as source_name,
        CAST(r.collection_name AS VARCHAR) as collection_name,
        r.record_id,
        r.base_quantity,
        CAST(CAST(r._units AS DECIMAL(38,0)) * 0.000000000001 AS DECIMAL(38,12)) as quantity,
        CAST(
            CAST(u._sign * (r._q + case when r._rank <= u._t - r._q_sum then 1 else 0 end) AS DECIMAL(38,0))
            * {{ exact_scale_factor(amount_scale) }}
        AS DECIMAL(38,{{ amount_scale }})) as amount
    from _ranked as r
    inner join _line_units as u
        on u.line_key = r.line_key
)
{%- endmacro %}
