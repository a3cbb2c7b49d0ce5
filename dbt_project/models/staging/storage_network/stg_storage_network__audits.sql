-- Every raw audit, typed, with its reject reason (NULL = valid). Audits are self-contained:
-- they are not rejected for their contract_id.
{%- set fields = ['_id', 'contract_id', 'farmer_id', 'audited_at', 'passed', 'recorded_at'] %}
{%- set spec = {
    'required': ['_id', 'contract_id', 'farmer_id', 'audited_at', 'passed', 'recorded_at'],
    'timestamps': ['audited_at', 'recorded_at'],
    'booleans': ['passed'],
} %}

with r as (
    select * from {{ source('storage_network', 'audits') }}
),

p as (
    select r.*, {{ parsed_columns('r', spec) }} from r
)

select
    p._id as record_id,
    'storage_network' as source_name,
    'audits' as collection_name,
    p._knowledge_at as knowledge_at,
    p._batch_id as batch_id,
    {{ raw_document('p', fields) }} as raw_document,
    p."__t__id" as audit_id,
    p."__t_contract_id" as contract_id,
    p."__t_farmer_id" as farmer_id,
    p."__s_audited_at" as audited_at,
    p."__b_passed" as passed,
    p."__s_recorded_at" as recorded_at,
    {{ reject_reason('p', spec) }} as reject_reason
from p
