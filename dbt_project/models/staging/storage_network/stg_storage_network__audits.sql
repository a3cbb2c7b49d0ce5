-- Every raw audit, typed, with its reject reason (NULL = valid). Audits are self-contained:
-- they are not rejected for their contract_id.
{%- set fields = ['_id', 'contract_id', 'farmer_id', 'audited_at', 'passed', 'recorded_at'] %}

with r as (
    select * from {{ source('storage_network', 'audits') }}
)

select
    r._id as record_id,
    'storage_network' as source_name,
    'audits' as collection_name,
    r._knowledge_at as knowledge_at,
    r._batch_id as batch_id,
    {{ raw_document('r', fields) }} as raw_document,
    {{ clean_text('r._id') }} as audit_id,
    {{ clean_text('r.contract_id') }} as contract_id,
    {{ clean_text('r.farmer_id') }} as farmer_id,
    {{ parse_timestamp('r.audited_at') }} as audited_at,
    {{ parse_boolean('r.passed') }} as passed,
    {{ parse_timestamp('r.recorded_at') }} as recorded_at,
    {{ reject_reason(
        required=['_id', 'contract_id', 'farmer_id', 'audited_at', 'passed', 'recorded_at'],
        timestamps=['audited_at', 'recorded_at'],
        booleans=['passed']
    ) }} as reject_reason
from r
