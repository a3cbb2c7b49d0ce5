{#- Accounts: every account with a known version or usage; its latest plan and discount (as of
    this run's cutoff), the sources that describe it and when it was first and last updated. -#}
with versions as (
    select * from {{ ref('int_account_versions_merged') }}
    where updated_at < {{ as_of() }}
),

latest as (
    select account_id, plan, discount_pct, updated_at
    from versions
    qualify row_number() over (partition by account_id order by updated_at desc, valid_from desc, record_id desc) = 1
),

summary as (
    select
        account_id,
        string_agg(distinct source_name, ',' order by source_name) as sources,
        min(updated_at) as first_updated_at,
        count(*) as version_count
    from versions
    group by account_id
),

usage_accounts as (
    select account_id, min(usage_period) as first_usage_period, max(usage_period) as last_usage_period
    from {{ ref('int_account_usage_known') }}
    group by account_id
),

accounts as (
    select account_id from summary
    union
    select account_id from usage_accounts
)

select
    cast(a.account_id as varchar) as account_id,
    cast(l.plan as varchar) as plan,
    cast(coalesce(l.discount_pct, 0) as decimal(9,4)) as discount_pct,
    cast(s.sources as varchar) as sources,
    cast(coalesce(s.version_count, 0) as integer) as version_count,
    cast(s.first_updated_at as timestamp) as first_updated_at,
    cast(l.updated_at as timestamp) as last_updated_at,
    cast(u.first_usage_period as varchar) as first_usage_period,
    cast(u.last_usage_period as varchar) as last_usage_period
from accounts as a
left join latest as l using (account_id)
left join summary as s using (account_id)
left join usage_accounts as u using (account_id)
