"""Extraction from SecantusDB (real socket, pymongo/pymongoarrow) into the DuckDB raw schema."""
from __future__ import annotations

import datetime as dt
import json
import logging
import socket
import threading

import duckdb
import pytest
from bson import Decimal128, Int64, ObjectId
from pymongo import MongoClient

from extract.extraction import ExtractionError, extract_all, extract_collection
from extract.state import record_run, source_status, watermarks
from extract.warehouse import WarehouseLockTimeout, ensure_raw_schema, warehouse_writer

UTC = dt.timezone.utc


def T(*args) -> dt.datetime:
    return dt.datetime(*args)


def U(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def oid(n: int) -> ObjectId:
    return ObjectId(f"6a{n:022x}")


@pytest.fixture
def mongo(mongo_server):
    client = MongoClient(mongo_server.uri)
    yield lambda cfg, source: client[cfg.source(source).database]
    client.close()


def read(cfg, sql: str, params=None):
    con = duckdb.connect(str(cfg.warehouse_path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def count(cfg, table: str) -> int:
    return read(cfg, f"SELECT count(*) FROM raw.{table}")[0][0]


def clean_documents() -> dict[tuple[str, str], list[dict]]:
    """Two well-formed documents for every configured (source, collection)."""
    return {
        ("storage_network", "contracts"): [
            {"_id": oid(1), "renter_id": "R1", "bucket": "lab/alice", "farmer_id": "F1", "shard_hash": "h1",
             "data_size": Int64(2_000_000_000), "store_begin": T(2026, 9, 30, 12), "store_end": T(2026, 10, 3),
             "updated_at": T(2026, 9, 30, 12, 0, 0, 250000)},
            {"_id": oid(2), "renter_id": "R1", "bucket": "lab/bob", "farmer_id": "F1", "shard_hash": "h2",
             "data_size": 1_000_000_000, "store_begin": T(2026, 10, 1), "store_end": T(2026, 10, 31),
             "updated_at": T(2026, 10, 1)},
        ],
        ("storage_network", "transfer_reports"): [
            {"_id": oid(11 + i), "transfer_id": "T1", "reporter": reporter, "contract_id": oid(1),
             "renter_id": "R1", "farmer_id": "F1", "bucket": "lab/alice", "direction": "download", "bytes": n,
             "started_at": T(2026, 10, 2, 1), "completed_at": T(2026, 10, 2, 2), "recorded_at": T(2026, 10, 2, 3 + i)}
            for i, (reporter, n) in enumerate((("renter", Int64(1_000_000_000)), ("farmer", 980_000_000)))
        ],
        ("storage_network", "audits"): [
            {"_id": oid(21), "contract_id": oid(2), "farmer_id": "F1", "audited_at": T(2026, 10, 5),
             "passed": True, "recorded_at": T(2026, 10, 5, 0, 1)},
            {"_id": oid(22), "contract_id": oid(2), "farmer_id": "F1", "audited_at": T(2026, 10, 11),
             "passed": False, "recorded_at": T(2026, 10, 11, 0, 1)},
        ],
        ("storage_network", "farmers"): [
            {"_id": "F1", "joined_at": T(2026, 8, 15), "disqualified_at": None, "payout_address": "0xabc",
             "updated_at": T(2026, 8, 15)},
            {"_id": "F2", "joined_at": T(2026, 1, 1), "disqualified_at": T(2026, 10, 20),
             "updated_at": T(2026, 10, 20)},
        ],
        ("storage_network", "renters"): [
            {"_id": "R1", "plan": "basic", "discount_pct": 10, "updated_at": T(2026, 7, 1)},
            {"_id": "R2", "plan": "pro", "updated_at": T(2026, 7, 2)},
        ],
        ("compute", "usage_events"): [
            {"_id": oid(31 + i), "event_id": f"E{i}", "account_id": "A1", "context": ctx,
             "resource": "compute.time_used", "quantity": q, "unit": "core_hours",
             "occurred_at": T(2026, 10, 3, i), "recorded_at": T(2026, 10, 3, i, 5)}
            for i, (ctx, q) in enumerate((("lab/alice", 100), ("lab/bob", 50.5)))
        ],
        ("compute", "accounts"): [
            {"_id": "A1", "plan": "lab", "discount_pct": Decimal128("10"), "updated_at": T(2026, 6, 1)},
            {"_id": "A2", "plan": "free", "discount_pct": 0, "updated_at": T(2026, 6, 2)},
        ],
        ("storage", "usage_samples"): [
            {"_id": oid(41 + i), "account_id": "A1", "context": "lab", "resource": "storage.bytes_used",
             "value": v, "unit": "bytes", "observed_at": T(2026, 9, 30, 20 + i), "recorded_at": T(2026, 9, 30, 21 + i)}
            for i, v in enumerate((Int64(10_000_000_000), 20_000_000_000))
        ],
        ("storage", "accounts"): [
            {"_id": "A1", "plan": "lab", "updated_at": T(2026, 6, 3)},
            {"_id": "A3", "plan": "lab", "discount_pct": 12.5, "updated_at": T(2026, 6, 4)},
        ],
    }


def load(cfg, mongo, docs: dict[tuple[str, str], list[dict]], index: bool = True) -> None:
    for (source, collection), items in docs.items():
        coll = mongo(cfg, source)[collection]
        if items:
            coll.insert_many(items)
        if index:
            spec_cursor = "updated_at" if collection in ("contracts", "farmers", "renters", "accounts") else "recorded_at"
            coll.create_index(spec_cursor)


def test_every_collection_kind_is_extracted_with_exact_text(make_config, mongo):
    cfg = make_config()
    docs = clean_documents()
    load(cfg, mongo, docs)

    results = extract_all(cfg, now=U(2026, 11, 1))

    assert [(r.source, r.collection, r.rows_read, r.rows_inserted, r.rows_misfit) for r in results] == [
        (s, c, 2, 2, 0) for s, c in docs]
    assert len({r.batch_id for r in results}) == 1
    assert all(r.window_start == U(1970, 1, 1) and r.window_end == U(2026, 11, 1) for r in results)
    for (source, collection), items in docs.items():
        assert count(cfg, f"{source}__{collection}") == mongo(cfg, source)[collection].count_documents({}) == 2

    contract = read(cfg, """
        SELECT _id, renter_id, bucket, farmer_id, shard_hash, data_size, store_begin, store_end, updated_at,
               _knowledge_at, _misfit_fields, _raw_document, _source, _collection
        FROM raw.storage_network__contracts ORDER BY _id""")
    assert contract[0] == (
        "6a0000000000000000000001", "R1", "lab/alice", "F1", "h1", "2000000000",
        "2026-09-30T12:00:00.000Z", "2026-10-03T00:00:00.000Z", "2026-09-30T12:00:00.250Z",
        T(2026, 9, 30, 12, 0, 0, 250000), [], None, "storage_network", "contracts")
    assert read(cfg, "SELECT _id, bytes, contract_id, reporter FROM raw.storage_network__transfer_reports "
                     "ORDER BY _id") == [
        ("6a000000000000000000000b", "1000000000", "6a0000000000000000000001", "renter"),
        ("6a000000000000000000000c", "980000000", "6a0000000000000000000001", "farmer")]
    assert read(cfg, "SELECT passed FROM raw.storage_network__audits ORDER BY _id") == [("true",), ("false",)]
    assert read(cfg, "SELECT _id, disqualified_at, payout_address, _misfit_fields "
                     "FROM raw.storage_network__farmers ORDER BY _id") == [
        ("F1", None, "0xabc", []), ("F2", "2026-10-20T00:00:00.000Z", None, [])]
    assert read(cfg, "SELECT _id, discount_pct FROM raw.storage_network__renters ORDER BY _id") == [
        ("R1", "10"), ("R2", None)]
    assert read(cfg, "SELECT quantity FROM raw.compute__usage_events ORDER BY _id") == [("100",), ("50.5",)]
    assert read(cfg, "SELECT _id, discount_pct FROM raw.compute__accounts ORDER BY _id") == [
        ("A1", "10"), ("A2", "0")]
    assert read(cfg, "SELECT value FROM raw.storage__usage_samples ORDER BY _id") == [
        ("10000000000",), ("20000000000",)]
    assert read(cfg, "SELECT _id, discount_pct, _source FROM raw.storage__accounts ORDER BY _id") == [
        ("A1", None, "storage"), ("A3", "12.5", "storage")]
    runs = read(cfg, "SELECT status, count(*), sum(rows_inserted) FROM raw._extract_runs GROUP BY status")
    assert runs == [("success", 9, 18)]


def test_same_window_twice_is_idempotent(make_config, mongo):
    cfg = make_config()
    load(cfg, mongo, {k: v for k, v in clean_documents().items() if k[0] == "compute"})
    window = (U(2026, 10, 1), U(2026, 11, 1))
    first = extract_collection(cfg, "compute", "usage_events", window=window)
    second = extract_collection(cfg, "compute", "usage_events", window=window)
    assert (first.rows_read, first.rows_inserted) == (2, 2)
    assert (second.rows_read, second.rows_inserted) == (2, 0)
    assert count(cfg, "compute__usage_events") == 2
    # plain runs re-reading everything insert nothing either
    plain = extract_collection(cfg, "compute", "usage_events", window=(U(1970, 1, 1), U(2026, 12, 1)))
    assert (plain.rows_read, plain.rows_inserted) == (2, 0)


def test_incremental_plain_run_picks_up_new_documents_and_new_versions(make_config, mongo):
    cfg = make_config()
    db = mongo(cfg, "storage_network")
    load(cfg, mongo, {k: v for k, v in clean_documents().items()
                      if k in (("storage_network", "contracts"), ("storage_network", "audits"))})

    first = extract_collection(cfg, "storage_network", "contracts", now=U(2026, 10, 10))
    assert (first.window_start, first.window_end, first.rows_read, first.rows_inserted) == (
        U(1970, 1, 1), U(2026, 10, 10), 2, 2)
    extract_collection(cfg, "storage_network", "audits", now=U(2026, 10, 10))
    assert count(cfg, "storage_network__audits") == 1  # the second audit is recorded 10-11

    # a new version of contract 1 (MongoDB keeps only the current one) and a new contract
    db.contracts.update_one({"_id": oid(1)}, {"$set": {"updated_at": T(2026, 10, 12), "store_end": T(2026, 10, 5)}})
    db.contracts.insert_one({"_id": oid(3), "renter_id": "R2", "bucket": "b", "farmer_id": "F2", "shard_hash": "h3",
                             "data_size": 5, "store_begin": T(2026, 10, 11), "store_end": T(2026, 10, 20),
                             "updated_at": T(2026, 10, 11)})
    # contract 2 updated just inside the lookback hour is re-read but is not a new version
    second = extract_collection(cfg, "storage_network", "contracts", now=U(2026, 10, 13))
    assert (second.window_start, second.window_end, second.rows_read, second.rows_inserted) == (
        U(2026, 10, 9, 23), U(2026, 10, 13), 2, 2)
    audits = extract_collection(cfg, "storage_network", "audits", now=U(2026, 10, 13))
    assert (audits.rows_read, audits.rows_inserted) == (1, 1)

    assert read(cfg, "SELECT _id, store_end, updated_at FROM raw.storage_network__contracts "
                     "ORDER BY _id, _knowledge_at") == [
        ("6a0000000000000000000001", "2026-10-03T00:00:00.000Z", "2026-09-30T12:00:00.250Z"),
        ("6a0000000000000000000001", "2026-10-05T00:00:00.000Z", "2026-10-12T00:00:00.000Z"),
        ("6a0000000000000000000002", "2026-10-31T00:00:00.000Z", "2026-10-01T00:00:00.000Z"),
        ("6a0000000000000000000003", "2026-10-20T00:00:00.000Z", "2026-10-11T00:00:00.000Z")]
    # raw = MongoDB documents + extracted older versions
    assert count(cfg, "storage_network__contracts") == db.contracts.count_documents({}) + 1
    assert count(cfg, "storage_network__audits") == db.audits.count_documents({}) == 2
    assert watermarks_of(cfg)[("storage_network", "contracts")] == U(2026, 10, 13)


def watermarks_of(cfg):
    con = duckdb.connect(str(cfg.warehouse_path), read_only=True)
    try:
        return watermarks(con)
    finally:
        con.close()


def test_explicit_windows_partition_the_data(make_config, mongo, tmp_path):
    cfg = make_config()
    coll = mongo(cfg, "compute").usage_events
    coll.create_index("recorded_at")
    coll.insert_many([
        {"_id": f"e{i}", "event_id": f"E{i}", "account_id": "A1", "context": "c", "resource": "compute.jobs_started",
         "quantity": i, "unit": "count", "occurred_at": at, "recorded_at": at}
        for i, at in enumerate([T(2026, 10, 1), T(2026, 10, 1, 23, 59, 59, 999000), T(2026, 10, 2),
                                T(2026, 10, 2, 12), T(2026, 10, 3)])  # the last is outside both
    ])
    halves = tmp_path / "halves.duckdb"
    whole = tmp_path / "whole.duckdb"
    # the second half first: windows may run in any order
    b = extract_collection(cfg, "compute", "usage_events", window=(U(2026, 10, 2), U(2026, 10, 3)), warehouse=halves)
    a = extract_collection(cfg, "compute", "usage_events", window=(U(2026, 10, 1), U(2026, 10, 2)), warehouse=halves)
    w = extract_collection(cfg, "compute", "usage_events", window=(U(2026, 10, 1), U(2026, 10, 3)), warehouse=whole)
    assert (a.rows_inserted, b.rows_inserted, w.rows_inserted) == (2, 2, 4)

    cols = "_id, event_id, quantity, occurred_at, recorded_at, _knowledge_at, _misfit_fields, _raw_document"

    def rows(path):
        con = duckdb.connect(str(path), read_only=True)
        try:
            return con.execute(f"SELECT {cols} FROM raw.compute__usage_events ORDER BY _id").fetchall(), watermarks(con)
        finally:
            con.close()

    half_rows, half_marks = rows(halves)
    whole_rows, whole_marks = rows(whole)
    assert half_rows == whole_rows
    assert [r[0] for r in half_rows] == ["e0", "e1", "e2", "e3"]
    assert half_marks[("compute", "usage_events")] == whole_marks[("compute", "usage_events")] == U(2026, 10, 3)


def test_dirty_documents_are_kept_with_misfits_and_raw_document(make_config, mongo):
    cfg = make_config()
    coll = mongo(cfg, "compute").usage_events
    coll.create_index("recorded_at")
    at = T(2026, 10, 1, 5, 6, 7, 123000)
    base = {"event_id": "E", "account_id": "A1", "context": "c", "resource": "compute.time_used",
            "unit": "core_hours", "occurred_at": at, "recorded_at": at}
    quantities = {"int32": 7, "int64": Int64(1_099_511_627_776), "double": 1.5, "big": 1e20,
                  "dec": Decimal128("123.4500"), "str": "12.5"}
    coll.insert_many([{"_id": k, **base, "quantity": q} for k, q in quantities.items()])
    coll.insert_one({"_id": "no_unit", "event_id": "E", "account_id": "A1", "context": "c",
                     "resource": "compute.time_used", "quantity": 1, "occurred_at": at, "recorded_at": at})
    coll.insert_one({"_id": "no_cursor", "event_id": "E", "quantity": 2})
    coll.insert_one({"_id": "text_cursor", **base, "quantity": 3, "recorded_at": "2026-10-01"})
    coll.insert_one({"_id": "object_qty", **base, "quantity": {"v": 1}})

    result = extract_collection(cfg, "compute", "usage_events", window=(U(2026, 10, 1), U(2026, 10, 2)))
    assert (result.rows_read, result.rows_inserted, result.rows_misfit, result.rows_unwindowed) == (10, 10, 5, 2)

    got = {r[0]: r[1:] for r in read(cfg, "SELECT _id, quantity, unit, recorded_at, _knowledge_at, "
                                          "_misfit_fields, _raw_document FROM raw.compute__usage_events")}
    ts = "2026-10-01T05:06:07.123Z"
    for key, text in [("int32", "7"), ("int64", "1099511627776"), ("double", "1.5"), ("big", "1e+20"),
                      ("dec", "123.4500")]:
        assert got[key] == (text, "core_hours", ts, at, [], None)
    date = '{"$date": {"$numberLong": "1790831167123"}}'
    head = '"event_id": "E", "account_id": "A1", "context": "c", "resource": "compute.time_used"'
    assert got["str"] == ("12.5", "core_hours", ts, at, ["quantity"],
                          f'{{"_id": "str", {head}, "unit": "core_hours", "occurred_at": {date}, '
                          f'"recorded_at": {date}, "quantity": "12.5"}}')
    assert got["no_unit"] == ("1", None, ts, at, ["unit"],
                              f'{{"_id": "no_unit", {head}, "quantity": {{"$numberInt": "1"}}, '
                              f'"occurred_at": {date}, "recorded_at": {date}}}')
    assert got["no_cursor"] == ("2", None, None, None,
                                ["account_id", "context", "resource", "unit", "occurred_at", "recorded_at"],
                                '{"_id": "no_cursor", "event_id": "E", "quantity": {"$numberInt": "2"}}')
    assert got["text_cursor"][:5] == ("3", "core_hours", "2026-10-01", None, ["recorded_at"])
    assert json.loads(got["text_cursor"][5])["recorded_at"] == "2026-10-01"
    assert got["object_qty"][:5] == (None, "core_hours", ts, at, ["quantity"])
    assert json.loads(got["object_qty"][5])["quantity"] == {"v": {"$numberInt": "1"}}

    # documents without a date cursor are swept by every run but inserted once per distinct content
    again = extract_collection(cfg, "compute", "usage_events", window=(U(2026, 10, 2), U(2026, 10, 3)))
    assert (again.rows_read, again.rows_inserted) == (2, 0)
    coll.update_one({"_id": "no_cursor"}, {"$set": {"quantity": 4}})
    changed = extract_collection(cfg, "compute", "usage_events", window=(U(2026, 10, 3), U(2026, 10, 4)))
    assert (changed.rows_read, changed.rows_inserted) == (2, 1)
    assert count(cfg, "compute__usage_events") == coll.count_documents({}) + 1 == 11


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_unreachable_source_fails_clearly_and_changes_nothing(make_config, mongo, monkeypatch, caplog):
    cfg = make_config(extract={"batch_size": 1000, "lookback_hours": 1, "server_selection_timeout_ms": 300})
    load(cfg, mongo, {("compute", "usage_events"): clean_documents()[("compute", "usage_events")]})
    ok = extract_collection(cfg, "compute", "usage_events", now=U(2026, 10, 3, 12))
    assert ok.rows_inserted == 2

    mongo(cfg, "compute").usage_events.insert_one(
        {"_id": "late", "event_id": "L", "account_id": "A1", "context": "c", "resource": "compute.time_used",
         "quantity": 1, "unit": "core_hours", "occurred_at": T(2026, 10, 4), "recorded_at": T(2026, 10, 4)})
    bad = f"mongodb://billing:s3cr3t-pw@127.0.0.1:{_closed_port()}/compute?authSource=admin"
    monkeypatch.setenv("ABACUS_COMPUTE_URI", bad)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ExtractionError) as info:
        extract_collection(cfg, "compute", "usage_events", now=U(2026, 10, 5))
    message = str(info.value)
    assert message.startswith("compute.usage_events: extraction of [2026-10-03T11:00:00, 2026-10-05T00:00:00) failed: ")
    assert "\n" not in message
    for text in (message, caplog.text):
        assert "s3cr3t" not in text and "billing" not in text

    assert count(cfg, "compute__usage_events") == 2
    assert watermarks_of(cfg)[("compute", "usage_events")] == U(2026, 10, 3, 12)
    runs = read(cfg, "SELECT status, window_start, window_end, error, rows_inserted FROM raw._extract_runs "
                     "ORDER BY started_at")
    assert [r[:3] for r in runs] == [("success", T(1970, 1, 1), T(2026, 10, 3, 12)),
                                     ("failed", T(2026, 10, 3, 11), T(2026, 10, 5))]
    assert runs[1][3] == message and runs[1][4] is None
    con = duckdb.connect(str(cfg.warehouse_path), read_only=True)
    try:
        status = source_status(con, cfg)
        view = con.execute("SELECT last_status, last_error FROM raw._extract_watermarks "
                           "WHERE collection = 'usage_events'").fetchall()
    finally:
        con.close()
    assert view == [("failed", message)]
    assert status["compute"].failed is True
    assert status["compute"].watermark is None  # compute.accounts was never extracted
    assert status["compute"].errors == [f"usage_events: {message}"]
    assert status["storage"].failed is False and status["storage"].watermark is None

    # extract_all carries on with the other sources and then names every failure
    with pytest.raises(ExtractionError) as info:
        extract_all(cfg, now=U(2026, 10, 5))
    assert [f[:2] for f in info.value.failures] == [("compute", "usage_events"), ("compute", "accounts")]
    assert len(info.value.results) == 7
    assert str(info.value).startswith(
        "extraction failed for 2 collection(s): compute.usage_events, compute.accounts; first error: ")
    assert "s3cr3t" not in str(info.value)


def test_watermark_is_the_end_of_the_first_island(tmp_path):
    class Cfg:
        sources = ()

        @staticmethod
        def collections():
            return []

    def run(con, start, end, status="success"):
        record_run(con, batch_id="b", source="s", collection="c", window_start=T(*start), window_end=T(*end),
                   status=status, error=None if status == "success" else "boom", rows_read=0,
                   rows_inserted=0, started_at=T(2026, 11, 1), finished_at=T(2026, 11, 1))
        return watermarks(con)[("s", "c")]

    with warehouse_writer(tmp_path / "w.duckdb") as con:
        ensure_raw_schema(con, Cfg)
        assert watermarks(con) == {}
        assert run(con, (2026, 10, 3), (2026, 10, 4)) == U(2026, 10, 4)
        assert run(con, (2026, 10, 1), (2026, 10, 2)) == U(2026, 10, 2)  # gap 10-02..10-03
        assert run(con, (2026, 10, 4), (2026, 10, 5), "failed") == U(2026, 10, 2)
        assert run(con, (2026, 10, 1, 12), (2026, 10, 2, 6)) == U(2026, 10, 2, 6)  # overlap extends
        assert run(con, (2026, 10, 2, 6), (2026, 10, 3)) == U(2026, 10, 4)  # gap closed, islands join
        assert run(con, (2026, 10, 5), (2026, 10, 6)) == U(2026, 10, 4)  # failed 10-04 still a gap
        assert run(con, (2026, 10, 4), (2026, 10, 5)) == U(2026, 10, 6)  # retried window succeeds
        assert run(con, (2026, 9, 30), (2026, 10, 1)) == U(2026, 10, 6)  # earlier start, adjacent


def test_parallel_daily_windows_through_extraction(make_config, mongo):
    cfg = make_config()
    coll = mongo(cfg, "storage").usage_samples
    coll.create_index("recorded_at")
    coll.insert_many([{"_id": f"s{d}", "account_id": "A", "context": "c", "resource": "storage.files",
                       "value": d, "unit": "count", "observed_at": T(2026, 10, d), "recorded_at": T(2026, 10, d, 1)}
                      for d in range(1, 5)])
    days = [(U(2026, 10, d), U(2026, 10, d + 1)) for d in (3, 1, 4, 2)]
    errors = []

    def worker(window):
        try:
            extract_collection(cfg, "storage", "usage_samples", window=window)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(w,)) for w in days]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert count(cfg, "storage__usage_samples") == 4
    assert watermarks_of(cfg)[("storage", "usage_samples")] == U(2026, 10, 5)


def test_writer_lock_times_out_with_a_clear_error(tmp_path):
    path = tmp_path / "locked.duckdb"
    with warehouse_writer(path):
        with pytest.raises(WarehouseLockTimeout) as info:
            with warehouse_writer(path, timeout=0.2):
                pass
    assert str(info.value).startswith(f"warehouse {path} is locked by another writer (pid ")
    with warehouse_writer(path) as con:  # released
        assert con.execute("SELECT 1").fetchone() == (1,)


def test_missing_cursor_index_is_warned(make_config, mongo, caplog):
    cfg = make_config()
    mongo(cfg, "compute").accounts.insert_one({"_id": "A", "plan": "p", "updated_at": T(2026, 1, 1)})
    caplog.set_level(logging.WARNING, logger="abacus.extract")
    result = extract_collection(cfg, "compute", "accounts", now=U(2026, 2, 1))
    assert result.rows_inserted == 1
    assert "compute.accounts: no index starts with cursor field 'updated_at'" in caplog.text


def test_embedded_environment_points_every_source_at_the_server(make_config, mongo_server):
    from extract.embedded import embedded_environment

    cfg = make_config()
    assert embedded_environment(cfg, mongo_server.uri) == {
        "ABACUS_STORAGE_NETWORK_URI": mongo_server.uri, "ABACUS_COMPUTE_URI": mongo_server.uri,
        "ABACUS_STORAGE_URI": mongo_server.uri}
    assert mongo_server.uri.startswith("mongodb://127.0.0.1:")
    assert len({s.database for s in cfg.sources}) == 3  # one server, each source its own database


def test_misfit_document_changed_between_reads_is_kept_without_raw_copy(make_config, mongo, caplog):
    from extract.extraction import _refetch_misfits
    from extract.schemas import COLLECTIONS

    cfg = make_config()
    coll = mongo(cfg, "compute").accounts
    coll.insert_many([{"_id": "A", "plan": 5, "updated_at": T(2026, 1, 2)},
                      {"_id": oid(7), "plan": 6, "updated_at": T(2026, 1, 3)},
                      {"_id": 42, "plan": 7, "updated_at": T(2026, 1, 4)}])
    caplog.set_level(logging.WARNING, logger="abacus.extract")
    table = _refetch_misfits(coll, COLLECTIONS["accounts"], [
        ("A", T(2026, 1, 1)),  # stale: the document now has updated_at 2026-01-02
        ("6a0000000000000000000007", T(2026, 1, 3)), ("42", T(2026, 1, 4))])
    assert sorted(table.column("_id").to_pylist()) == ["42", "6a0000000000000000000007"]
    assert sorted(table.column("raw_document").to_pylist())[0].startswith(
        '{"_id": {"$numberInt": "42"}, "plan": {"$numberInt": "7"}')
    assert "accounts: 1 misfit document(s) changed before their raw copy was read" in caplog.text


def test_extract_all_rejects_an_unknown_source_name(make_config):
    from extract.config import ConfigError

    cfg = make_config()
    with pytest.raises(ConfigError, match=r"^sources: no source named 'billing'"):
        extract_all(cfg, sources=["billing"])
