"""dbt foundation layer: staging casts and reject reasons, dedup, versions, periods, rejects,
raw-row conservation. One dbt build over a tiny hand-made raw fixture per module."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import duckdb
import pytest

from dbt_support import create_raw_tables, insert_raw, run_dbt, snapshot_connection

AS_OF = "2026-11-10T00:00:00Z"

MY_MODELS = [
    "resources", "unit_conversions",
    "path:dbt_project/models/staging",
    "int_raw_batches", "int_periods", "int_knowledge_cutoffs",
    "int_usage_events_deduplicated", "int_transfer_reports_deduplicated", "int_usage_samples_deduplicated",
    "int_contract_versions_ordered", "int_farmer_versions_ordered", "int_account_versions_merged",
    "fct_rejected_records", "dim_resources",
    "path:dbt_project/tests/staging",
]

T = "2026-10-05T00:00:00Z"


def _ev(_id, **kw):
    row = dict(_id=_id, event_id=f"ev-{_id}", account_id="acct1", context="lab/alice",
               resource="compute.time_used", quantity="1", unit="core_hours",
               occurred_at="2026-10-02T00:00:00Z", recorded_at=T)
    row.update(kw)
    return row


def _fill(con):
    create_raw_tables(con)
    insert_raw(con, "compute", "usage_events", [
        _ev("e01", quantity="123.4500", occurred_at="2026-10-01T05:06:07", recorded_at="2026-10-01T00:00:00+02:00"),
        _ev("e02", resource="compute.jobs_started", unit="count", quantity="1e+20"),
        _ev("e03", quantity="77", unit="core_minutes"),
        # duplicates of one event_id: first recorded wins (earliest knowledge, then lowest _id)
        _ev("e05", event_id="dup", quantity="5", recorded_at="2026-10-06T00:00:00Z"),
        _ev("e04", event_id="dup", quantity="4", recorded_at="2026-10-06T00:00:00Z"),
        _ev("e06", event_id="dup", quantity="6", recorded_at="2026-10-07T00:00:00Z"),
        # dirty
        _ev("e10", quantity="12x"),
        _ev("e11", quantity="-3"),
        _ev("e12", unit="parsecs"),
        _ev("e13", resource="storage.files", unit="count"),   # a gauge of another source
        _ev("e14", account_id=None),
        _ev("e15", recorded_at="sometime", _knowledge_at=None),
        _ev("e16", occurred_at="2026-13-45T00:00:00Z"),
        # invalid duplicate of a valid event: rejected, not counted as a duplicate
        _ev("e17", event_id="ev-e03", quantity="oops"),
    ])
    insert_raw(con, "storage", "usage_samples", [
        dict(_id="s1", account_id="acct1", context="lab", resource="storage.bytes_used", value="10",
             unit="GB", observed_at="2026-09-30T20:00:00Z", recorded_at="2026-09-30T20:00:00Z"),
        dict(_id="s2", account_id="acct1", context="lab", resource="storage.bytes_used", value="1.5",
             unit="GiB", observed_at="2026-10-01T06:00:00Z", recorded_at="2026-10-01T06:00:00Z"),
        dict(_id="s3", account_id="acct1", context="lab", resource="storage.bytes_used", value="99",
             unit="GB", observed_at="2026-10-01T06:00:00Z", recorded_at="2026-10-01T07:00:00Z"),  # duplicate
        dict(_id="s4", account_id="acct1", context="lab", resource="storage.files", value="7",
             unit="count", observed_at="2026-10-01T06:00:00Z", recorded_at="2026-10-01T06:00:00Z"),
        dict(_id="s5", account_id="acct1", context="lab", resource="compute.time_used", value="7",
             unit="core_hours", observed_at="2026-10-01T06:00:00Z", recorded_at="2026-10-01T06:00:00Z"),
        dict(_id="s6", account_id="acct1", context="lab", resource="storage.files", value="-7",
             unit="count", observed_at="2026-10-01T06:00:00Z", recorded_at="2026-10-01T06:00:00Z"),
    ])
    contract = dict(renter_id="acct1", bucket="lab/alice", farmer_id="F", shard_hash="h",
                    data_size="2000000000", store_begin="2026-09-30T12:00:00Z",
                    store_end="2026-10-03T00:00:00Z", updated_at="2026-09-30T12:00:00Z")
    insert_raw(con, "storage_network", "contracts", [
        dict(contract, _id="C1"),
        dict(contract, _id="C1", data_size="3000000000", updated_at="2026-10-02T00:00:00Z"),
        # an identical (record_id, updated_at) repeat from another batch
        dict(contract, _id="C1", data_size="3000000000", updated_at="2026-10-02T00:00:00Z", _batch_id="b2"),
        dict(contract, _id="C2", data_size="1.5"),
        dict(contract, _id="C3", store_begin="2026-10-03T00:00:00Z", store_end="2026-10-01T00:00:00Z"),
        dict(contract, _id="C4", data_size=None, _misfit_fields=["data_size"],
             _raw_document='{"_id": "C4", "data_size": {"$oid": "x"}}'),   # an object where a number belongs
        dict(contract, _id="C5", data_size=None, _misfit_fields=["data_size"],
             _raw_document='{"_id": "C5", "data_size": null}'),
    ])
    report = dict(transfer_id="T1", reporter="renter", renter_id="acct1", farmer_id="F", bucket="lab",
                  direction="download", bytes="1000000000", completed_at="2026-10-05T00:00:00Z",
                  recorded_at="2026-10-05T00:00:00Z")
    insert_raw(con, "storage_network", "transfer_reports", [
        dict(report, _id="r1"),
        dict(report, _id="r2", reporter="farmer", bytes="980000000"),
        dict(report, _id="r3", reporter="farmer", bytes="1", recorded_at="2026-10-06T00:00:00Z"),  # dup
        dict(report, _id="r4", transfer_id="T2", direction="sideways"),
        dict(report, _id="r5", transfer_id="T3", bytes="2.5"),
    ])
    insert_raw(con, "storage_network", "audits", [
        dict(_id="a1", contract_id="C2-not-known", farmer_id="F", audited_at="2026-10-11T00:00:00Z",
             passed="false", recorded_at="2026-10-11T00:00:00Z"),
        dict(_id="a2", contract_id="C1", farmer_id="F", audited_at="2026-10-11T00:00:00Z",
             passed="maybe", recorded_at="2026-10-11T00:00:00Z"),
    ])
    insert_raw(con, "storage_network", "farmers", [
        dict(_id="F", joined_at="2026-08-15T00:00:00Z", updated_at="2026-08-15T00:00:00Z"),
        dict(_id="F", joined_at="2026-08-15T00:00:00Z", payout_address="addr",
             updated_at="2026-10-20T00:00:00Z"),
        dict(_id="G", joined_at="never", updated_at="2026-08-15T00:00:00Z"),
        dict(_id="H", joined_at="2026-08-15T00:00:00Z", updated_at="2026-08-15T00:00:00Z",
             _misfit_fields=["payout_address"], _raw_document='{"_id": "H", "payout_address": [1, 2]}'),
    ])
    insert_raw(con, "storage_network", "renters", [
        dict(_id="acct1", plan="basic", discount_pct="10", updated_at="2026-09-01T00:00:00Z"),
        dict(_id="acct2", plan="basic", discount_pct="x", updated_at="2026-09-01T00:00:00Z"),
    ])
    insert_raw(con, "compute", "accounts", [
        dict(_id="acct1", plan="pro", updated_at="2026-10-15T00:00:00Z"),
    ])
    insert_raw(con, "storage", "accounts", [
        dict(_id="acct1", plan="storage-plan", discount_pct="2.5", updated_at="2026-10-01T00:00:00Z"),
        dict(_id="acct3", plan="x", updated_at=None, _knowledge_at=datetime(2026, 10, 1)),
    ])


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dbt_staging")
    wh = tmp / "wh.duckdb"
    con = duckdb.connect(str(wh))
    _fill(con)
    con.close()
    res = run_dbt(["build", "--select", *MY_MODELS, "--indirect-selection", "cautious"],
                  wh, vars={"as_of": AS_OF}, target_dir=tmp / "target")
    con = snapshot_connection(wh)
    yield res, con
    con.close()


def _q(con, sql):
    return con.execute(sql).fetchall()


def test_build_succeeds_and_conservation_passes(built):
    res, _ = built
    statuses = {r.node.name: str(r.status) for r in res.result}
    failed = {k: v for k, v in statuses.items() if v not in ("success", "pass")}
    assert res.success, failed
    assert not failed
    assert statuses["assert_raw_rows_conserved"] == "pass"
    assert statuses["assert_exact_divide_known_values"] == "pass"
    assert any("usage_events_casting_and_reasons" in k for k in statuses)


def test_usage_events_casts_and_reasons(built):
    _, con = built
    rows = dict((r[0], r[1:]) for r in _q(con, """
        select record_id, quantity, quantity_base, occurred_at, recorded_at, reject_reason
        from staging.stg_compute__usage_events"""))
    assert rows["e01"] == (Decimal("123.45"), Decimal("444420"), datetime(2026, 10, 1, 5, 6, 7),
                           datetime(2026, 9, 30, 22, 0), None)
    assert rows["e02"][:2] == (Decimal("100000000000000000000"), Decimal("100000000000000000000"))
    assert rows["e03"][:2] == (Decimal("77"), Decimal("4620"))
    reasons = {k: v[-1] for k, v in rows.items()}
    assert reasons["e10"] == "unparseable_number:quantity"
    assert reasons["e11"] == "negative_quantity"
    assert reasons["e12"] == "unknown_unit"
    assert reasons["e13"] == "unknown_resource"
    assert reasons["e14"] == "missing_field:account_id"
    assert reasons["e15"] == "missing_knowledge_time"
    assert reasons["e16"] == "unparseable_timestamp:occurred_at"
    assert reasons["e17"] == "unparseable_number:quantity"
    types = dict(_q(con, "select column_name, data_type from information_schema.columns "
                         "where table_schema='staging' and table_name='stg_compute__usage_events'"))
    assert types["quantity"] == types["quantity_base"] == "DECIMAL(38,9)"
    assert types["occurred_at"] == "TIMESTAMP"


def test_usage_events_dedup_first_recorded_wins(built):
    _, con = built
    assert _q(con, "select record_id, quantity, duplicate_count from intermediate.int_usage_events_deduplicated "
                   "where event_id = 'dup'") == [("e04", Decimal("4"), 2)]
    assert _q(con, "select record_id, duplicate_count from intermediate.int_usage_events_deduplicated "
                   "where event_id = 'ev-e03'") == [("e03", 0)]
    assert _q(con, "select count(*) from intermediate.int_usage_events_deduplicated") == [(4,)]


def test_samples_units_and_dedup(built):
    _, con = built
    got = _q(con, """select record_id, resource, value_base, duplicate_count
                     from intermediate.int_usage_samples_deduplicated order by record_id""")
    assert got == [("s1", "storage.bytes_used", Decimal("10000000000"), 0),
                   ("s2", "storage.bytes_used", Decimal("1610612736"), 1),
                   ("s4", "storage.files", Decimal("7"), 0)]
    reasons = dict(_q(con, "select record_id, reject_reason from staging.stg_storage__usage_samples "
                           "where reject_reason is not null"))
    assert reasons == {"s5": "unknown_resource", "s6": "negative_quantity"}


def test_contracts_versions(built):
    _, con = built
    got = _q(con, """select contract_id, data_size_bytes, valid_from, valid_to, version_number, duplicate_count
                     from intermediate.int_contract_versions_ordered order by valid_from""")
    assert got == [
        ("C1", 2000000000, datetime(2026, 9, 30, 12), datetime(2026, 10, 2), 1, 0),
        ("C1", 3000000000, datetime(2026, 10, 2), None, 2, 1),
    ]
    reasons = dict(_q(con, "select record_id, reject_reason from staging.stg_storage_network__contracts "
                           "where reject_reason is not null"))
    assert reasons == {"C2": "invalid_value:data_size", "C3": "end_before_begin",
                       "C4": "invalid_value:data_size", "C5": "missing_field:data_size"}
    assert _q(con, "select raw_document from marts.fct_rejected_records where record_id = 'C4'") == [
        ('{"_id": "C4", "data_size": {"$oid": "x"}}',)]


def test_transfers_audits_farmers(built):
    _, con = built
    assert _q(con, """select transfer_id, reporter, record_id, bytes, resource, duplicate_count
                      from intermediate.int_transfer_reports_deduplicated order by 1, 2""") == [
        ("T1", "farmer", "r2", 980000000, "network.download", 1),
        ("T1", "renter", "r1", 1000000000, "network.download", 0),
    ]
    assert dict(_q(con, "select record_id, reject_reason from staging.stg_storage_network__transfer_reports "
                        "where reject_reason is not null")) == {
        "r4": "invalid_value:direction", "r5": "invalid_value:bytes"}
    # audits are self-contained: an unknown contract_id is not a reject reason
    assert dict(_q(con, "select record_id, reject_reason from staging.stg_storage_network__audits")) == {
        "a1": None, "a2": "invalid_value:passed"}
    assert _q(con, "select passed from staging.stg_storage_network__audits where record_id='a1'") == [(False,)]
    assert dict(_q(con, "select record_id, reject_reason from staging.stg_storage_network__farmers "
                        "where reject_reason is not null")) == {
        "G": "unparseable_timestamp:joined_at", "H": "invalid_value:payout_address"}
    assert _q(con, """select farmer_id, payout_address, valid_from, valid_to
                      from intermediate.int_farmer_versions_ordered order by valid_from""") == [
        ("F", None, datetime(2026, 8, 15), datetime(2026, 10, 20)),
        ("F", "addr", datetime(2026, 10, 20), None),
    ]


def test_accounts_merged_across_sources(built):
    _, con = built
    got = _q(con, """select account_id, source_name, plan, discount_pct, valid_from, valid_to, is_latest
                     from intermediate.int_account_versions_merged order by account_id, version_number""")
    assert got == [
        ("acct1", "storage_network", "basic", Decimal("10"), datetime(2026, 9, 1), datetime(2026, 10, 1), False),
        ("acct1", "storage", "storage-plan", Decimal("2.5"), datetime(2026, 10, 1), datetime(2026, 10, 15), False),
        ("acct1", "compute", "pro", Decimal("0"), datetime(2026, 10, 15), None, True),
    ]
    assert _q(con, "select reject_reason from staging.stg_storage_network__renters where record_id='acct2'") == [
        ("unparseable_number:discount_pct",)]
    assert _q(con, "select reject_reason from staging.stg_storage__accounts where record_id='acct3'") == [
        ("missing_field:updated_at",)]


def test_periods_and_cutoffs(built):
    _, con = built
    assert _q(con, "select * from intermediate.int_periods order by period") == [
        ("2026-09", datetime(2026, 9, 1), datetime(2026, 10, 1), 720, datetime(2026, 10, 4), True, datetime(2026, 10, 4)),
        ("2026-10", datetime(2026, 10, 1), datetime(2026, 11, 1), 744, datetime(2026, 11, 4), True, datetime(2026, 11, 4)),
        ("2026-11", datetime(2026, 11, 1), datetime(2026, 12, 1), 720, datetime(2026, 12, 4), False, datetime(2026, 11, 10)),
    ]
    assert _q(con, "select usage_period, known_period, cutoff_at from intermediate.int_knowledge_cutoffs "
                   "order by usage_period, known_period") == [
        ("2026-09", "2026-09", datetime(2026, 10, 4)),
        ("2026-09", "2026-10", datetime(2026, 11, 4)),
        ("2026-09", "2026-11", datetime(2026, 11, 10)),
        ("2026-10", "2026-10", datetime(2026, 11, 4)),
        ("2026-10", "2026-11", datetime(2026, 11, 10)),
        ("2026-11", "2026-11", datetime(2026, 11, 10)),
    ]


def test_rejects_and_conservation_counts(built):
    _, con = built
    per = dict(((s, c), n) for s, c, n in _q(con, """
        select source_name, collection_name, count(*) from marts.fct_rejected_records group by all"""))
    assert per == {
        ("compute", "usage_events"): 8, ("storage", "usage_samples"): 2,
        ("storage_network", "contracts"): 4, ("storage_network", "transfer_reports"): 2,
        ("storage_network", "audits"): 1, ("storage_network", "farmers"): 2,
        ("storage_network", "renters"): 1, ("storage", "accounts"): 1,
    }
    # raw = kept + rejected + duplicates removed: usage events 14 = 4 + 8 + 2
    raw_events = _q(con, 'select count(*) from raw."compute__usage_events"')[0][0]
    kept, dups = _q(con, "select count(*), sum(duplicate_count) from intermediate.int_usage_events_deduplicated")[0]
    assert (raw_events, kept, dups) == (14, 4, 2)
    assert raw_events == kept + per[("compute", "usage_events")] + dups


def test_dim_resources(built):
    _, con = built
    got = _q(con, "select resource, source_name, collection_name, kind, billable_unit, base_per_billable_unit, "
                  "aggregation from marts.dim_resources order by resource")
    assert got == [
        ("compute.jobs_started", "compute", "usage_events", "counter", "count", Decimal("1"), "sum"),
        ("compute.time_used", "compute", "usage_events", "counter", "core_hours", Decimal("3600"), "sum"),
        ("network.download", "storage_network", "transfer_reports", "counter", "GB", Decimal("1000000000"), "sum"),
        ("network.storage", "storage_network", "contracts", "gauge", "GBh", Decimal("3600000000000"), "time_integral"),
        ("network.upload", "storage_network", "transfer_reports", "counter", "GB", Decimal("1000000000"), "sum"),
        ("storage.bytes_used", "storage", "usage_samples", "gauge", "GBh", Decimal("3600000000000"), "time_integral"),
        ("storage.files", "storage", "usage_samples", "gauge", "count", Decimal("1"), "peak"),
    ]


def test_raw_batches_check_the_staging_grain_once_per_batch(tmp_path):
    """A batch holding two rows with the same (record_id, knowledge_at, batch_id) fails the grain
    check (int_raw_batches_checked) once logged, and keeps failing in later incremental runs
    without being scanned again; a clean later batch adds no failure of its own."""
    wh = tmp_path / "wh.duckdb"
    con = duckdb.connect(str(wh))
    create_raw_tables(con)
    insert_raw(con, "compute", "usage_events", [_ev("d1"), _ev("d1"), _ev("d2")])
    con.close()
    select = ["int_raw_batches", "int_raw_batches_checked", "--indirect-selection", "cautious"]

    def grain_test(res):
        return [(r.node.name, str(r.status), r.failures) for r in res.result
                if r.node.name.startswith("accepted_values_int_raw_batches_checked_duplicate_rows")]

    first = run_dbt(["build", "--select", *select], wh, vars={"as_of": AS_OF}, target_dir=tmp_path / "t")
    assert [(s, f) for _, s, f in grain_test(first)] == [("fail", 1)]
    con = duckdb.connect(str(wh))
    assert _q(con, "select batch_id, duplicate_rows from intermediate.int_raw_batches_checked "
                   "where collection_name = 'usage_events'") == [("test-batch", 1)]
    insert_raw(con, "compute", "usage_events", [_ev("d3", _batch_id="batch-2")])
    con.close()
    second = run_dbt(["build", "--select", *select], wh, vars={"as_of": AS_OF}, target_dir=tmp_path / "t")
    assert [(s, f) for _, s, f in grain_test(second)] == [("fail", 1)]
    con = duckdb.connect(str(wh))
    assert _q(con, "select batch_id, duplicate_rows from intermediate.int_raw_batches_checked "
                   "where collection_name = 'usage_events' order by batch_seq") == [
        ("test-batch", 1), ("batch-2", 0)]
    con.close()
