-- Shown in Dagster as an asset check of int_account_usage_records_known.
{{ config(meta={'dagster': {'ref': {'name': 'int_account_usage_records_known'}}}) }}
-- Record contributions sum exactly to their line, for accounts (base_quantity) and farmers
-- (storage_byte_seconds, download_bytes, upload_bytes, audits, audits_passed); no line without
-- records, no records without a line. A window's records: its state rows (is_cumulative =
-- false) and the counters first known at or before its cutoff (is_cumulative = true).
--
-- Checked: the windows written this run (rows stamped with a table's newest
-- built_through_batch_seq, or -1 after a scoped build) in any of the tables behind the lines and
-- the records: the two usage_known tables, the two counter tables (one header row per window
-- written, so a window that has no counters, or no rows left at all, counts too; they rewrite a
-- superset of the state tables' windows, the moved ones included) and the two state tables the
-- records views project (their recomputed entities and new windows). In a full build that is
-- every window. Why this is sound: these models rewrite (or carry) whole windows, and the windows
-- a run rewrites are, per usage period, all those from some cutoff on (cutoff after the new
-- knowledge, moved as_of windows, new windows). A window W not written this run therefore has all
-- its rows and all earlier windows' rows as they were when W was last checked. A written window W
-- is checked against its base B, the latest unwritten window of its usage period before it: the
-- counters first known at or before B's cutoff sum to B's counter lines (accounts: the counter
-- resources; farmers: download, upload, audits, which B's check established), so W = its state
-- rows + B's counter lines + the counter rows of the written windows up to W. Without a base
-- (full build, new period) every counter row is summed.
{%- set state_resources = "('network.storage', 'storage.bytes_used', 'storage.files')" %}
{%- set tables = ['int_account_usage_known', 'int_farmer_usage_known',
                  'int_account_usage_counter_records_known', 'int_farmer_usage_counter_records_known',
                  'int_storage_contracts_clipped', 'int_gauge_intervals_capped'] %}

with windows as (
    select usage_period, known_period, cutoff_at from {{ ref('int_usage_knowledge_windows') }}
),

written as (
    {%- set relations = [] %}
    {%- for t in tables %}{% do relations.append((ref(t), false)) %}{% endfor %}
    {{ windows_written_this_run(relations) }}
),

unwritten as (
    select * from windows
    anti join written using (usage_period, known_period)
),

checked as (
    select
        w.usage_period,
        w.known_period,
        w.cutoff_at,
        coalesce(max(b.cutoff_at), TIMESTAMP '-infinity') as base_cutoff_at,
        arg_max(b.known_period, b.cutoff_at) as base_known_period
    from windows as w
    semi join written as x
        on x.usage_period = w.usage_period
        and x.known_period = w.known_period
    left join unwritten as b
        on b.usage_period = w.usage_period
        and b.cutoff_at < w.cutoff_at
    group by w.usage_period, w.known_period, w.cutoff_at
),

account_parts as (
    select r.account_id, r.context, r.resource, r.usage_period, r.known_period, r.cutoff_at,
           r.is_cumulative, sum(r.base_quantity) as total
    from {{ ref('int_account_usage_records_known') }} as r
    semi join written as x
        on x.usage_period = r.usage_period
        and x.known_period = r.known_period
    group by all
),

account_records as (
    select account_id, context, resource, usage_period, known_period, sum(total) as total
    from (
        select p.account_id, p.context, p.resource, c.usage_period, c.known_period, p.total
        from account_parts as p
        inner join checked as c
            on c.usage_period = p.usage_period
            and (c.known_period = p.known_period or (p.is_cumulative and p.cutoff_at <= c.cutoff_at))
        union all
        -- the base's counter lines
        select l.account_id, l.context, l.resource, c.usage_period, c.known_period, l.base_quantity
        from {{ ref('int_account_usage_known') }} as l
        inner join checked as c
            on c.usage_period = l.usage_period
            and c.base_known_period = l.known_period
        where l.resource not in {{ state_resources }}
    )
    group by all
),

account_lines as (
    select l.*
    from {{ ref('int_account_usage_known') }} as l
    semi join written as x
        on x.usage_period = l.usage_period
        and x.known_period = l.known_period
),

account_diff as (
    select 'account' as side, coalesce(l.account_id, r.account_id) as id,
           coalesce(l.resource, r.resource) as what,
           coalesce(l.usage_period, r.usage_period) as usage_period,
           coalesce(l.known_period, r.known_period) as known_period,
           CAST(l.base_quantity AS VARCHAR) as line_value, CAST(r.total AS VARCHAR) as records_value
    from account_lines as l
    full outer join account_records as r
        using (account_id, context, resource, usage_period, known_period)
    where l.base_quantity is distinct from r.total
),

farmer_parts as (
    select
        r.farmer_id, r.usage_period, r.known_period, r.cutoff_at, r.is_cumulative,
        coalesce(sum(r.base_quantity) filter (where r.component = 'storage'), 0) as storage_byte_seconds,
        coalesce(sum(r.base_quantity) filter (where r.component = 'download'), 0) as download_bytes,
        coalesce(sum(r.base_quantity) filter (where r.component = 'upload'), 0) as upload_bytes,
        count(*) filter (where r.component = 'audit') as audits,
        count(*) filter (where r.component = 'audit' and r.audit_passed) as audits_passed
    from {{ ref('int_farmer_usage_records_known') }} as r
    semi join written as x
        on x.usage_period = r.usage_period
        and x.known_period = r.known_period
    group by all
),

base_storage_rows as (
    select r.farmer_id, r.usage_period, r.known_period, count(*) as row_count
    from {{ ref('int_farmer_usage_records_known') }} as r
    semi join checked as c
        on c.usage_period = r.usage_period
        and c.base_known_period = r.known_period
    where not r.is_cumulative
    group by all
),

farmer_records as (
    select
        farmer_id, usage_period, known_period,
        sum(storage_byte_seconds) as storage_byte_seconds,
        sum(download_bytes) as download_bytes,
        sum(upload_bytes) as upload_bytes,
        sum(audits) as audits,
        sum(audits_passed) as audits_passed
    from (
        select
            p.farmer_id, c.usage_period, c.known_period,
            p.storage_byte_seconds, p.download_bytes, p.upload_bytes, p.audits, p.audits_passed
        from farmer_parts as p
        inner join checked as c
            on c.usage_period = p.usage_period
            and (c.known_period = p.known_period or (p.is_cumulative and p.cutoff_at <= c.cutoff_at))
        union all
        -- the base's counters (farmers of the base with counter records: more records than
        -- contract rows)
        select
            l.farmer_id, c.usage_period, c.known_period,
            0, l.download_bytes, l.upload_bytes, l.audits, l.audits_passed
        from {{ ref('int_farmer_usage_known') }} as l
        inner join checked as c
            on c.usage_period = l.usage_period
            and c.base_known_period = l.known_period
        left join base_storage_rows as s
            on s.farmer_id = l.farmer_id
            and s.usage_period = l.usage_period
            and s.known_period = l.known_period
        where l.record_count > coalesce(s.row_count, 0)
    )
    group by all
),

farmer_lines as (
    select l.*
    from {{ ref('int_farmer_usage_known') }} as l
    semi join written as x
        on x.usage_period = l.usage_period
        and x.known_period = l.known_period
),

farmer_diff as (
    select 'farmer', coalesce(l.farmer_id, r.farmer_id), 'all components',
           coalesce(l.usage_period, r.usage_period), coalesce(l.known_period, r.known_period),
           CAST(l.storage_byte_seconds AS VARCHAR), CAST(r.storage_byte_seconds AS VARCHAR)
    from farmer_lines as l
    full outer join farmer_records as r
        using (farmer_id, usage_period, known_period)
    where l.storage_byte_seconds is distinct from r.storage_byte_seconds
       or l.download_bytes is distinct from r.download_bytes
       or l.upload_bytes is distinct from r.upload_bytes
       or l.audits is distinct from r.audits
       or l.audits_passed is distinct from r.audits_passed
)

select * from account_diff
union all
select * from farmer_diff
