-- Every raw transfer report, typed, with its reject reason (NULL = valid). Reports are
-- self-contained: contract_id is optional, informational and never a reason to reject (even a
-- value the raw layout could not hold only leaves it NULL; the raw document keeps it).
{%- set fields = ['_id', 'transfer_id', 'reporter', 'contract_id', 'renter_id', 'farmer_id', 'bucket', 'direction', 'bytes', 'started_at', 'completed_at', 'recorded_at'] %}
{%- set spec = {
    'required': ['_id', 'transfer_id', 'reporter', 'renter_id', 'farmer_id', 'bucket', 'direction', 'bytes', 'completed_at', 'recorded_at'],
    'optional': ['started_at'],
    'numbers': ['bytes'],
    'timestamps': ['started_at', 'completed_at', 'recorded_at'],
    'integers': ['bytes'],
    'negative': ['bytes'],
    'end_before_begin': [('started_at', 'completed_at')],
} %}

with r as (
    select * from {{ source('storage_network', 'transfer_reports') }}
),

p as (
    select r.*, {{ parsed_columns('r', spec) }} from r
)

select
    p._id as record_id,
    'storage_network' as source_name,
    'transfer_reports' as collection_name,
    p._knowledge_at as knowledge_at,
    p._batch_id as batch_id,
    {{ raw_document('p', fields) }} as raw_document,
    p."__t_transfer_id" as transfer_id,
    lower(p."__t_reporter") as reporter,
    {{ clean_text('p.contract_id') }} as contract_id,
    p."__t_renter_id" as account_id,
    p."__t_bucket" as context,
    p."__t_farmer_id" as farmer_id,
    lower(p."__t_direction") as direction,
    {{ staged_integer('bytes') }} as bytes,
    p."__s_started_at" as started_at,
    p."__s_completed_at" as completed_at,
    p."__s_recorded_at" as recorded_at,
    case lower(p."__t_direction")
        when 'download' then 'network.download'
        when 'upload' then 'network.upload'
    end as resource,
    {{ reject_reason('p', spec, invalid=[
        ("lower(p.\"__t_reporter\") not in ('renter', 'farmer')", 'reporter'),
        ("lower(p.\"__t_direction\") not in ('download', 'upload')", 'direction'),
    ]) }} as reject_reason
from p
