{#- Farmers: the latest version known as of this run's cutoff, and whether it is disqualified. -#}
with versions as (
    select * from {{ ref('int_farmer_versions_ordered') }}
    where updated_at < {{ as_of() }}
),

latest as (
    select *
    from versions
    qualify row_number() over (partition by farmer_id order by updated_at desc, valid_from desc, record_id desc) = 1
),

counts as (
    select farmer_id, count(*) as version_count, min(updated_at) as first_updated_at
    from versions
    group by farmer_id
)

select
    cast(l.farmer_id as varchar) as farmer_id,
    cast(l.joined_at as timestamp) as joined_at,
    cast(l.disqualified_at as timestamp) as disqualified_at,
    cast(case when l.disqualified_at is not null and l.disqualified_at < {{ as_of() }}
              then 'disqualified' else 'ok' end as varchar) as status,
    cast(l.payout_address as varchar) as payout_address,
    cast(c.version_count as integer) as version_count,
    cast(c.first_updated_at as timestamp) as first_updated_at,
    cast(l.updated_at as timestamp) as last_updated_at
from latest as l
join counts as c using (farmer_id)
