-- Every raw contract version, typed, with its reject reason (NULL = valid).
{%- set fields = ['_id', 'renter_id', 'bucket', 'farmer_id', 'shard_hash', 'data_size', 'store_begin', 'store_end', 'updated_at'] %}
{%- set spec = {
    'required': ['_id', 'renter_id', 'bucket', 'farmer_id', 'shard_hash', 'data_size', 'store_begin', 'store_end', 'updated_at'],
    'numbers': ['data_size'],
    'timestamps': ['store_begin', 'store_end', 'updated_at'],
    'integers': ['data_size'],
    'negative': ['data_size'],
    'end_before_begin': [('store_begin', 'store_end')],
} %}

with r as (
    select * from {{ source('storage_network', 'contracts') }}
),

p as (
    select r.*, {{ parsed_columns('r', spec) }} from r
)

select
    p._id as record_id,
    'storage_network' as source_name,
    'contracts' as collection_name,
    p._knowledge_at as knowledge_at,
    p._batch_id as batch_id,
    {{ raw_document('p', fields) }} as raw_document,
    p."__t__id" as contract_id,
    p."__t_renter_id" as account_id,
    p."__t_bucket" as context,
    p."__t_farmer_id" as farmer_id,
    p."__t_shard_hash" as shard_hash,
    {{ staged_integer('data_size') }} as data_size_bytes,
    p."__s_store_begin" as store_begin,
    p."__s_store_end" as store_end,
    p."__s_updated_at" as updated_at,
    {{ reject_reason('p', spec) }} as reject_reason
from p
