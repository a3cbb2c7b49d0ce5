{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='contract_id') }}
-- Valid contract versions ordered per contract (see the order_versions macro).
{{ order_versions('stg_storage_network__contracts', 'contract_id', 'storage_network', 'contracts') }}
