{#- Incremental builds of fct_transfer_discrepancies (delete+insert on transfer_id; see
    macros/incremental.sql).

    A transfer's row depends only on its own reports (deduplicated) known before as_of, and every
    row stores the as_of it holds at (cutoff_at; transfer_discrepancies_carry moves the kept rows
    to the new as_of after each run). So a transfer can change only when the dedup (re)wrote one
    of its reports since this table was built, or one of its reports has a knowledge time
    between the stored cutoff and the new as_of (either direction). Those transfers are deleted
    (pre_hook) and recomputed; a transfer that is clean now simply gets no row. An empty table
    (stamp -1) recomputes every transfer. -#}

{#- SQL: the transfer_ids to recompute (two scans, not one OR: each filter can skip row groups —
    rewritten dedup rows are the newest). -#}
{% macro transfer_discrepancies_touched() -%}
    select transfer_id from {{ ref('int_transfer_reports_deduplicated') }}
    where built_through_batch_seq > {{ built_through_batch_seq() }}
    union
    select transfer_id from {{ ref('int_transfer_reports_deduplicated') }}
    where knowledge_at >= (select least(min(cutoff_at), {{ as_of() }}) from {{ this }})
      and knowledge_at < (select greatest(max(cutoff_at), {{ as_of() }}) from {{ this }})
{%- endmacro %}

{#- pre_hook: delete the rows of the transfers this run recomputes. -#}
{% macro transfer_discrepancies_delete_touched() -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where transfer_id in ({{ transfer_discrepancies_touched() }})
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- post_hook: the kept rows hold at the new as_of too (nothing they depend on is known in between). -#}
{% macro transfer_discrepancies_carry() -%}
    {%- if is_incremental() -%}
        update {{ this }} set cutoff_at = {{ as_of() }} where cutoff_at <> {{ as_of() }}
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
