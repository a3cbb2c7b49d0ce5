-- Every raw transfer report, typed, with its reject reason (NULL = valid). Reports are
-- self-contained: contract_id is optional and never a reason to reject.
{%- set fields = ['_id', 'transfer_id', 'reporter', 'contract_id', 'renter_id', 'farmer_id', 'bucket', 'direction', 'bytes', 'started_at', 'completed_at', 'recorded_at'] %}

with r as (
    select * from {{ source('storage_network', 'transfer_reports') }}
)

select
    r._id as record_id,
    'storage_network' as source_name,
    'transfer_reports' as collection_name,
    r._knowledge_at as knowledge_at,
    r._batch_id as batch_id,
    {{ raw_document('r', fields) }} as raw_document,
    {{ clean_text('r.transfer_id') }} as transfer_id,
    lower({{ clean_text('r.reporter') }}) as reporter,
    {{ clean_text('r.contract_id') }} as contract_id,
    {{ clean_text('r.renter_id') }} as account_id,
    {{ clean_text('r.bucket') }} as context,
    {{ clean_text('r.farmer_id') }} as farmer_id,
    lower({{ clean_text('r.direction') }}) as direction,
    {{ parse_integer('r.bytes') }} as bytes,
    {{ parse_timestamp('r.started_at') }} as started_at,
    {{ parse_timestamp('r.completed_at') }} as completed_at,
    {{ parse_timestamp('r.recorded_at') }} as recorded_at,
    case lower({{ clean_text('r.direction') }})
        when 'download' then 'network.download'
        when 'upload' then 'network.upload'
    end as resource,
    {{ reject_reason(
        required=['_id', 'transfer_id', 'reporter', 'renter_id', 'farmer_id', 'bucket', 'direction', 'bytes', 'completed_at', 'recorded_at'],
        optional=['contract_id', 'started_at'],
        numbers=['bytes'],
        timestamps=['started_at', 'completed_at', 'recorded_at'],
        integers=['bytes'],
        invalid=[
            ("lower(" ~ clean_text('r.reporter') ~ ") not in ('renter', 'farmer')", 'reporter'),
            ("lower(" ~ clean_text('r.direction') ~ ") not in ('download', 'upload')", 'direction'),
        ],
        negative=['bytes'],
        end_before_begin=[('started_at', 'completed_at')]
    ) }} as reject_reason
from r
