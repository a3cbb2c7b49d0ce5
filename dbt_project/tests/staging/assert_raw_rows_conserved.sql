-- Shown in Dagster as an asset check of fct_rejected_records.
{{ config(meta={'dagster': {'ref': {'name': 'fct_rejected_records'}}}) }}
-- Nothing is dropped silently: per raw collection,
--   raw rows = staged rows
--   raw rows = valid rows kept (after dedup / version collapse) + rejected rows (fct_rejected_records)
--              + duplicates removed.
-- Returns the violating collections.
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

with counts as (
    {%- for src, coll, stg, kept, has_dups in collections %}
    select
        '{{ src }}' as source_name,
        '{{ coll }}' as collection_name,
        (select count(*) from {{ source(src, coll) }}) as raw_rows,
        (select count(*) from {{ ref(stg) }}) as staged_rows,
        {%- if has_dups %}
        (select count(*) from {{ ref(kept) }} where source_name = '{{ src }}' and collection_name = '{{ coll }}') as kept_rows,
        (select coalesce(sum(duplicate_count), 0) from {{ ref(kept) }} where source_name = '{{ src }}' and collection_name = '{{ coll }}') as duplicates_removed,
        {%- else %}
        (select count(*) from {{ ref(kept) }} where reject_reason is null) as kept_rows,
        0 as duplicates_removed,
        {%- endif %}
        (select count(*) from {{ ref('fct_rejected_records') }} where source_name = '{{ src }}' and collection_name = '{{ coll }}') as rejected_rows
    {{ 'union all' if not loop.last }}
    {%- endfor %}
)

select *
from counts
where raw_rows <> staged_rows
   or raw_rows <> kept_rows + rejected_rows + duplicates_removed
