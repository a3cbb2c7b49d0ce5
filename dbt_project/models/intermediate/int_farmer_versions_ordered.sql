{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='farmer_id') }}
-- Valid farmer versions ordered per farmer (see the order_versions macro).
{{ order_versions('stg_storage_network__farmers', 'farmer_id', 'storage_network', 'farmers') }}
