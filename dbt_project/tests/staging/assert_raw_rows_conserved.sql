-- Shown in Dagster as an asset check of fct_rejected_records.
{{ config(meta={'dagster': {'ref': {'name': 'fct_rejected_records'}}}) }}
-- Nothing is dropped silently: per raw collection,
--   raw rows = staged rows
--   raw rows = valid rows kept (after dedup / version collapse) + rejected rows (fct_rejected_records)
--              + duplicates removed.
-- Returns the violating collections.
-- Audits have no table of valid rows: counting them parses every raw audit, so the second
-- identity is checked on the raw batches fct_rejected_records took in with its latest write
-- (and any it has not taken in yet; every batch in a full build). Earlier batches were checked
-- when they were taken in: raw batches are append-once and fct_rejected_records only appends.
{%- set collections = [
    ('storage_network', 'contracts', 'stg_storage_network__contracts', 'int_contract_versions_ordered', true),
    ('storage_network', 'transfer_reports', 'stg_storage_network__transfer_reports', 'int_transfer_reports_deduplicated', true),
    ('storage_network', 'audits', 'stg_storage_network__audits', 'stg_storage_network__audits', false),
    ('storage_network', 'farmers', 'stg_storage_network__farmers', 'int_farmer_versions_ordered', true),
    ('storage_network', 'renters', 'stg_storage_network__renters', 'int_account_versions_merged', true),
    ('compute', 'usage_events', 'stg_compute__usage_events', 'int_usage_events_deduplicated', true),
    ('compute', 'accounts', 'stg_compute__accounts', 'int_account_versions_merged', true),
    ('storage', 'usage_samples', 'stg_storage__usage_samples', 'int_usage_samples_deduplicated', true),
    ('storage', 'accounts', 'stg_storage__accounts', 'int_account_versions_merged', true),
] %}

{#- Audits: the batches taken in by fct_rejected_records' latest write or not yet, i.e. those
    after the stamp of its previous write (listed at execution time, so the filter reaches the raw scan). -#}
{%- set latest_batches_sql -%}
    with stamps as (select distinct built_through_batch_seq as seq from {{ ref('fct_rejected_records') }})
    select batch_id from {{ ref('int_raw_batches') }}
    where source_name = 'storage_network' and collection_name = 'audits'
      and batch_seq > (select coalesce(max(seq), -1) from stamps where seq < (select max(seq) from stamps))
    order by batch_id
{%- endset -%}
{%- set audit_batches = run_query(latest_batches_sql).columns[0].values() | list if execute else [] %}

with counts as (
    {%- for src, coll, stg, kept, has_dups in collections %}
    select
        '{{ src }}' as source_name,
        '{{ coll }}' as collection_name,
        (select count(*) from {{ source(src, coll) }}) as raw_rows,
        (select count(*) from {{ ref(stg) }}) as staged_rows,
        {%- if has_dups %}
        (select count(*) from {{ source(src, coll) }}) as accounted_raw_rows,
        (select count(*) from {{ ref(kept) }} where source_name = '{{ src }}' and collection_name = '{{ coll }}') as kept_rows,
        (select coalesce(sum(duplicate_count), 0) from {{ ref(kept) }} where source_name = '{{ src }}' and collection_name = '{{ coll }}') as duplicates_removed,
        (select count(*) from {{ ref('fct_rejected_records') }} where source_name = '{{ src }}' and collection_name = '{{ coll }}') as rejected_rows
        {%- else %}
        (select count(*) from {{ source(src, coll) }} where {{ in_batches("coalesce(_batch_id, '')", audit_batches) }}) as accounted_raw_rows,
        (select count(*) from {{ ref(kept) }} where reject_reason is null and {{ in_batches("coalesce(batch_id, '')", audit_batches) }}) as kept_rows,
        0 as duplicates_removed,
        (select count(*) from {{ ref('fct_rejected_records') }}
         where source_name = '{{ src }}' and collection_name = '{{ coll }}' and {{ in_batches("coalesce(batch_id, '')", audit_batches) }}) as rejected_rows
        {%- endif %}
    {{ 'union all' if not loop.last }}
    {%- endfor %}
)

select *
from counts
where raw_rows <> staged_rows
   or accounted_raw_rows <> kept_rows + rejected_rows + duplicates_removed
