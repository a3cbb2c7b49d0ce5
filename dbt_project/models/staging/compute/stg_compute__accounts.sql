-- Every raw accounts version of the `compute` source, typed, with its reject reason (NULL = valid).
{%- set fields = ['_id', 'plan', 'discount_pct', 'updated_at'] %}

with r as (
    select * from {{ source('compute', 'accounts') }}
)

select
    r._id as record_id,
    'compute' as source_name,
    'accounts' as collection_name,
    r._knowledge_at as knowledge_at,
    r._batch_id as batch_id,
    {{ raw_document('r', fields) }} as raw_document,
    {{ clean_text('r._id') }} as account_id,
    {{ clean_text('r.plan') }} as plan,
    CAST(coalesce({{ parse_number('r.discount_pct') }}, 0) AS DECIMAL(9,4)) as discount_pct,
    {{ parse_timestamp('r.updated_at') }} as updated_at,
    {{ reject_reason(
        required=['_id', 'plan', 'updated_at'],
        optional=['discount_pct'],
        numbers=['discount_pct'],
        timestamps=['updated_at'],
        invalid=[(parse_number('r.discount_pct') ~ ' < 0 or ' ~ parse_number('r.discount_pct') ~ ' > 100 or ' ~ parse_number('r.discount_pct') ~ ' <> ' ~ parse_number('r.discount_pct', 'DECIMAL(9,4)'), 'discount_pct')]
    ) }} as reject_reason
from r
