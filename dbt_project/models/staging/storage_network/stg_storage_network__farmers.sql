-- Every raw farmer version, typed, with its reject reason (NULL = valid).
{%- set fields = ['_id', 'joined_at', 'disqualified_at', 'payout_address', 'updated_at'] %}
{%- set spec = {
    'required': ['_id', 'joined_at', 'updated_at'],
    'optional': ['disqualified_at', 'payout_address'],
    'timestamps': ['joined_at', 'disqualified_at', 'updated_at'],
} %}

with r as (
    select * from {{ source('storage_network', 'farmers') }}
),

p as (
    select r.*, {{ parsed_columns('r', spec) }} from r
)

select
    p._id as record_id,
    'storage_network' as source_name,
    'farmers' as collection_name,
    p._knowledge_at as knowledge_at,
    p._batch_id as batch_id,
    {{ raw_document('p', fields) }} as raw_document,
    p."__t__id" as farmer_id,
    p."__s_joined_at" as joined_at,
    p."__s_disqualified_at" as disqualified_at,
    p."__t_payout_address" as payout_address,
    p."__s_updated_at" as updated_at,
    {{ reject_reason('p', spec) }} as reject_reason
from p
