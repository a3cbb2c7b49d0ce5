-- abacus benchmark reference: per-account invoice totals and per-farmer payout totals of ONE
-- billing period Q, hand-written straight from SPEC.md against the raw tables + seed CSVs,
-- independently of the dbt models (it is a cross-check of the marts and a speed baseline).
--
-- Placeholders (filled by bench/run.py): {{raw}} = qualified raw schema (e.g. wh.raw),
-- {{seeds}} = seed directory, {{q_start}} = first instant of Q (YYYY-MM-01 00:00:00),
-- {{as_of}}, {{grace_hours}}, {{max_adjustment_periods}}, {{gauge_max_gap_hours}}.
-- Result: temp tables ref_invoices(account_id, subtotal, discount, total) and
-- ref_payouts(farmer_id, status, gross, held, net).
--
-- Rules implemented (SPEC section): validation first (2, 4.1) with the staging reason rules;
-- knowledge cutoff = least(close, as_of) (4.1); first-recorded-wins dedup (4.5); versions
-- as known at the cutoff, latest updated_at across sources for accounts (2); contract storage
-- clipped to the first failed audit known at the cutoff (4.3); gauge integration with the gap
-- cap and carry-in, storage.files peak per series (4.3); settled transfers = min bytes of both
-- reports, period of the renter report's completed_at (4.4); unit conversions from the seed,
-- exact decimals, quantities rounded to 12 decimals in billable units (3); inclusion per_period /
-- per_hour, graduated tiers, line rounding half away from zero, discount of Q on the whole
-- subtotal (4.6); adjustments for P in [Q - max_adjustment_periods, Q) = amount(P @ close(Q)) -
-- amount(P @ close(Q-1)) (4.2); payout components rounded to 6 decimals, held-back by age in
-- whole months, disqualified farmers forfeit (4.7).

SET TimeZone = 'UTC';

CREATE OR REPLACE TEMP MACRO ct(x) AS nullif(trim(x), '');
CREATE OR REPLACE TEMP MACRO pnum(x) AS try_cast(nullif(trim(x), '') AS DECIMAL(38,9));
CREATE OR REPLACE TEMP MACRO pts(x) AS timezone('UTC', try_cast(nullif(trim(x), '') AS TIMESTAMPTZ));
-- a present text that does not parse
CREATE OR REPLACE TEMP MACRO bad_num(x) AS (ct(x) IS NOT NULL AND pnum(x) IS NULL);
CREATE OR REPLACE TEMP MACRO bad_ts(x) AS (ct(x) IS NOT NULL AND pts(x) IS NULL);
-- an optional field that is absent but was flagged as a misfit by the extractor
CREATE OR REPLACE TEMP MACRO bad_opt(x, misfits, f) AS (ct(x) IS NULL AND coalesce(list_contains(misfits, f), false));
-- microseconds between two timestamps
CREATE OR REPLACE TEMP MACRO us_between(a, b) AS CAST(epoch_us(b) - epoch_us(a) AS HUGEINT);
-- n / e rounded half away from zero to an integer (n, e >= 0), as DECIMAL(38,12) scaled by 10^-12:
-- q12(n * 10^12 / d) computed as q12(n, d / 10^12) or q12(n * 1000, d / 10^9) so nothing overflows
CREATE OR REPLACE TEMP MACRO q12(n, e) AS
    CAST(CAST((2 * CAST(n AS HUGEINT) + CAST(e AS HUGEINT)) // (2 * CAST(e AS HUGEINT)) AS DECIMAL(38,0))
         * 0.000000000001 AS DECIMAL(38,12));
-- a DECIMAL(38,9) as an integer count of 10^-9 units
CREATE OR REPLACE TEMP MACRO nano(x) AS CAST(trunc(x) AS HUGEINT) * 1000000000 + CAST((x - trunc(x)) * 1000000000 AS HUGEINT);

-- ---------------------------------------------------------------- parameters, periods, cutoffs
CREATE OR REPLACE TEMP TABLE params AS
SELECT TIMESTAMP '{{q_start}}' AS q_start,
       TIMESTAMP '{{q_start}}' + INTERVAL 1 MONTH AS q_end,
       TIMESTAMP '{{as_of}}' AS as_of,
       CAST({{grace_hours}} AS INTEGER) AS grace_hours,
       CAST({{max_adjustment_periods}} AS INTEGER) AS max_adj,
       CAST({{gauge_max_gap_hours}} AS INTEGER) AS gap_hours;

-- One row per (usage period, knowledge cutoff) whose amount we need:
-- role 'cur' = Q as known at close(Q); 'new' = P as known at close(Q); 'old' = P as known at close(Q-1).
CREATE OR REPLACE TEMP TABLE evals AS
WITH ks AS (SELECT CAST(unnest(range(0, (SELECT max_adj FROM params) + 1)) AS INTEGER) AS k),
per AS (
    SELECT k, q_start - to_months(k) AS pstart, q_start - to_months(k) + INTERVAL 1 MONTH AS pend,
           least(q_end + to_hours(grace_hours), as_of) AS close_q,
           least(q_start + to_hours(grace_hours), as_of) AS close_q1
    FROM ks, params
)
SELECT k, pstart, pend, CAST(epoch(pend - pstart) // 3600 AS INTEGER) AS hours,
       CASE WHEN k = 0 THEN 'cur' ELSE r.role END AS role,
       CASE WHEN k = 0 OR r.role = 'new' THEN close_q ELSE close_q1 END AS cutoff
FROM per, (VALUES ('new'), ('old')) AS r(role)
WHERE k > 0 OR r.role = 'new';

CREATE OR REPLACE TEMP TABLE cutoffs AS SELECT DISTINCT cutoff FROM evals;
CREATE OR REPLACE TEMP TABLE win AS
SELECT min(pstart) AS w_start, max(pend) AS w_end, max(cutoff) AS max_cutoff FROM evals;

-- ---------------------------------------------------------------- seeds
CREATE OR REPLACE TEMP TABLE s_resources AS
SELECT resource, source_name, kind, CAST(base_per_billable_unit AS HUGEINT) AS bpu
FROM read_csv('{{seeds}}/resources.csv', header = true, all_varchar = true);
CREATE OR REPLACE TEMP TABLE s_units AS
SELECT resource, unit, CAST(base_per_unit AS DECIMAL(38,9)) AS base_per_unit
FROM read_csv('{{seeds}}/unit_conversions.csv', header = true, all_varchar = true);
CREATE OR REPLACE TEMP TABLE s_tiers AS
SELECT resource, CAST(valid_from AS DATE) AS valid_from, CAST(tier_start AS DECIMAL(38,12)) AS tier_start,
       CAST(nullif(tier_end, '') AS DECIMAL(38,12)) AS tier_end, CAST(unit_price AS DECIMAL(18,9)) AS unit_price
FROM read_csv('{{seeds}}/price_tiers.csv', header = true, all_varchar = true);
CREATE OR REPLACE TEMP TABLE s_plans AS
SELECT plan, resource, CAST(valid_from AS DATE) AS valid_from,
       CAST(included_quantity AS DECIMAL(38,12)) AS included_quantity, basis
FROM read_csv('{{seeds}}/plans.csv', header = true, all_varchar = true);
CREATE OR REPLACE TEMP TABLE s_rates AS
SELECT component, CAST(valid_from AS DATE) AS valid_from, CAST(rate AS DECIMAL(18,9)) AS rate
FROM read_csv('{{seeds}}/payout_rates.csv', header = true, all_varchar = true);
CREATE OR REPLACE TEMP TABLE s_held AS
SELECT CAST(min_age_months AS INTEGER) AS min_age_months, CAST(held_pct AS DECIMAL(9,4)) AS held_pct
FROM read_csv('{{seeds}}/held_back_schedule.csv', header = true, all_varchar = true);

-- ---------------------------------------------------------------- valid records (validation first)
-- contracts: every version that passes validation
CREATE OR REPLACE TEMP TABLE v_contracts AS
SELECT ct(_id) AS contract_id, ct(renter_id) AS account_id, ct(farmer_id) AS farmer_id,
       CAST(pnum(data_size) AS HUGEINT) AS data_size, pts(store_begin) AS store_begin,
       pts(store_end) AS store_end, pts(updated_at) AS updated_at, _knowledge_at AS known_at, _id AS rid
FROM {{raw}}.storage_network__contracts
WHERE _knowledge_at IS NOT NULL
  AND ct(_id) IS NOT NULL AND ct(renter_id) IS NOT NULL AND ct(bucket) IS NOT NULL AND ct(farmer_id) IS NOT NULL
  AND ct(shard_hash) IS NOT NULL AND ct(data_size) IS NOT NULL AND ct(store_begin) IS NOT NULL
  AND ct(store_end) IS NOT NULL AND ct(updated_at) IS NOT NULL
  AND pnum(data_size) IS NOT NULL AND pts(store_begin) IS NOT NULL AND pts(store_end) IS NOT NULL
  AND pts(updated_at) IS NOT NULL
  AND pnum(data_size) = trunc(pnum(data_size)) AND pnum(data_size) >= 0
  AND date_trunc('second', pts(store_end)) >= date_trunc('second', pts(store_begin))
  AND _knowledge_at < (SELECT max_cutoff FROM win);

CREATE OR REPLACE TEMP TABLE v_audits AS
SELECT ct(contract_id) AS contract_id, pts(audited_at) AS audited_at,
       lower(trim(passed)) = 'true' AS passed, _knowledge_at AS known_at
FROM {{raw}}.storage_network__audits
WHERE _knowledge_at IS NOT NULL
  AND ct(_id) IS NOT NULL AND ct(contract_id) IS NOT NULL AND ct(farmer_id) IS NOT NULL
  AND ct(audited_at) IS NOT NULL AND ct(passed) IS NOT NULL AND ct(recorded_at) IS NOT NULL
  AND pts(audited_at) IS NOT NULL AND pts(recorded_at) IS NOT NULL
  AND lower(trim(passed)) IN ('true', 'false')
  AND _knowledge_at < (SELECT max_cutoff FROM win);

-- transfer reports, valid, deduplicated by (transfer_id, reporter): first recorded wins
CREATE OR REPLACE TEMP TABLE v_reports AS
SELECT * FROM (
    SELECT ct(transfer_id) AS transfer_id, lower(ct(reporter)) AS reporter,
           ct(renter_id) AS account_id, ct(farmer_id) AS farmer_id, lower(ct(direction)) AS direction,
           CAST(pnum(bytes) AS HUGEINT) AS bytes, pts(completed_at) AS completed_at,
           _knowledge_at AS known_at,
           row_number() OVER (PARTITION BY ct(transfer_id), lower(ct(reporter)) ORDER BY _knowledge_at, _id) AS rn
    FROM {{raw}}.storage_network__transfer_reports
    WHERE _knowledge_at IS NOT NULL
      AND ct(transfer_id) IS NOT NULL AND ct(reporter) IS NOT NULL AND ct(renter_id) IS NOT NULL
      AND ct(farmer_id) IS NOT NULL AND ct(bucket) IS NOT NULL AND ct(direction) IS NOT NULL
      AND ct(bytes) IS NOT NULL AND ct(completed_at) IS NOT NULL AND ct(recorded_at) IS NOT NULL
      AND pnum(bytes) IS NOT NULL
      AND NOT bad_ts(started_at) AND pts(completed_at) IS NOT NULL AND pts(recorded_at) IS NOT NULL
      AND NOT bad_opt(started_at, _misfit_fields, 'started_at')  -- contract_id never rejects a report (SPEC 2)
      AND pnum(bytes) = trunc(pnum(bytes))
      AND lower(ct(reporter)) IN ('renter', 'farmer') AND lower(ct(direction)) IN ('download', 'upload')
      AND pnum(bytes) >= 0
      AND NOT coalesce(date_trunc('second', pts(completed_at)) < date_trunc('second', pts(started_at)), false)  -- end_before_begin at whole seconds, as staging
) WHERE rn = 1 AND known_at < (SELECT max_cutoff FROM win);

-- usage events, valid, deduplicated by event_id
CREATE OR REPLACE TEMP TABLE v_events AS
SELECT * FROM (
    SELECT ct(e.account_id) AS account_id, ct(e.resource) AS resource,
           CAST(pnum(e.quantity) * CAST(trunc(u.base_per_unit) AS DECIMAL(38,0))
                + CAST(pnum(e.quantity) * (u.base_per_unit - trunc(u.base_per_unit)) AS DECIMAL(38,9)) AS DECIMAL(38,9)) AS qty_base,
           pts(e.occurred_at) AS occurred_at, e._knowledge_at AS known_at,
           row_number() OVER (PARTITION BY ct(e.event_id) ORDER BY e._knowledge_at, e._id) AS rn
    FROM {{raw}}.compute__usage_events e
    LEFT JOIN s_resources r ON r.resource = ct(e.resource) AND r.source_name = 'compute'
    LEFT JOIN s_units u ON u.resource = ct(e.resource) AND u.unit = ct(e.unit)
    WHERE e._knowledge_at IS NOT NULL
      AND ct(e.event_id) IS NOT NULL AND ct(e.account_id) IS NOT NULL AND ct(e.context) IS NOT NULL
      AND ct(e.resource) IS NOT NULL AND ct(e.quantity) IS NOT NULL AND ct(e.unit) IS NOT NULL
      AND ct(e.occurred_at) IS NOT NULL AND ct(e.recorded_at) IS NOT NULL
      AND pnum(e.quantity) IS NOT NULL AND pts(e.occurred_at) IS NOT NULL AND pts(e.recorded_at) IS NOT NULL
      AND pnum(e.quantity) >= 0
      AND r.kind = 'counter' AND u.unit IS NOT NULL
) WHERE rn = 1 AND known_at < (SELECT max_cutoff FROM win)
  AND occurred_at >= (SELECT w_start FROM win) AND occurred_at < (SELECT w_end FROM win);

-- gauge samples, valid, deduplicated by (series, observed_at)
CREATE OR REPLACE TEMP TABLE v_samples AS
SELECT * FROM (
    SELECT ct(s.account_id) AS account_id, ct(s.context) AS context, ct(s.resource) AS resource,
           CAST(pnum(s.value) * CAST(trunc(u.base_per_unit) AS DECIMAL(38,0))
                + CAST(pnum(s.value) * (u.base_per_unit - trunc(u.base_per_unit)) AS DECIMAL(38,9)) AS DECIMAL(38,9)) AS value_base,
           pts(s.observed_at) AS observed_at, s._knowledge_at AS known_at,
           row_number() OVER (PARTITION BY ct(s.account_id), ct(s.context), ct(s.resource), pts(s.observed_at)
                              ORDER BY s._knowledge_at, s._id) AS rn
    FROM {{raw}}.storage__usage_samples s
    LEFT JOIN s_resources r ON r.resource = ct(s.resource) AND r.source_name = 'storage'
    LEFT JOIN s_units u ON u.resource = ct(s.resource) AND u.unit = ct(s.unit)
    WHERE s._knowledge_at IS NOT NULL
      AND ct(s.account_id) IS NOT NULL AND ct(s.context) IS NOT NULL AND ct(s.resource) IS NOT NULL
      AND ct(s.value) IS NOT NULL AND ct(s.unit) IS NOT NULL AND ct(s.observed_at) IS NOT NULL
      AND ct(s.recorded_at) IS NOT NULL
      AND pnum(s.value) IS NOT NULL AND pts(s.observed_at) IS NOT NULL AND pts(s.recorded_at) IS NOT NULL
      AND pnum(s.value) >= 0
      AND r.kind = 'gauge' AND u.unit IS NOT NULL
) WHERE rn = 1 AND known_at < (SELECT max_cutoff FROM win)
  AND observed_at >= (SELECT w_start - to_hours(gap_hours) FROM win, params)
  AND observed_at < (SELECT w_end FROM win);

-- billed accounts: renters + compute accounts + storage accounts, every valid version
CREATE OR REPLACE TEMP TABLE v_accounts AS
WITH a AS (
    SELECT 'storage_network' AS src, * FROM {{raw}}.storage_network__renters
    UNION ALL BY NAME SELECT 'compute' AS src, * FROM {{raw}}.compute__accounts
    UNION ALL BY NAME SELECT 'storage' AS src, * FROM {{raw}}.storage__accounts
)
SELECT src, ct(_id) AS account_id, ct(plan) AS plan,
       CAST(coalesce(pnum(discount_pct), 0) AS DECIMAL(9,4)) AS discount_pct,
       pts(updated_at) AS updated_at, _knowledge_at AS known_at, _id AS rid
FROM a
WHERE _knowledge_at IS NOT NULL
  AND ct(_id) IS NOT NULL AND ct(plan) IS NOT NULL AND ct(updated_at) IS NOT NULL
  AND NOT bad_num(discount_pct) AND pts(updated_at) IS NOT NULL
  AND NOT bad_opt(discount_pct, _misfit_fields, 'discount_pct')
  AND NOT coalesce(pnum(discount_pct) < 0 OR pnum(discount_pct) > 100
                   OR pnum(discount_pct) <> try_cast(nullif(trim(discount_pct), '') AS DECIMAL(9,4)), false)
  AND _knowledge_at < (SELECT max_cutoff FROM win);

CREATE OR REPLACE TEMP TABLE v_farmers AS
SELECT ct(_id) AS farmer_id, pts(joined_at) AS joined_at, pts(disqualified_at) AS disqualified_at,
       pts(updated_at) AS updated_at, _knowledge_at AS known_at, _id AS rid
FROM {{raw}}.storage_network__farmers
WHERE _knowledge_at IS NOT NULL
  AND ct(_id) IS NOT NULL AND ct(joined_at) IS NOT NULL AND ct(updated_at) IS NOT NULL
  AND pts(joined_at) IS NOT NULL AND NOT bad_ts(disqualified_at) AND pts(updated_at) IS NOT NULL
  AND NOT bad_opt(disqualified_at, _misfit_fields, 'disqualified_at')
  AND NOT bad_opt(payout_address, _misfit_fields, 'payout_address')
  AND _knowledge_at < (SELECT max_cutoff FROM win);

-- ---------------------------------------------------------------- usage per (period, cutoff)
-- network.storage: contract version known at the cutoff, clipped to the first failed audit
-- known at the cutoff, overlap with the period in byte-microseconds
CREATE OR REPLACE TEMP TABLE u_contracts AS
WITH ver AS (
    SELECT c.cutoff, v.contract_id,
           arg_max({'account_id': v.account_id, 'farmer_id': v.farmer_id, 'data_size': v.data_size,
                    'store_begin': v.store_begin, 'store_end': v.store_end}, (v.updated_at, v.known_at)) AS v
    FROM cutoffs c JOIN v_contracts v ON v.known_at < c.cutoff
    GROUP BY c.cutoff, v.contract_id
), fail AS (
    SELECT c.cutoff, a.contract_id, min(a.audited_at) AS first_fail
    FROM cutoffs c JOIN v_audits a ON a.known_at < c.cutoff AND NOT a.passed
    GROUP BY ALL
), eff AS (
    SELECT ver.cutoff, ver.contract_id, ver.v.account_id, ver.v.farmer_id, ver.v.data_size, ver.v.store_begin,
           least(ver.v.store_end, coalesce(f.first_fail, ver.v.store_end)) AS store_stop
    FROM ver LEFT JOIN fail f ON f.cutoff = ver.cutoff AND f.contract_id = ver.contract_id
)
SELECT e.pstart, e.cutoff, c.account_id, c.farmer_id,
       c.data_size * us_between(greatest(c.store_begin, e.pstart), least(c.store_stop, e.pend)) AS byte_us
FROM evals e JOIN eff c ON c.cutoff = e.cutoff
 AND c.store_begin < e.pend AND c.store_stop > e.pstart AND greatest(c.store_begin, e.pstart) < least(c.store_stop, e.pend);

-- settled transfers: both reports known at the cutoff; period of the renter report's completed_at
CREATE OR REPLACE TEMP TABLE u_transfers AS
SELECT e.pstart, e.cutoff, r.account_id, f.farmer_id,
       CASE r.direction WHEN 'download' THEN 'network.download' ELSE 'network.upload' END AS resource,
       least(r.bytes, f.bytes) AS bytes
FROM v_reports r
JOIN v_reports f ON f.transfer_id = r.transfer_id AND f.reporter = 'farmer'
JOIN evals e ON r.completed_at >= e.pstart AND r.completed_at < e.pend
            AND r.known_at < e.cutoff AND f.known_at < e.cutoff
WHERE r.reporter = 'renter';

-- gauges: hold intervals of the samples known at each cutoff (next sample, capped)
CREATE OR REPLACE TEMP TABLE u_gauge_holds AS
SELECT c.cutoff, s.account_id, s.context, s.resource, s.value_base, s.observed_at,
       least(coalesce(lead(s.observed_at) OVER (PARTITION BY c.cutoff, s.account_id, s.context, s.resource ORDER BY s.observed_at),
                      s.observed_at + to_hours(p.gap_hours)),
             s.observed_at + to_hours(p.gap_hours)) AS hold_end
FROM cutoffs c JOIN v_samples s ON s.known_at < c.cutoff, params p;

CREATE OR REPLACE TEMP TABLE usage_base AS
-- counters from compute: base units (DECIMAL(38,9)) as 10^-9 integers
SELECT e.pstart, e.cutoff, v.account_id, v.resource, sum(nano(v.qty_base)) AS base_n
FROM v_events v JOIN evals e ON v.occurred_at >= e.pstart AND v.occurred_at < e.pend AND v.known_at < e.cutoff
GROUP BY ALL
UNION ALL
SELECT pstart, cutoff, account_id, 'network.storage', sum(byte_us) * 1000000000 FROM u_contracts GROUP BY ALL
UNION ALL
SELECT pstart, cutoff, account_id, resource, sum(bytes) * 1000000000 FROM u_transfers GROUP BY ALL
UNION ALL
SELECT e.pstart, e.cutoff, h.account_id, h.resource,
       sum(nano(h.value_base) * us_between(greatest(h.observed_at, e.pstart), least(h.hold_end, e.pend)))
FROM u_gauge_holds h JOIN evals e ON e.cutoff = h.cutoff
 AND h.observed_at < e.pend AND h.hold_end > e.pstart
WHERE h.resource = 'storage.bytes_used'
GROUP BY ALL
UNION ALL
SELECT pstart, cutoff, account_id, resource, sum(peak) FROM (
    SELECT e.pstart, e.cutoff, h.account_id, h.context, h.resource, max(nano(h.value_base)) AS peak
    FROM u_gauge_holds h JOIN evals e ON e.cutoff = h.cutoff
     AND h.observed_at < e.pend AND h.hold_end > e.pstart
    WHERE h.resource = 'storage.files'
    GROUP BY ALL
) GROUP BY ALL;

-- quantity in billable units: base_n is 10^-9 base units (x 10^6 more for microsecond integrals)
CREATE OR REPLACE TEMP TABLE usage_q AS
SELECT u.pstart, u.cutoff, u.account_id, u.resource,
       CASE WHEN u.resource IN ('network.storage', 'storage.bytes_used')
            THEN q12(u.base_n, r.bpu * 1000)            -- 10^-15 byte-seconds
            ELSE q12(u.base_n * 1000, r.bpu) END AS quantity  -- 10^-9 base units
FROM usage_base u JOIN s_resources r USING (resource);

-- ---------------------------------------------------------------- rating
CREATE OR REPLACE TEMP TABLE acct_at AS
SELECT c.cutoff, v.account_id, arg_max(v.plan, (v.updated_at, v.known_at, v.src, v.rid)) AS plan,
       arg_max(v.discount_pct, (v.updated_at, v.known_at, v.src, v.rid)) AS discount_pct
FROM cutoffs c JOIN v_accounts v ON v.known_at < c.cutoff
GROUP BY ALL;

CREATE OR REPLACE TEMP TABLE rated AS
WITH q AS (
    SELECT u.*, e.hours, e.role, a.plan
    FROM usage_q u
    JOIN (SELECT DISTINCT pstart, cutoff, hours, role FROM evals) e USING (pstart, cutoff)
    LEFT JOIN acct_at a ON a.cutoff = u.cutoff AND a.account_id = u.account_id
), plan_at AS (
    SELECT e.pstart, p.plan, p.resource,
           arg_max(p.included_quantity, p.valid_from) AS included_quantity, arg_max(p.basis, p.valid_from) AS basis
    FROM s_plans p, (SELECT DISTINCT pstart FROM evals) e
    WHERE p.valid_from <= e.pstart
    GROUP BY ALL
), incl AS (
    SELECT q.pstart, q.cutoff, q.role, q.account_id, q.resource,
           greatest(q.quantity - coalesce(pa.included_quantity * CASE pa.basis WHEN 'per_hour' THEN q.hours ELSE 1 END, 0), 0) AS billable
    FROM q LEFT JOIN plan_at pa ON pa.pstart = q.pstart AND pa.plan = q.plan AND pa.resource = q.resource
), tiers AS (
    SELECT t.*, e.pstart FROM s_tiers t, (SELECT DISTINCT pstart FROM evals) e
    WHERE t.valid_from <= e.pstart
    QUALIFY t.valid_from = max(t.valid_from) OVER (PARTITION BY t.resource, e.pstart)
)
SELECT i.pstart, i.cutoff, i.role, i.account_id, i.resource, i.billable,
       round(coalesce(sum(CAST(greatest(least(i.billable, coalesce(t.tier_end, i.billable)) - t.tier_start, 0) * t.unit_price AS DECIMAL(38,18))), 0), 2) AS amount
FROM incl i LEFT JOIN tiers t ON t.resource = i.resource AND t.pstart = i.pstart
GROUP BY ALL;

-- invoice lines of Q: usage lines + adjustment lines (new - old per earlier period and resource)
CREATE OR REPLACE TEMP TABLE ref_invoice_lines AS
SELECT account_id, resource, pstart AS usage_period_start, 'usage' AS line_type, amount
FROM rated WHERE role = 'cur'
UNION ALL
SELECT account_id, resource, pstart, 'adjustment',
       sum(CASE WHEN role = 'new' THEN amount ELSE -amount END)
FROM rated WHERE role IN ('new', 'old')
GROUP BY ALL;

CREATE OR REPLACE TEMP TABLE ref_invoices AS
WITH sub AS (SELECT account_id, CAST(sum(amount) AS DECIMAL(38,2)) AS subtotal FROM ref_invoice_lines GROUP BY ALL),
d AS (
    SELECT sub.account_id, sub.subtotal,
           CAST(round(sub.subtotal * coalesce(a.discount_pct, 0) * CAST(0.01 AS DECIMAL(3,2)), 2) AS DECIMAL(38,2)) AS discount
    FROM sub LEFT JOIN acct_at a ON a.account_id = sub.account_id AND a.cutoff = (SELECT max(cutoff) FROM evals WHERE role = 'cur')
)
SELECT account_id, subtotal, discount, CAST(subtotal - discount AS DECIMAL(38,2)) AS total FROM d;

-- ---------------------------------------------------------------- payouts
CREATE OR REPLACE TEMP TABLE farmer_q AS
SELECT pstart, cutoff, farmer_id, 'storage' AS component, q12(sum(byte_us), 3600000) AS quantity
FROM u_contracts GROUP BY ALL
UNION ALL
SELECT pstart, cutoff, farmer_id, CASE resource WHEN 'network.download' THEN 'download' ELSE 'upload' END,
       q12(sum(bytes) * 1000, 1)
FROM u_transfers GROUP BY ALL;

CREATE OR REPLACE TEMP TABLE farmer_rated AS
SELECT f.pstart, f.cutoff, e.role, f.farmer_id, f.component,
       round(CAST(f.quantity * r.rate AS DECIMAL(38,21)), 6) AS amount
FROM farmer_q f
JOIN (SELECT DISTINCT pstart, cutoff, role FROM evals) e USING (pstart, cutoff)
JOIN s_rates r ON r.component = f.component
 AND r.valid_from = (SELECT max(valid_from) FROM s_rates x WHERE x.component = f.component AND x.valid_from <= f.pstart);

CREATE OR REPLACE TEMP TABLE ref_payout_lines AS
SELECT farmer_id, component, pstart AS usage_period_start, 'usage' AS line_type, amount FROM farmer_rated WHERE role = 'cur'
UNION ALL
SELECT farmer_id, component, pstart, 'adjustment', sum(CASE WHEN role = 'new' THEN amount ELSE -amount END)
FROM farmer_rated WHERE role IN ('new', 'old') GROUP BY ALL;

CREATE OR REPLACE TEMP TABLE ref_payouts AS
WITH g AS (SELECT farmer_id, CAST(sum(amount) AS DECIMAL(38,6)) AS gross FROM ref_payout_lines GROUP BY ALL),
fv AS (
    SELECT v.farmer_id, arg_max(v.joined_at, (v.updated_at, v.known_at, v.rid)) AS joined_at,
           arg_max(v.disqualified_at, (v.updated_at, v.known_at, v.rid)) AS disqualified_at
    FROM v_farmers v WHERE v.known_at < (SELECT max(cutoff) FROM evals WHERE role = 'cur')
    GROUP BY ALL
), age AS (
    SELECT g.*, fv.joined_at, fv.disqualified_at, p.q_end,
           (year(p.q_end) - year(fv.joined_at)) * 12 + month(p.q_end) - month(fv.joined_at) AS m0
    FROM g LEFT JOIN fv USING (farmer_id), params p
), age2 AS (
    SELECT *, greatest(CASE WHEN joined_at + to_months(m0) <= q_end THEN m0 ELSE m0 - 1 END, 0) AS age_months FROM age
), h AS (
    SELECT age2.*, coalesce((SELECT held_pct FROM s_held s WHERE s.min_age_months <= coalesce(age2.age_months, 0)
                             ORDER BY s.min_age_months DESC LIMIT 1), 0) AS held_pct
    FROM age2
)
SELECT farmer_id,
       CASE WHEN disqualified_at < q_end THEN 'disqualified' ELSE 'ok' END AS status,
       gross,
       CASE WHEN disqualified_at < q_end THEN CAST(0 AS DECIMAL(38,6))
            ELSE CAST(round(gross * held_pct * CAST(0.01 AS DECIMAL(3,2)), 6) AS DECIMAL(38,6)) END AS held,
       CASE WHEN disqualified_at < q_end THEN CAST(0 AS DECIMAL(38,6))
            ELSE CAST(gross - round(gross * held_pct * CAST(0.01 AS DECIMAL(3,2)), 6) AS DECIMAL(38,6)) END AS net
FROM h;
