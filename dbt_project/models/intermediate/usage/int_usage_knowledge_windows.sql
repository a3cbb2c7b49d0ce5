-- The (usage_period, known_period) pairs whose usage is computed, with the usage period's
-- bounds and the knowledge cutoff: usage of `usage_period` as known at `cutoff_at` (the close of
-- `known_period`, capped at as_of; 'latest' = as_of). One row per pair.
select
    k.usage_period,
    k.known_period,
    k.cutoff_at,
    p.period_start,
    p.period_end
from {{ ref('int_knowledge_cutoffs') }} as k
inner join {{ ref('int_periods') }} as p
    on p.period = k.usage_period
