{{ config(materialized='incremental', incremental_strategy='append') }}
-- depends_on: {{ ref('int_raw_batches') }}
-- Every valid audit copy (stg_storage_network__audits with reject_reason NULL), typed, without
-- the raw document: what the audit consumers read (audits_first_known; int_storage_contracts_clipped
-- also joins every copy of a new winner), validated once. Raw is append-only, so an incremental run appends the valid rows of
-- the batches this table has not taken in. Why a table: the staging view's reject_reason
-- (16 checks over parsed columns) costs ~6 s per read of the L audits as a filter, where DuckDB
-- inlines the parsed columns into each check, and three models of a daily run read it. The
-- content does not depend on the var `period`, so it stays incremental in scoped builds.
select * exclude (reject_reason, raw_document),
       {{ batch_seq_now(scope_free=true) }} as built_through_batch_seq
from {{ ref('stg_storage_network__audits') }}
where reject_reason is null
{%- if is_incremental() %}
  and {{ in_batches("coalesce(batch_id, '')", new_batch_ids('storage_network', 'audits')) }}
{%- endif %}
