{#- Pricing helpers (SPEC §4.6). -#}

{#- Month index of a date/timestamp (year*12 + month): period arithmetic without strings. -#}
{% macro period_index(ts) -%}
    (year({{ ts }}) * 12 + month({{ ts }}))
{%- endmacro %}

{#- Contribution of one graduated tier [tier_start, tier_end) (tier_end NULL = open) to the
    price of `quantity` billable units: exact DECIMAL(38,20); sum it over the tiers. -#}
{% macro tier_amount(quantity, tier_start, tier_end, unit_price) -%}
    cast(
        greatest(
            cast(0 as decimal(38,12)),
            cast(least({{ quantity }}, coalesce({{ tier_end }}, {{ quantity }})) - {{ tier_start }} as decimal(38,12))
        ) * cast({{ unit_price }} as decimal(18,8))
    as decimal(38,20))
{%- endmacro %}

{#- SQL: per period of `periods` (a relation or CTE with period, period_start), the graduated
    tiers of the price list valid at the period's start (SPEC §4.6: versioned per resource). -#}
{% macro price_tiers_at_period_start(periods) -%}
    select p.period, t.resource, t.tier_start, t.tier_end, t.unit_price
    from {{ periods }} as p
    join {{ ref('price_tiers') }} as t
        on t.valid_from <= cast(p.period_start as date)
    qualify t.valid_from = max(t.valid_from) over (partition by p.period, t.resource)
{%- endmacro %}

{#- Round money half away from zero (DuckDB round() on DECIMAL) to `scale` decimals. -#}
{% macro round_money(amount, scale=2, width=18) -%}
    cast(round({{ amount }}, {{ scale }}) as decimal({{ width }},{{ scale }}))
{%- endmacro %}

{#- x * pct / 100 without dividing decimals: pct is a percentage (10 means 10 %). -#}
{% macro apply_pct(amount, pct) -%}
    ({{ amount }} * cast({{ pct }} as decimal(9,4)) * cast(0.01 as decimal(3,2)))
{%- endmacro %}

{#- Largest m such that joined_at + m months <= period_end (day clamped to the month's length;
    SPEC §4.7). Negative ages (joined after the end) are reported as 0. -#}
{% macro age_in_months(joined_at, period_end) -%}
    greatest(0,
        ({{ period_index(period_end) }} - {{ period_index(joined_at) }})
        - case when {{ joined_at }} + to_months(cast({{ period_index(period_end) }} - {{ period_index(joined_at) }} as integer)) > {{ period_end }}
               then 1 else 0 end
    )
{%- endmacro %}

{#- Stable id from key columns. -#}
{% macro stable_id(columns) -%}
    md5(concat_ws('|', {% for c in columns %}coalesce(cast({{ c }} as varchar), ''){{ ', ' if not loop.last }}{% endfor %}))
{%- endmacro %}
