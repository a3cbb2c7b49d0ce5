"""Extraction benchmark on one embedded SecantusDB server.

    .venv/bin/python -m bench.bench_extract --docs 20000

(a) end-to-end extraction rate, pymongoarrow raw-batch path (``extract_collection``) vs a plain
    pymongo ``find()`` -> Python dicts -> DuckDB path, and their ratio;
(b) client-side decode rate of pre-fetched raw BSON batches to Arrow (no server in the loop),
    beside ``bson.decode_all`` to dicts for scale;
(c) peak memory (VmHWM, and pyarrow's pool peak) of extracting a collection of N documents
    and one of 10N, each in a fresh subprocess: the peak should not grow with collection size.
Speed is only measured here, never asserted in tests.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

COLLECTION = "usage_events"
SOURCE = "compute"
URI_ENV = "ABACUS_BENCH_URI"


def _config(workdir: Path, database: str, warehouse: Path, batch_size: int, memory_limit: str | None = None):
    from extract.config import load_config

    path = workdir / f"bench_{database}.yml"
    path.write_text(yaml.safe_dump({
        "warehouse": {"path": str(warehouse)},
        "extract": {"batch_size": batch_size, "lookback_hours": 1,
                    **({"duckdb_memory_limit": memory_limit} if memory_limit else {})},
        "sources": [{"name": SOURCE, "uri_env": URI_ENV, "database": database,
                     "collections": [COLLECTION], "resources": ["compute.time_used"]}],
    }))
    return load_config(path, environ={URI_ENV: "unused"}, require_env=False)


def _populate(coll, n: int, chunk: int = 10_000) -> float:
    from bson import Int64

    if coll.estimated_document_count() == n:
        return 0.0  # populated by an earlier run with the same --workdir
    coll.drop()
    t0 = time.perf_counter()
    base = dt.datetime(2026, 10, 1)
    for lo in range(0, n, chunk):
        docs = []
        for i in range(lo, min(n, lo + chunk)):
            at = base + dt.timedelta(seconds=i)
            q = (i % 97) if i % 3 == 0 else (Int64(i * 1000) if i % 3 == 1 else i / 8)
            docs.append({"_id": f"ev{i:09d}", "event_id": f"E{i}", "account_id": f"A{i % 50}",
                         "context": f"lab/u{i % 13}", "resource": "compute.time_used", "quantity": q,
                         "unit": "core_seconds", "occurred_at": at, "recorded_at": at})
        coll.insert_many(docs, ordered=False)
    coll.create_index("recorded_at")
    return time.perf_counter() - t0


def _plain_pymongo_to_duckdb(coll, spec, warehouse: Path, batch_size: int) -> int:
    """The straightforward path: find() -> dicts -> render text in Python -> DuckDB."""
    import duckdb
    import pyarrow as pa

    from extract.schemas import raw_table_ddl

    con = duckdb.connect(str(warehouse))
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    con.execute(raw_table_ddl(SOURCE, COLLECTION))
    names = ["_id", *spec.field_names]
    n = 0
    rows: list[dict] = []

    def flush():
        table = pa.Table.from_pylist(rows, schema=pa.schema([(c, pa.string()) for c in names]))
        con.register("plain_batch", table)
        cols = ", ".join(f'"{c}"' for c in names)
        con.execute(f"INSERT INTO raw.{SOURCE}__{COLLECTION} ({cols}) SELECT {cols} FROM plain_batch")
        con.unregister("plain_batch")

    def text(v):
        if v is None:
            return None
        if isinstance(v, dt.datetime):
            return v.strftime("%Y-%m-%dT%H:%M:%S.") + f"{v.microsecond // 1000:03d}Z"
        return str(v)

    for doc in coll.find({}, batch_size=batch_size):
        rows.append({c: text(doc.get(c)) for c in names})
        if len(rows) >= batch_size:
            flush()
            n += len(rows)
            rows = []
    if rows:
        flush()
        n += len(rows)
    con.close()
    return n


def _peak_rss_kb() -> int:
    """Peak resident set of this process in KiB.

    /proc/self/status VmHWM belongs to the process's own address space; ru_maxrss on Linux also
    carries over the parent's peak across fork+exec, so it is only the fallback.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _projected_dicts_to_duckdb(coll, spec, warehouse: Path, batch_size: int) -> int:
    """Same server-side pipeline as extraction, but consumed as Python dicts (client-side cost)."""
    import duckdb
    import pyarrow as pa

    from extract.extraction import projection, window_match
    from extract.schemas import raw_table_ddl

    con = duckdb.connect(str(warehouse))
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    con.execute(raw_table_ddl(SOURCE, COLLECTION))
    names = ["_id", *spec.field_names, "_knowledge_at", "_misfit_fields"]
    schema = pa.schema([(c, pa.string()) for c in names[:-2]]
                       + [("_knowledge_at", pa.timestamp("ms")), ("_misfit_fields", pa.list_(pa.string()))])
    pipeline = [{"$match": window_match(spec, dt.datetime(1970, 1, 1), dt.datetime(2100, 1, 1))}, projection(spec)]
    n = 0
    rows: list[dict] = []

    def flush():
        con.register("dict_batch", pa.Table.from_pylist(rows, schema=schema))
        cols = ", ".join(f'"{c}"' for c in names)
        con.execute(f"INSERT INTO raw.{SOURCE}__{COLLECTION} ({cols}) SELECT {cols} FROM dict_batch")
        con.unregister("dict_batch")

    for doc in coll.aggregate(pipeline, batchSize=batch_size):
        rows.append(doc)
        if len(rows) >= batch_size:
            flush()
            n += len(rows)
            rows = []
    if rows:
        flush()
        n += len(rows)
    con.close()
    return n


def _child_extract(args) -> None:
    """Run one extraction in this (fresh) process and print its peak memory as JSON."""
    import pyarrow as pa

    from extract.extraction import extract_collection

    cfg = _config(Path(args.workdir), args.database, Path(args.warehouse), args.batch_size, args.memory_limit)
    base_rss = _peak_rss_kb()
    t0 = time.perf_counter()
    result = extract_collection(cfg, SOURCE, COLLECTION, window=(dt.datetime(1970, 1, 1), dt.datetime(2100, 1, 1)))
    seconds = time.perf_counter() - t0
    print(json.dumps({
        "rows": result.rows_inserted, "seconds": seconds,
        "rss_before_kb": base_rss, "peak_rss_kb": _peak_rss_kb(),
        "arrow_peak_bytes": pa.default_memory_pool().max_memory(),
    }))


def _run_child(workdir: Path, uri: str, database: str, batch_size: int, memory_limit: str | None) -> dict:
    warehouse = workdir / f"mem_{database}.duckdb"
    env = dict(os.environ, **{URI_ENV: uri})
    out = subprocess.run(
        [sys.executable, "-m", "bench.bench_extract", "--child-extract", "--workdir", str(workdir),
         "--database", database, "--warehouse", str(warehouse), "--batch-size", str(batch_size),
         *(["--memory-limit", memory_limit] if memory_limit else [])],
        env=env, capture_output=True, text=True, check=True,
        cwd=Path(__file__).resolve().parent.parent)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=20_000, help="documents in the base collection")
    parser.add_argument("--batch-size", type=int, default=10_000)
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--memory-limit", default=None,
                        help="extract.duckdb_memory_limit for the runs (default: the config default)")
    parser.add_argument("--skip-memory", action="store_true", help="skip (c), which inserts 10x --docs")
    parser.add_argument("--child-extract", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--database", help=argparse.SUPPRESS)
    parser.add_argument("--warehouse", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_extract:
        _child_extract(args)
        return

    from bson import decode_all
    from pymongo import MongoClient
    from pymongoarrow.context import PyMongoArrowContext

    from extract.embedded import EmbeddedMongo
    from extract.extraction import arrow_schema, extract_collection, projection
    from extract.schemas import COLLECTIONS

    spec = COLLECTIONS[COLLECTION]
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="abacus-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    for old in workdir.glob("*.duckdb*"):
        old.unlink()  # warehouses of an earlier run: every run extracts into fresh files
    n = args.docs
    report: list[tuple[str, str]] = []
    with EmbeddedMongo(workdir / "mongo") as mongo:
        os.environ[URI_ENV] = mongo.uri
        client = MongoClient(mongo.uri)
        small_db, large_db = "bench_small", "bench_large"
        insert_s = _populate(client[small_db][COLLECTION], n)
        report.append((f"insert {n} docs into SecantusDB",
                       f"{insert_s:.1f} s ({n / insert_s:,.0f} docs/s)" if insert_s else "reused"))

        # (a) end to end
        cfg = _config(workdir, small_db, workdir / "arrow.duckdb", args.batch_size, args.memory_limit)
        t0 = time.perf_counter()
        res = extract_collection(cfg, SOURCE, COLLECTION, window=(dt.datetime(1970, 1, 1), dt.datetime(2100, 1, 1)))
        arrow_s = time.perf_counter() - t0
        assert res.rows_inserted == n, res
        t0 = time.perf_counter()
        plain_rows = _plain_pymongo_to_duckdb(client[small_db][COLLECTION], spec, workdir / "plain.duckdb",
                                              args.batch_size)
        plain_s = time.perf_counter() - t0
        assert plain_rows == n
        report.append(("(a) pymongoarrow path (extract_collection)", f"{n / arrow_s:,.0f} docs/s ({arrow_s:.2f} s)"))
        report.append(("(a) plain find() -> dicts -> DuckDB", f"{n / plain_s:,.0f} docs/s ({plain_s:.2f} s)"))
        report.append(("(a) ratio arrow / plain", f"{plain_s / arrow_s:.2f}x"))
        t0 = time.perf_counter()
        same_rows = _projected_dicts_to_duckdb(client[small_db][COLLECTION], spec, workdir / "dicts.duckdb",
                                               args.batch_size)
        same_s = time.perf_counter() - t0
        assert same_rows == n
        report.append(("(a) same server pipeline, consumed as dicts", f"{n / same_s:,.0f} docs/s ({same_s:.2f} s)"))
        report.append(("(a) ratio arrow / same-pipeline dicts", f"{same_s / arrow_s:.2f}x"))

        # (b) decode only, on batches fetched beforehand
        pipeline = [{"$match": {"recorded_at": {"$gte": dt.datetime(1970, 1, 1)}}}, projection(spec)]
        batches = list(client[small_db][COLLECTION].aggregate_raw_batches(pipeline, batchSize=args.batch_size))
        schema = arrow_schema(spec)
        t0 = time.perf_counter()
        decoded = 0
        for b in batches:
            ctx = PyMongoArrowContext(schema)
            ctx.process_bson_stream(b)
            decoded += ctx.finish().num_rows
        dec_s = time.perf_counter() - t0
        assert decoded == n
        t0 = time.perf_counter()
        dicts = sum(len(decode_all(b)) for b in batches)
        dict_s = time.perf_counter() - t0
        assert dicts == n
        report.append(("(b) raw BSON -> Arrow decode (client only)", f"{n / dec_s:,.0f} docs/s"))
        report.append(("(b) raw BSON -> dicts (bson.decode_all)", f"{n / dict_s:,.0f} docs/s"))

        # (c) memory: N vs 10N, each extraction in a fresh process
        if not args.skip_memory:
            big = 10 * n
            insert_s = _populate(client[large_db][COLLECTION], big)
            report.append((f"insert {big} docs into SecantusDB", f"{insert_s:.1f} s" if insert_s else "reused"))
            for db, size in ((small_db, n), (large_db, big)):
                m = _run_child(workdir, mongo.uri, db, args.batch_size, args.memory_limit)
                assert m["rows"] == size, m
                report.append((f"(c) extract {size} docs: peak RSS",
                               f"{m['peak_rss_kb'] / 1024:,.0f} MiB (after imports {m['rss_before_kb'] / 1024:,.0f}"
                               f" MiB; Arrow pool peak {m['arrow_peak_bytes'] / 2**20:,.1f} MiB;"
                               f" {size / m['seconds']:,.0f} docs/s)"))
        client.close()

    width = max(len(k) for k, _ in report)
    print(f"\nextraction benchmark (batch size {args.batch_size}, DuckDB memory_limit "
          f"{cfg.duckdb_memory_limit}, workdir {workdir})")
    for k, v in report:
        print(f"  {k:<{width}}  {v}")


if __name__ == "__main__":
    main()
