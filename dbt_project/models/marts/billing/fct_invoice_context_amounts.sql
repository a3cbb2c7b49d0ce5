{{ config(materialized='incremental', incremental_strategy='append',
          on_schema_change='append_new_columns',
          pre_hook=["{{ clear_when_scoped() }}", "{{ period_delete_stale('invoice_period') }}"]) }}
{#- Context breakdown of every invoice line (SPEC §4.6). Each line's amount is split over the
    leaf contexts to the cent by largest remainder (ties: context path ascending):
      usage lines      in proportion to the contexts' quantities of Q as known at cutoff(Q);
      adjustment lines in proportion to P's usage as now known (cutoff(Q)); if P has no usage
                       left at cutoff(Q), in proportion to its usage at cutoff(Q-1);
                       the quantity column is P's usage as now known;
      discount line    in proportion to the contexts' pre-discount amounts on the invoice.
    Leaves are then rolled up to every prefix level: at depth d a context contributes to its
    first min(d, n) path segments, so every depth of an invoice adds up exactly to its total.
    Incremental per invoice_period (macros/periods_incremental.sql): an invoice's breakdown is
    as known at its cutoff_at; a final invoice's is kept while that cutoff is unchanged and
    precedes all new knowledge, the other invoice periods are recomputed. -#}
-- depends_on: {{ ref('int_raw_batches') }}
with {{ periods_written('invoice_period') }},

lines as (
    select l.line_id, l.account_id, l.invoice_period, l.line_type, l.resource, l.usage_period, l.quantity, l.previous_quantity, l.amount
    from {{ ref('fct_invoice_lines') }} as l
    semi join computed_periods as c
        on c.period = l.invoice_period
),

known as (
    select
        k.account_id,
        coalesce(k.context, '') as context,
        k.resource,
        k.usage_period,
        k.known_period,
        p.period_index as known_period_index,
        k.quantity
    from {{ ref('int_account_usage_known') }} as k
    join periods as p
        on p.period = k.known_period
    -- usage as known at the cutoffs of the computed invoices and of the periods before them
    where p.period_index in (
        select period_index from computed_periods
        union all
        select period_index - 1 from computed_periods
    )
),

line_periods as (
    select l.*, q.period_index as invoice_period_index
    from lines as l
    join periods as q
        on q.period = l.invoice_period
),

usage_weights as (
    select
        l.line_id, l.account_id, l.invoice_period, l.line_type, l.resource, l.usage_period, l.amount,
        k.context,
        cast(k.quantity as decimal(38,12)) as quantity,
        cast(k.quantity as decimal(38,12)) as weight
    from line_periods as l
    join known as k
        on k.account_id = l.account_id
       and k.resource = l.resource
       and k.usage_period = l.usage_period
       and k.known_period = l.invoice_period
    where l.line_type = 'usage'
),

adjustment_now as (
    select l.line_id, k.context, k.quantity
    from line_periods as l
    join known as k
        on k.account_id = l.account_id
       and k.resource = l.resource
       and k.usage_period = l.usage_period
       and k.known_period_index = l.invoice_period_index
    where l.line_type = 'adjustment'
),

adjustment_before as (
    select l.line_id, k.context, k.quantity
    from line_periods as l
    join known as k
        on k.account_id = l.account_id
       and k.resource = l.resource
       and k.usage_period = l.usage_period
       and k.known_period_index = l.invoice_period_index - 1
    where l.line_type = 'adjustment'
),

adjustment_contexts as (
    select
        coalesce(n.line_id, b.line_id) as line_id,
        coalesce(n.context, b.context) as context,
        cast(coalesce(n.quantity, 0) as decimal(38,12)) as quantity_now,
        cast(coalesce(b.quantity, 0) as decimal(38,12)) as quantity_before
    from adjustment_now as n
    full outer join adjustment_before as b
        on b.line_id = n.line_id
       and b.context = n.context
),

adjustment_weights as (
    select
        l.line_id, l.account_id, l.invoice_period, l.line_type, l.resource, l.usage_period, l.amount,
        c.context,
        c.quantity_now as quantity,
        case when sum(c.quantity_now) over (partition by c.line_id) <> 0
             then c.quantity_now else c.quantity_before end as weight
    from adjustment_contexts as c
    join lines as l
        on l.line_id = c.line_id
),

priced_weights as (
    select * from usage_weights
    union all
    select * from adjustment_weights
),

priced_allocated as (
    select *
    from {{ allocate_largest_remainder('priced_weights', 'amount', 'weight', 'line_id', 'context', scale=2, output='context_amount', weight_scale=12) }}
),

pre_discount as (
    select account_id, invoice_period, context, sum(context_amount) as pre_discount_amount
    from priced_allocated
    group by account_id, invoice_period, context
),

discount_weights as (
    select
        l.line_id, l.account_id, l.invoice_period, l.line_type, l.resource, l.usage_period, l.amount,
        d.context,
        cast(null as decimal(38,12)) as quantity,
        d.pre_discount_amount as weight
    from lines as l
    join pre_discount as d
        on d.account_id = l.account_id
       and d.invoice_period = l.invoice_period
    where l.line_type = 'discount'
),

discount_allocated as (
    select *
    from {{ allocate_largest_remainder('discount_weights', 'amount', 'weight', 'line_id', 'context', scale=2, output='context_amount', weight_scale=2) }}
),

leaves as (
    select line_id, account_id, invoice_period, line_type, resource, usage_period, context, quantity, context_amount
    from priced_allocated
    union all
    select line_id, account_id, invoice_period, line_type, resource, usage_period, context, quantity, context_amount
    from discount_allocated
),

leaf_paths as (
    select
        *,
        string_split(context, '/') as parts,
        len(string_split(context, '/')) as n_segments,
        max(len(string_split(context, '/'))) over (partition by account_id, invoice_period) as max_depth
    from leaves
),

expanded as (
    select *, unnest(generate_series(1, max_depth)) as depth
    from leaf_paths
)

select
    cast(line_id as varchar) as line_id,
    cast(account_id as varchar) as account_id,
    cast(invoice_period as varchar) as invoice_period,
    cast(line_type as varchar) as line_type,
    cast(resource as varchar) as resource,
    cast(usage_period as varchar) as usage_period,
    cast(depth as integer) as depth,
    cast(array_to_string(list_slice(parts, 1, least(depth, n_segments)), '/') as varchar) as context,
    bool_and(n_segments <= depth) as is_leaf,
    cast(sum(quantity) as decimal(38,12)) as quantity,
    cast(sum(context_amount) as decimal(18,2)) as amount,
    cast(c.cutoff_at as timestamp) as cutoff_at,
    -- a scoped build's breakdown of its invoice period equals the unscoped one: stamped like an
    -- unscoped build, so a later incremental run keeps it when final
    {{ batch_seq_now(scope_free=true) }} as built_through_batch_seq
from expanded
inner join computed_periods as c
    on c.period = expanded.invoice_period
group by line_id, account_id, invoice_period, line_type, resource, usage_period, depth,
         array_to_string(list_slice(parts, 1, least(depth, n_segments)), '/'), c.cutoff_at
