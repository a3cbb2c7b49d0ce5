"""The generated source network: determinism, shapes, dirt, and the two writers agreeing."""
from __future__ import annotations

import collections
import datetime as dt

import duckdb
import numpy as np
import pyarrow as pa
import pytest
from bson import Decimal128, Int64, ObjectId
from pymongo import MongoClient

from extract.extraction import extract_all
from extract.generate import (
    NetworkSpec, T_DATE, T_DEC, T_DOUBLE, T_INT32, T_INT64, T_STR, Cols, SCALE, _raw_select,
    _with_raw_documents, documents, generate_documents, generate_increment, main,
    write_increment_to_mongo, write_raw_parquet, write_raw_to_duckdb, write_to_mongo,
)
from extract.schemas import COLLECTIONS, raw_columns, raw_table_name

UTC = dt.timezone.utc
HORIZON = dt.datetime(2026, 11, 10)


def naive(t):
    return t.astimezone(UTC).replace(tzinfo=None) if t.tzinfo else t


def close_of(t: dt.datetime) -> dt.datetime:
    t = naive(t)
    nxt = dt.datetime(t.year + (t.month == 12), t.month % 12 + 1, 1)
    return nxt + dt.timedelta(hours=72)


@pytest.fixture(scope="module")
def demo_docs():
    return generate_documents(NetworkSpec.demo())


# ------------------------------------------------------------------ determinism and sizes
def test_same_seed_same_documents_other_seed_different():
    a = generate_documents(NetworkSpec.tiny(seed=7))
    b = generate_documents(NetworkSpec.tiny(seed=7))
    c = generate_documents(NetworkSpec.tiny(seed=8))
    assert a == b
    assert a.keys() == c.keys()
    for key in a:
        assert a[key] != c[key], key


def test_tiny_counts_are_fixed():
    counts = {k: len(v) for k, v in generate_documents(NetworkSpec.tiny()).items()}
    assert counts == {
        ("storage_network", "contracts"): 60, ("storage_network", "transfer_reports"): 115,
        ("storage_network", "audits"): 40, ("storage_network", "farmers"): 6,
        ("storage_network", "renters"): 8, ("compute", "usage_events"): 150,
        ("compute", "accounts"): 6, ("storage", "usage_samples"): 368, ("storage", "accounts"): 6,
    }


def test_demo_size_and_every_timestamp_in_the_past(demo_docs):
    total = sum(len(v) for v in demo_docs.values())
    assert 20_000 <= total <= 30_000
    for (src, coll), docs in demo_docs.items():
        for d in docs:
            for k, v in d.items():
                if isinstance(v, dt.datetime):
                    assert naive(v) < HORIZON, (coll, k, v)


# ------------------------------------------------------------------ shapes
def test_vocabulary(demo_docs):
    ev = demo_docs[("compute", "usage_events")]
    pairs = collections.Counter((d.get("resource"), d.get("unit")) for d in ev)
    assert pairs[("compute.time_used", "core_seconds")] > pairs[("compute.time_used", "core_hours")] > 0
    assert pairs[("compute.jobs_started", "count")] > 0
    sm = demo_docs[("storage", "usage_samples")]
    pairs = collections.Counter((d.get("resource"), d.get("unit")) for d in sm)
    assert pairs[("storage.bytes_used", "bytes")] > pairs[("storage.bytes_used", "GB")] > 0
    assert pairs[("storage.files", "count")] > 0
    ctx = {d["context"] for d in ev if "context" in d}
    assert {c.count("/") for c in ctx} == {0, 1, 2}
    acc = demo_docs[("compute", "accounts")]
    assert all(d["_id"].startswith("acct-") and len(d["_id"]) == 9 for d in acc)
    assert {d.get("plan") for d in acc} - {None} == {"free", "starter", "pro"}
    renters = {d["_id"] for d in demo_docs[("storage_network", "renters")]}
    assert renters & {d["_id"] for d in acc}  # one account namespace across sources
    c = demo_docs[("storage_network", "contracts")][0]
    assert isinstance(c["_id"], ObjectId)
    farmers = demo_docs[("storage_network", "farmers")]
    assert any(f.get("disqualified_at") is not None for f in farmers)
    assert sum(f.get("joined_at") is not None and naive(f["joined_at"]) >= dt.datetime(2026, 8, 1)
               for f in farmers) > 10  # farmers keep joining


def test_transfers_are_paired_with_some_missing_and_mismatched(demo_docs):
    reports = demo_docs[("storage_network", "transfer_reports")]
    contracts = {str(d["_id"]) for d in demo_docs[("storage_network", "contracts")]}
    by = collections.defaultdict(dict)
    for r in reports:
        if "transfer_id" in r:
            by[r["transfer_id"]][r["reporter"]] = r
    both = [t for t in by.values() if {"renter", "farmer"} <= t.keys()]
    single = [t for t in by.values() if len(t) == 1]
    assert len(both) > 0.9 * len(by)
    assert len(single) > 0.01 * len(by)
    mismatch = [t for t in both if isinstance(t["renter"]["bytes"], int) and isinstance(t["farmer"]["bytes"], int)
                and abs(t["renter"]["bytes"] - t["farmer"]["bytes"]) > 0.01 * t["renter"]["bytes"]]
    assert len(mismatch) > 0.005 * len(both)
    assert sum(r.get("contract_id") in contracts for r in reports) > 0.95 * len(reports)


def test_contracts_span_months_and_have_versions():
    spec = NetworkSpec.demo()
    con = duckdb.connect()
    write_raw_to_duckdb(spec, con)
    span = con.execute("""
        SELECT count(*) FROM raw.storage_network__contracts
        WHERE date_trunc('month', store_begin::TIMESTAMP) < date_trunc('month', store_end::TIMESTAMP)
          AND length(store_begin) = 24 AND length(store_end) = 24""").fetchone()[0]
    assert span > 500
    versions = con.execute("""
        SELECT count(*) FROM (SELECT _id FROM raw.storage_network__contracts GROUP BY _id
                              HAVING count(DISTINCT store_end) > 1)""").fetchone()[0]
    assert versions > 100
    disq = con.execute("""SELECT count(*) FROM raw.storage_network__farmers
                          GROUP BY _id HAVING count(*) = 2""").fetchall()
    assert len(disq) > 0


def test_late_records_exist_and_most_are_prompt(demo_docs):
    for coll, field in [(("compute", "usage_events"), "occurred_at"),
                        (("storage", "usage_samples"), "observed_at"),
                        (("storage_network", "transfer_reports"), "completed_at"),
                        (("storage_network", "audits"), "audited_at")]:
        docs = [d for d in demo_docs[coll]
                if isinstance(d.get(field), dt.datetime) and isinstance(d.get("recorded_at"), dt.datetime)]
        late = [d for d in docs if naive(d["recorded_at"]) >= close_of(d[field])]
        prompt = [d for d in docs if naive(d["recorded_at"]) - naive(d[field]) < dt.timedelta(hours=6)]
        assert 0.002 * len(docs) < len(late) < 0.05 * len(docs), coll
        assert len(prompt) > 0.9 * len(docs), coll


# ------------------------------------------------------------------ dirt
def _bson_kinds(docs, field):
    return collections.Counter(type(d[field]).__name__ if field in d else "missing" for d in docs)


def test_every_dirty_kind_present_at_demo_size(demo_docs):
    ev = demo_docs[("compute", "usage_events")]
    kinds = _bson_kinds(ev, "quantity")
    for k in ("int", "Int64", "float", "Decimal128", "str", "missing"):
        assert kinds[k] > 0, k
    strs = [d["quantity"] for d in ev if isinstance(d.get("quantity"), str)]
    assert any(s.endswith("x") for s in strs) and any(not s.endswith("x") for s in strs)
    assert any(isinstance(d.get("quantity"), int) and d["quantity"] < 0 for d in ev)
    assert any(d.get("resource") == "compute.gpu_time" for d in ev)
    assert any(d.get("unit") == "core_minutes" for d in ev)
    assert any("recorded_at" not in d for d in ev)
    assert any("occurred_at" in d and d["occurred_at"] is None for d in ev)
    assert any(isinstance(d.get("occurred_at"), str) for d in ev)
    ids = collections.Counter(d.get("event_id") for d in ev if "event_id" in d)
    dups = [e for e, n in ids.items() if n > 1]
    assert dups
    first = [d for d in ev if d.get("event_id") == dups[0]]
    assert len({d["_id"] for d in first}) == 2

    sm = demo_docs[("storage", "usage_samples")]
    key = collections.Counter((d.get("account_id"), d.get("context"), d.get("resource"), d.get("observed_at"))
                              for d in sm if "observed_at" in d)
    assert max(key.values()) == 2
    assert any(d.get("resource") == "storage.inodes" for d in sm)
    assert any(d.get("unit") == "blocks" for d in sm)

    ct = demo_docs[("storage_network", "contracts")]
    assert any(isinstance(d.get("store_end"), dt.datetime) and isinstance(d.get("store_begin"), dt.datetime)
               and naive(d["store_end"]) < naive(d["store_begin"]) for d in ct)
    assert _bson_kinds(ct, "data_size")["Decimal128"] > 0
    assert any("renter_id" not in d for d in ct)
    assert any("updated_at" not in d for d in ct)
    au = demo_docs[("storage_network", "audits")]
    assert any(d.get("passed") is False for d in au)
    assert any(isinstance(d.get("passed"), str) for d in au)
    assert 0.005 < sum(d.get("passed") is False for d in au) / len(au) < 0.04
    tr = demo_docs[("storage_network", "transfer_reports")]
    assert any(d.get("direction") == "sideways" for d in tr)
    acc = demo_docs[("compute", "accounts")] + demo_docs[("storage", "accounts")] + \
        demo_docs[("storage_network", "renters")]
    assert {12.5, 5, 10, 0} <= {float(str(d["discount_pct"]).rstrip("x")) for d in acc
                                if "discount_pct" in d and not str(d["discount_pct"]).endswith("x")}


def test_dirty_fraction_follows_the_spec():
    from extract.generate import Network, collection_tables, _configured
    for frac in (0.02, 0.2):
        spec = NetworkSpec.demo(dirty_fraction=frac)
        net = Network(spec)
        for src_name, src, coll in _configured(None):
            if coll in ("farmers", "renters", "accounts"):
                continue  # too few documents for a rate
            tbl = next(collection_tables(spec, coll, src, net))
            rate = np.asarray(tbl.column("#dirty").to_numpy(zero_copy_only=False)).mean()
            assert 0.5 * frac < rate < 1.5 * frac, (coll, frac, rate)


# ------------------------------------------------------------------ rendering vs the server
def test_number_rendering_matches_server_to_string(mongo_server):
    values = [(5 * SCALE, T_INT32), (2**40 * SCALE, T_INT64), (7 * SCALE, T_INT64), (1500, T_DOUBLE),
              (125, T_DOUBLE), (12345678, T_DOUBLE), (3 * SCALE, T_DOUBLE), (-2500, T_DOUBLE),
              (500 * 10**12 * SCALE, T_DOUBLE), (123450, T_DEC), (-7 * SCALE, T_DEC), (1, T_DEC),
              (12500, T_STR), (42 * SCALE, T_STR)]
    n = len(values)
    c = Cols("usage_events", n)
    c.set("_id", pa.array([f"n{i:02d}" for i in range(n)]))
    for f in ("event_id", "account_id", "context", "resource", "unit"):
        c.set(f, pa.array([f"{f}-{i}" for i in range(n)]))
    c.set("quantity", np.array([v for v, _ in values]), np.array([t for _, t in values]))
    t0 = int(dt.datetime(2026, 10, 1, 5, 6, 7, 123000, tzinfo=UTC).timestamp() * 1000)
    c.set("occurred_at", t0 + np.arange(n) * 1001)
    c.set("recorded_at", t0 + np.arange(n) * 1001 + 500)
    c.bad[-1] = True
    tbl = _with_raw_documents(c.table(), "usage_events")
    con = duckdb.connect()
    con.register("v", tbl)
    rows = con.execute(_raw_select("usage_events", "v"),
                       {"source": "s", "collection": "usage_events", "batch": "b",
                        "extracted": dt.datetime(2026, 11, 10)}).fetchall()
    mine = {r[0]: r for r in rows}
    with MongoClient(mongo_server.uri) as client:
        coll = client["gen_tostring"]["usage_events"]
        coll.drop()
        coll.insert_many(documents(tbl, "usage_events"))
        server = {d["_id"]: d for d in coll.aggregate([{"$project": {
            "q": {"$toString": "$quantity"}, "o": {"$toString": "$occurred_at"}, "t": {"$type": "$quantity"}}}])}
    assert [server[f"n{i:02d}"]["t"] for i in range(n)] == [
        "int", "long", "long", "double", "double", "double", "double", "double", "double",
        "decimal", "decimal", "decimal", "string", "string"]
    got = [mine[f"n{i:02d}"][5] for i in range(n)]
    assert got == [server[f"n{i:02d}"]["q"] for i in range(n)]
    assert got == ["5", "1099511627776", "7", "1.5", "0.125", "12345.678", "3", "-2.5",
                   "500000000000000", "123.4500", "-7.0000", "0.0010", "12.5", "42x"]
    assert [mine[f"n{i:02d}"][7] for i in range(n)] == [server[f"n{i:02d}"]["o"] for i in range(n)]
    assert mine["n00"][7] == "2026-10-01T05:06:07.123Z"
    # misfits: the numeric strings, with their canonical Extended JSON
    assert [i for i in range(n) if mine[f"n{i:02d}"][10]] == [12, 13]
    assert mine["n12"][10] == ["quantity"] and '"quantity": "12.5"' in mine["n12"][11]


# ------------------------------------------------------------------ MongoDB and equivalence
def test_tiny_to_mongo_counts_and_indexes(make_config, mongo_server):
    cfg = make_config()
    spec = NetworkSpec.tiny()
    counts = write_to_mongo(spec, {s.name: s.uri() for s in cfg.sources}, cfg)
    expected = {k: len(v) for k, v in generate_documents(spec, cfg).items()}
    assert counts == expected
    with MongoClient(mongo_server.uri) as client:
        for s in cfg.sources:
            for c in s.collections:
                coll = client[s.database][c]
                assert coll.count_documents({}) == counts[(s.name, c)]
                keys = [info["key"][0][0] for info in coll.index_information().values()]
                assert COLLECTIONS[c].cursor in keys


def _rows(con, table, cols):
    return sorted(con.execute(f'SELECT {cols} FROM {table}').fetchall(), key=repr)


def test_extraction_from_mongo_equals_direct_raw_rows(make_config, tmp_path):
    cfg = make_config()
    spec = NetworkSpec.tiny()
    write_to_mongo(spec, {s.name: s.uri() for s in cfg.sources}, cfg)
    ext = duckdb.connect(str(tmp_path / "ext.duckdb"))
    extract_all(cfg, window=(dt.datetime(1970, 1, 1), dt.datetime(2026, 11, 20)), warehouse=ext,
                now=dt.datetime(2026, 11, 20))
    direct = duckdb.connect()
    counts = write_raw_to_duckdb(spec, direct, cfg, final_only=True)
    assert sum(counts.values()) == 759
    for (src, coll), n in counts.items():
        cols = ", ".join(f'"{c}"' for c, _ in raw_columns(COLLECTIONS[coll])[:-4]) + ", _source, _collection"
        t = f'raw."{raw_table_name(src, coll)}"'
        a, b = _rows(ext, t, cols), _rows(direct, t, cols)
        assert len(a) == n
        assert a == b, (src, coll)
    misfits = direct.execute("SELECT count(*) FROM raw.compute__usage_events WHERE len(_misfit_fields) > 0 "
                             "AND _raw_document IS NOT NULL").fetchone()[0]
    assert misfits > 0


def test_increment_inserts_late_and_replaces_versions(make_config, mongo_server):
    cfg = make_config()
    spec = NetworkSpec.tiny()
    uris = {s.name: s.uri() for s in cfg.sources}
    base = write_to_mongo(spec, uris, cfg)
    inc = generate_increment(NetworkSpec.demo(), 1)
    ev = inc.inserts[("compute", "usage_events")]
    assert any(naive(d["recorded_at"]) >= close_of(d["occurred_at"]) for d in ev
               if isinstance(d.get("occurred_at"), dt.datetime) and "recorded_at" in d)
    assert generate_increment(NetworkSpec.demo(), 1).inserts == inc.inserts
    done = write_increment_to_mongo(spec, uris, cfg, day=1)
    repl = generate_increment(spec, 1, cfg).replacements[("storage_network", "contracts")]
    db = cfg.source("storage_network").database
    with MongoClient(mongo_server.uri) as client:
        for (s, c), n in done.items():
            if (s, c) in generate_increment(spec, 1, cfg).inserts:
                assert client[cfg.source(s).database][c].count_documents({}) >= base[(s, c)] + 1
        assert client[db].contracts.count_documents({}) == base[("storage_network", "contracts")] + 1
        for d in repl:
            got = client[db].contracts.find_one({"_id": d["_id"]})
            assert naive(got["updated_at"]) >= dt.datetime(2026, 11, 10)
            assert naive(got["store_end"]) == naive(d["store_end"])


# ------------------------------------------------------------------ direct writers and CLI
def test_parquet_and_duckdb_writers_agree(tmp_path):
    spec = NetworkSpec.tiny()
    con = duckdb.connect()
    counts = write_raw_to_duckdb(spec, con)
    pcounts = write_raw_parquet(spec, tmp_path / "pq")
    assert counts == pcounts
    assert counts[("storage_network", "contracts")] > 60  # every version
    for (src, coll), n in counts.items():
        name = raw_table_name(src, coll)
        cols = ", ".join(f'"{c}"' for c, _ in raw_columns(COLLECTIONS[coll]))
        a = _rows(con, f'raw."{name}"', cols)
        b = _rows(con, f"read_parquet('{tmp_path / 'pq' / name}/*.parquet')", cols)
        assert a == b and len(a) == n


def test_cli_writes_duckdb(tmp_path, capsys):
    out = tmp_path / "g.duckdb"
    assert main(["--size", "tiny", "--seed", "7", "--to", "duckdb", "--out", str(out)]) == 0
    con = duckdb.connect(str(out))
    assert con.execute("SELECT count(*) FROM raw.compute__usage_events").fetchone()[0] == 150
    assert "compute.usage_events: 150" in capsys.readouterr().out
    assert main(["--size", "XL", "--to", "duckdb", "--out", str(out)]) == 2


def test_reference_renderer_equals_direct_writer_and_increment_rows(tmp_path):
    from extract.generate import raw_row
    spec = NetworkSpec.tiny()
    con = duckdb.connect()
    write_raw_to_duckdb(spec, con, final_only=True)
    for (src, coll), docs in generate_documents(spec).items():
        cols = [c for c, _ in raw_columns(COLLECTIONS[coll])[:-4]]
        got = _rows(con, f'raw."{raw_table_name(src, coll)}"', ", ".join(f'"{c}"' for c in cols))
        ref = sorted((tuple(raw_row(d, coll)[c] for c in cols) for d in docs), key=repr)
        assert got == ref, coll
    from extract.generate import write_increment_to_duckdb
    before = con.execute("SELECT count(*) FROM raw.storage_network__contracts").fetchone()[0]
    inc = write_increment_to_duckdb(spec, con, day=2)
    assert inc[("storage_network", "contracts")] == 1 + 1  # one new contract, one new version
    assert con.execute("SELECT count(*) FROM raw.storage_network__contracts").fetchone()[0] == before + 2
    assert con.execute("SELECT min(_knowledge_at) FROM raw.compute__usage_events "
                       "WHERE _batch_id = 'generated-day2'").fetchone()[0] >= dt.datetime(2026, 11, 11)
