-- Shown in Dagster as an asset check of int_transfers_settled.
{{ config(meta={'dagster': {'ref': {'name': 'int_transfers_settled'}}}) }}
-- Settled bytes never exceed either party's report (SPEC 4.4), in the settled transfers and in
-- the discrepancies mart, and every settled transfer's bytes equal the smaller report.
select 'int_transfers_settled' as model, transfer_id, renter_bytes, farmer_bytes, settled_bytes
from {{ ref('int_transfers_settled') }}
where settled_bytes > renter_bytes
   or settled_bytes > farmer_bytes
   or settled_bytes <> least(renter_bytes, farmer_bytes)
   or settled_bytes < 0
union all
select 'fct_transfer_discrepancies', transfer_id, renter_bytes, farmer_bytes, settled_bytes
from {{ ref('fct_transfer_discrepancies') }}
where settled_bytes > renter_bytes
   or settled_bytes > farmer_bytes
   or (settled_bytes is null) <> (renter_bytes is null or farmer_bytes is null)
