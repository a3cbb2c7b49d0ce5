-- Every raw contract version, typed, with its reject reason (NULL = valid).
{%- set fields = ['_id', 'renter_id', 'bucket', 'farmer_id', 'shard_hash', 'data_size', 'store_begin', 'store_end', 'updated_at'] %}

with r as (
    select * from {{ source('storage_network', 'contracts') }}
)

select
    r._id as record_id,
    'storage_network' as source_name,
    'contracts' as collection_name,
    r._knowledge_at as knowledge_at,
    r._batch_id as batch_id,
    {{ raw_document('r', fields) }} as raw_document,
    {{ clean_text('r._id') }} as contract_id,
    {{ clean_text('r.renter_id') }} as account_id,
    {{ clean_text('r.bucket') }} as context,
    {{ clean_text('r.farmer_id') }} as farmer_id,
    {{ clean_text('r.shard_hash') }} as shard_hash,
    {{ parse_integer('r.data_size') }} as data_size_bytes,
    {{ parse_timestamp('r.store_begin') }} as store_begin,
    {{ parse_timestamp('r.store_end') }} as store_end,
    {{ parse_timestamp('r.updated_at') }} as updated_at,
    {{ reject_reason(
        required=['_id', 'renter_id', 'bucket', 'farmer_id', 'shard_hash', 'data_size', 'store_begin', 'store_end', 'updated_at'],
        numbers=['data_size'],
        timestamps=['store_begin', 'store_end', 'updated_at'],
        integers=['data_size'],
        negative=['data_size'],
        end_before_begin=[('store_begin', 'store_end')]
    ) }} as reject_reason
from r
