-- Every raw farmer version, typed, with its reject reason (NULL = valid).
{%- set fields = ['_id', 'joined_at', 'disqualified_at', 'payout_address', 'updated_at'] %}

with r as (
    select * from {{ source('storage_network', 'farmers') }}
)

select
    r._id as record_id,
    'storage_network' as source_name,
    'farmers' as collection_name,
    r._knowledge_at as knowledge_at,
    r._batch_id as batch_id,
    {{ raw_document('r', fields) }} as raw_document,
    {{ clean_text('r._id') }} as farmer_id,
    {{ parse_timestamp('r.joined_at') }} as joined_at,
    {{ parse_timestamp('r.disqualified_at') }} as disqualified_at,
    {{ clean_text('r.payout_address') }} as payout_address,
    {{ parse_timestamp('r.updated_at') }} as updated_at,
    {{ reject_reason(
        required=['_id', 'joined_at', 'updated_at'],
        optional=['disqualified_at', 'payout_address'],
        timestamps=['joined_at', 'disqualified_at', 'updated_at']
    ) }} as reject_reason
from r
