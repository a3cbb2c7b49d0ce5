"""abacus benchmark: how fast, how big, and how close to the limit, measured side by side.

    python -m bench.run --size S|M|L [--skip-pandas] [--out bench/out] [--work-dir DIR]
    make bench SIZE=M

Steps (each measured as its own subprocess: wall seconds + peak RSS, see bench/measure.py):
  generate      network straight into DuckDB raw (extract.generate), cached per size in the work dir
  models_only   dbt build --select +fct_invoices +fct_payouts --exclude resource_type:test (fresh copy of raw)
  full_build    dbt build (every model, seed and data test, as production runs it; fresh copy of raw)
  reference     bench/reference.sql: hand-written DuckDB totals of period Q (invoices + payouts)
  pandas        bench/pandas_impl.py: the same totals in pandas (--skip-pandas to leave out)
  prepare_day   one day of new documents (incl. late ones) staged as the extractor stages a read (not timed)
  append_day    the extractor's write step lands that day in raw (timed: extraction-to-raw)
  daily_build   incremental dbt build after the append (as_of moved one day on), every data test
The reference and pandas totals are checked against fct_invoices / fct_payouts to the cent (and
to the micro-dollar for payouts); any difference fails the run (exit 1) after the results are
written, listing the accounts/farmers that differ.

Outputs: <out>/results-<size>.json and the table in bench/RESULTS.md (refreshed per size).
DuckDB limits come from ABACUS_DUCKDB_MEMORY_LIMIT / ABACUS_DUCKDB_THREADS (dbt profile), and
are applied to the reference too.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

from bench.measure import Measurement, StepFailed, run_measured
# full_build and daily_build run as production does: every model and data test, no unit tests
from orchestration.partitions import PRODUCTION_BUILD_FLAGS

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
SEEDS = REPO / "dbt_project" / "seeds"
RAW_TABLES = [
    "storage_network__contracts", "storage_network__transfer_reports", "storage_network__audits",
    "storage_network__farmers", "storage_network__renters", "compute__usage_events",
    "compute__accounts", "storage__usage_samples", "storage__accounts",
]
GEN_STAMP_VERSION = 1


def _py() -> str:
    return sys.executable


def _dbt() -> str:
    cand = Path(sys.executable).parent / "dbt"
    return str(cand) if cand.exists() else (shutil.which("dbt") or "dbt")


def duckdb_settings() -> dict:
    return {"memory_limit": os.environ.get("ABACUS_DUCKDB_MEMORY_LIMIT", "6GB"),
            "threads": int(os.environ.get("ABACUS_DUCKDB_THREADS", "2"))}


# ------------------------------------------------------------------------------------ reference
def render_reference(plan_vars: dict, raw: str = "wh.raw", seeds: Path = SEEDS) -> str:
    sql = (BENCH / "reference.sql").read_text()
    values = {"raw": raw, "seeds": str(seeds), **{k: str(v) for k, v in plan_vars.items()}}
    for k, v in values.items():
        sql = sql.replace("{{" + k + "}}", v)
    return sql


def run_reference(warehouse: str, out_dir: str, plan_vars: dict) -> None:
    """Subprocess body of the `reference` step: totals of Q into <out_dir>/ref_*.parquet."""
    import duckdb
    s = duckdb_settings()
    con = duckdb.connect(config={"memory_limit": s["memory_limit"], "threads": s["threads"]})
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"ATTACH '{warehouse}' AS wh (READ_ONLY)")
    con.execute(render_reference(plan_vars))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    con.execute(f"COPY ref_invoices TO '{out / 'ref_invoices.parquet'}' (FORMAT PARQUET)")
    con.execute(f"COPY ref_payouts TO '{out / 'ref_payouts.parquet'}' (FORMAT PARQUET)")
    con.close()


# ------------------------------------------------------------------------------------ daily append
def prepare_day(day_dir: str, size: str, day: int = 1) -> dict:
    """Subprocess body of `prepare_day`: the day's documents, staged as an extraction stages them.

    Not part of the daily cycle: in production these documents already sit in MongoDB. Day ``day``
    of the generator's increment (fresh, late, duplicate and dirty documents, and new contract
    versions) is rendered per collection to ``rows.parquet`` in the extractor's Arrow schema
    (what pymongoarrow reads) and ``misfits.parquet`` (the misfits' canonical documents, what the
    extractor re-fetches), so `append_day` times the extractor's own write step. Returns rows per
    raw table."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from bench.sizes import plan as size_plan
    from extract import generate as g
    from extract.extraction import arrow_schema
    from extract.schemas import COLLECTIONS, raw_table_name

    inc = g.generate_increment(size_plan(size).spec, day)
    out = Path(day_dir)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    collections = sorted(set(inc.inserts) | set(inc.replacements))
    counts = {}
    for src, coll in collections:
        rows = [g.raw_row(d, coll) for d in inc.inserts.get((src, coll), []) + inc.replacements.get((src, coll), [])]
        schema = arrow_schema(COLLECTIONS[coll]).to_arrow()
        table_dir = out / raw_table_name(src, coll)
        table_dir.mkdir()
        pq.write_table(pa.Table.from_pylist([{c: r[c] for c in schema.names} for r in rows], schema=schema),
                       table_dir / "rows.parquet")
        misfits = [r for r in rows if r["_raw_document"] is not None]
        pq.write_table(pa.table({"_id": pa.array([r["_id"] for r in misfits], pa.string()),
                                 "_knowledge_at": pa.array([r["_knowledge_at"] for r in misfits], pa.timestamp("ms")),
                                 "raw_document": pa.array([r["_raw_document"] for r in misfits], pa.string())}),
                       table_dir / "misfits.parquet")
        counts[raw_table_name(src, coll)] = len(rows)
    lo, hi = (t.replace(tzinfo=None) for t in inc.window)
    (out / "day.json").write_text(json.dumps({"day": day, "window": [lo.isoformat(), hi.isoformat()],
                                              "collections": [list(k) for k in collections]}))
    return counts


def append_day(warehouse: str, day_dir: str) -> dict:
    """Subprocess body of `append_day` (timed): the extractor's write step
    (``extract.extraction.land_staged``: one transaction per collection under the writer lock,
    skipping rows raw already holds, recording the run) for each collection `prepare_day` staged.
    The MongoDB read before it is not part of this step (see RESULTS.md). Returns rows inserted
    per raw table."""
    import pyarrow.parquet as pq

    from extract.config import load_config
    from extract.extraction import land_staged
    from extract.schemas import raw_table_name

    cfg = load_config(require_env=False)
    meta = json.loads((Path(day_dir) / "day.json").read_text())
    lo, hi = (dt.datetime.fromisoformat(t) for t in meta["window"])
    counts = {}
    for src, coll in meta["collections"]:
        table_dir = Path(day_dir) / raw_table_name(src, coll)
        rows = pq.read_metadata(table_dir / "rows.parquet").num_rows
        counts[raw_table_name(src, coll)] = land_staged(
            cfg, src, coll, table_dir / "rows.parquet", pq.read_table(table_dir / "misfits.parquet"),
            warehouse=warehouse, rows_read=rows, batch_id=f"bench-day{meta['day']}-{src}-{coll}",
            now=hi, window=(lo, hi), started=hi)
    return counts


# ------------------------------------------------------------------------------------ checking
def _marts(warehouse: str, period: str):
    import duckdb
    con = duckdb.connect(warehouse, read_only=True)
    try:
        inv = con.execute(
            "SELECT account_id, subtotal, discount, total FROM marts.fct_invoices WHERE invoice_period = ?",
            [period]).fetchall()
        pay = con.execute(
            "SELECT farmer_id, status, gross, held, net FROM marts.fct_payouts WHERE statement_period = ?",
            [period]).fetchall()
    finally:
        con.close()
    return ({r[0]: tuple(Decimal(x) for x in r[1:]) for r in inv},
            {r[0]: (r[1],) + tuple(Decimal(x) for x in r[2:]) for r in pay})


def _load_totals(path_dir: Path, prefix: str):
    import duckdb
    con = duckdb.connect()
    inv = con.execute(f"SELECT account_id, subtotal, discount, total FROM '{path_dir / (prefix + '_invoices.parquet')}'").fetchall()
    pay = con.execute(f"SELECT farmer_id, status, gross, held, net FROM '{path_dir / (prefix + '_payouts.parquet')}'").fetchall()
    con.close()
    return ({r[0]: tuple(Decimal(str(x)) for x in r[1:]) for r in inv},
            {r[0]: (r[1],) + tuple(Decimal(str(x)) for x in r[2:]) for r in pay})


def compare(marts: dict, other: dict, names: tuple[str, ...], limit: int = 20) -> dict:
    """Mismatches between two {key: values} maps; a key missing on one side counts as all zero."""
    diffs = []
    for key in sorted(set(marts) | set(other)):
        a, b = marts.get(key), other.get(key)
        za = tuple(0 if isinstance(x, Decimal) else None for x in (b or a))
        a, b = a or za, b or za
        bad = [n for n, x, y in zip(names, a, b)
               if (x != y) and not (x is None or y is None)]
        if bad:
            diffs.append({"key": key, "fields": bad,
                          "marts": {n: str(x) for n, x in zip(names, a)},
                          "other": {n: str(y) for n, y in zip(names, b)}})
    return {"rows_marts": len(marts), "rows_other": len(other), "mismatches": len(diffs), "examples": diffs[:limit]}


def check(warehouse: str, period: str, out_dir: Path, prefix: str) -> dict:
    inv_m, pay_m = _marts(warehouse, period)
    inv_o, pay_o = _load_totals(out_dir, prefix)
    # payout status only compared where both sides have the farmer
    return {"invoices": compare(inv_m, inv_o, ("subtotal", "discount", "total")),
            "payouts": compare(pay_m, pay_o, ("status", "gross", "held", "net")),
            "totals_marts": {"invoice_total": str(sum((v[2] for v in inv_m.values()), Decimal(0))),
                             "payout_gross": str(sum((v[1] for v in pay_m.values()), Decimal(0)))},
            "totals_other": {"invoice_total": str(sum((v[2] for v in inv_o.values()), Decimal(0))),
                             "payout_gross": str(sum((v[1] for v in pay_o.values()), Decimal(0)))}}


# ------------------------------------------------------------------------------------ driver
def raw_row_counts(warehouse: str) -> dict:
    import duckdb
    con = duckdb.connect(warehouse, read_only=True)
    try:
        have = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables WHERE table_schema='raw'").fetchall()}
        return {t: con.execute(f'SELECT count(*) FROM raw."{t}"').fetchone()[0] for t in RAW_TABLES if t in have}
    finally:
        con.close()


DBT_STEPS = ("models_only", "full_build", "daily_build")


def top_nodes(run_results: Path, n: int = 15) -> dict:
    """The n slowest nodes of a dbt run: {node name: seconds}."""
    rr = json.loads(run_results.read_text())
    res = sorted(rr.get("results", []), key=lambda r: -r.get("execution_time", 0))[:n]
    return {r["unique_id"].split(".", 2)[-1]: round(r["execution_time"], 1) for r in res}


def table_row_counts(warehouse: str) -> dict:
    """Rows per built table (intermediate and marts schemas): how much the warehouse holds."""
    import duckdb
    con = duckdb.connect(warehouse, read_only=True)
    try:
        tables = con.execute("SELECT schema_name, table_name FROM duckdb_tables() "
                             "WHERE schema_name IN ('intermediate', 'marts') ORDER BY 1, 2").fetchall()
        return {f"{sc}.{t}": con.execute(f'SELECT count(*) FROM "{sc}"."{t}"').fetchone()[0] for sc, t in tables}
    finally:
        con.close()


def machine() -> dict:
    def ver(mod):
        try:
            return __import__(mod).__version__
        except Exception:
            return None
    mem = None
    try:
        with open("/proc/meminfo") as fh:
            mem = round(int(fh.readline().split()[1]) / 1e6, 1)
    except OSError:
        pass
    try:
        dbt_v = subprocess.run([_dbt(), "--version"], capture_output=True, text=True, timeout=60).stdout
        dbt_v = next((ln.split(":")[-1].strip() for ln in dbt_v.splitlines() if "installed" in ln), None)
    except Exception:
        dbt_v = None
    return {"nproc": os.cpu_count(), "memory_gb": mem, "platform": platform.platform(),
            "python": platform.python_version(), "duckdb": ver("duckdb"), "pandas": ver("pandas"),
            "dbt_core": dbt_v, "duckdb_settings": duckdb_settings(),
            "dbt_threads": int(os.environ.get("ABACUS_DBT_THREADS", "1"))}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "_reference":  # internal: the measured reference subprocess
        run_reference(argv[1], argv[2], json.loads(argv[3]))
        return 0
    if argv and argv[0] == "_prepare_day":  # internal: staging the day's documents (not timed)
        print(json.dumps(prepare_day(argv[1], argv[2])))
        return 0
    if argv and argv[0] == "_append":  # internal: the measured append subprocess
        print(json.dumps(append_day(argv[1], argv[2])))
        return 0

    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    p.add_argument("--size", required=True, help="S | M | L")
    p.add_argument("--skip-pandas", action="store_true")
    p.add_argument("--out", default=str(BENCH / "out"))
    p.add_argument("--work-dir", default=os.environ.get("ABACUS_BENCH_DIR", "/tmp/abacus-bench"),
                   help="large files: cached raw databases and warehouse copies (default $ABACUS_BENCH_DIR or /tmp/abacus-bench)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--skip-daily", action="store_true")
    p.add_argument("--pandas-timeout", type=float, default=float(os.environ.get("ABACUS_BENCH_PANDAS_TIMEOUT", 1800)),
                   help="seconds; pandas is killed after this and its time reported as a lower bound (default 1800)")
    p.add_argument("--regenerate", action="store_true", help="ignore the cached raw database")
    a = p.parse_args(argv)

    from bench.sizes import plan as size_plan
    pl = size_plan(a.size, a.seed)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(a.work_dir) / pl.size
    work.mkdir(parents=True, exist_ok=True)
    logs = work / "logs"
    logs.mkdir(exist_ok=True)
    steps: dict[str, Measurement] = {}
    env = {**os.environ, "ABACUS_BENCH_SIZE": pl.size, "PYTHONPATH": str(REPO)}

    node_seconds: dict[str, dict] = {}

    def keep_node_timings(name):
        # dbt's per-node timings of a dbt step (target/run_results.json), for "what bounds it"
        rr = work / "target" / "run_results.json"
        if name in DBT_STEPS and rr.exists():
            shutil.copyfile(rr, logs / f"{name}-run_results.json")
            node_seconds[name] = top_nodes(rr)

    def step(name, cmd, **kw):
        print(f"[bench {pl.size}] {name} ...", flush=True)
        try:
            m = run_measured(name, cmd, env=kw.pop("env", env), cwd=REPO, log_path=logs / f"{name}.log", **kw)
        finally:
            keep_node_timings(name)
        print(f"[bench {pl.size}] {name}: {m.seconds:.1f}s, peak {m.peak_rss_mb:.0f} MB", flush=True)
        steps[name] = m
        return m

    # 1. raw (cached per size + seed + generator source)
    gen_src = (REPO / "extract" / "generate.py").read_bytes()
    import hashlib
    stamp = hashlib.sha256(gen_src + f"{pl.preset}/{a.seed}/{GEN_STAMP_VERSION}".encode()).hexdigest()[:16]
    cached = work / f"raw-{pl.preset}-{a.seed}-{stamp}.duckdb"
    if a.regenerate or not cached.exists():
        for old in work.glob("raw-*.duckdb"):
            old.unlink()
        tmp = cached.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)
        step("generate", [_py(), "-m", "extract.generate", "--size", pl.preset, "--seed", str(a.seed),
                          "--to", "duckdb", "--out", str(tmp)])
        tmp.rename(cached)
    counts = raw_row_counts(str(cached))
    print(f"[bench {pl.size}] raw rows: {counts}", flush=True)

    wh = work / "warehouse.duckdb"
    dbt_env = {**env, "ABACUS_WAREHOUSE": str(wh), "DBT_TARGET_PATH": str(work / "target"),
               "DBT_LOG_PATH": str(work / "dbt-logs"), "DBT_PROFILES_DIR": str(REPO / "dbt_project")}
    vars_json = json.dumps(pl.dbt_vars)
    # models_only is scoped to Q (dbt var `period`, as Dagster's monthly partitions pass it): it
    # computes only what Q's invoices and statements need. full_build and daily_build are
    # unscoped (every period); the reference and pandas are checked against full_build.
    scoped_vars_json = json.dumps({**pl.dbt_vars, "period": pl.period})

    def fresh():
        for f in (wh, wh.with_name(wh.name + ".wal")):
            f.unlink(missing_ok=True)
        shutil.copyfile(cached, wh)

    failures: list[str] = []
    # 2. dbt: models-only path, then full build (each on a fresh copy of raw)
    fresh()
    step("models_only", [_dbt(), "build", "--select", "+fct_invoices", "+fct_payouts",
                         "--exclude", "resource_type:test", "resource_type:unit_test", "--vars", scoped_vars_json],
         env=dbt_env)
    fresh()
    try:
        step("full_build", [_dbt(), "build", *PRODUCTION_BUILD_FLAGS, "--vars", vars_json], env=dbt_env)
    except StepFailed as exc:  # failing data tests are a finding, not a reason to stop measuring
        steps["full_build"] = exc.measurement
        failures.append(f"full_build: dbt build exited {exc.measurement.returncode} (tests failing?), log {exc.measurement.log}")
        print(f"[bench {pl.size}] full_build FAILED (exit {exc.measurement.returncode}); continuing", flush=True)

    warehouse_rows = table_row_counts(str(wh))

    # 3. reference and pandas, checked against the marts
    res_dir = work / "results"
    shutil.rmtree(res_dir, ignore_errors=True)
    ref_vars = {"q_start": pl.period_start.strftime("%Y-%m-%d %H:%M:%S"),
                "as_of": pl.as_of.strftime("%Y-%m-%d %H:%M:%S"), "grace_hours": pl.grace_hours,
                "max_adjustment_periods": pl.max_adjustment_periods,
                "gauge_max_gap_hours": pl.gauge_max_gap_hours}
    step("reference", [_py(), "-m", "bench.run", "_reference", str(wh), str(res_dir), json.dumps(ref_vars)])
    checks = {"reference": check(str(wh), pl.period, res_dir, "ref")}
    if not a.skip_pandas:
        try:
            step("pandas", [_py(), "-m", "bench.pandas_impl", str(wh), str(res_dir), json.dumps(ref_vars)],
                 timeout_s=a.pandas_timeout)
            checks["pandas"] = check(str(wh), pl.period, res_dir, "pd")
        except StepFailed as exc:
            steps["pandas"] = exc.measurement
            if exc.measurement.timed_out:  # not a failure of abacus: pandas' time is a lower bound
                print(f"[bench {pl.size}] pandas did not finish within {a.pandas_timeout:.0f} s", flush=True)
            else:  # e.g. out of memory: a finding about pandas at this size
                failures.append(f"pandas: exited {exc.measurement.returncode} (out of memory?), log {exc.measurement.log}")
    for who, c in checks.items():
        for kind in ("invoices", "payouts"):
            if c[kind]["mismatches"]:
                failures.append(f"{who} vs marts: {c[kind]['mismatches']} {kind} differ, e.g. {c[kind]['examples'][:3]}")

    # 4. daily cycle: append one day to the built warehouse, then dbt build again
    if not a.skip_daily:
        next_as_of = (pl.as_of + dt.timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S")
        day_dir = work / "day-1"
        step("prepare_day", [_py(), "-m", "bench.run", "_prepare_day", str(day_dir), pl.size])
        step("append_day", [_py(), "-m", "bench.run", "_append", str(wh), str(day_dir)])
        # the daily run as Dagster's schedule does it: unscoped, incremental (models take in only
        # the new raw batches; closed windows/periods are kept), every data test
        daily_vars = json.dumps({**pl.dbt_vars, "as_of": next_as_of})
        try:
            step("daily_build", [_dbt(), "build", *PRODUCTION_BUILD_FLAGS, "--vars", daily_vars], env=dbt_env)
        except StepFailed as exc:
            steps["daily_build"] = exc.measurement
            failures.append(f"daily_build: dbt build exited {exc.measurement.returncode}, log {exc.measurement.log}")

    # 5. results
    s = {k: v.seconds for k, v in steps.items()}
    ratio = lambda x, y: round(s[x] / s[y], 2) if x in s and y in s and s[y] > 0 else None  # noqa: E731
    pandas_lower_bound = bool(steps.get("pandas") and steps["pandas"].timed_out)
    daily = (s["append_day"] + s["daily_build"]) if "append_day" in s and "daily_build" in s else None
    result = {
        "size": pl.size, "preset": pl.preset, "seed": a.seed, "period": pl.period,
        "as_of": pl.as_of.isoformat(), "measured_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "raw_rows": counts, "raw_rows_total": sum(counts.values()),
        "steps": {k: v.as_dict() for k, v in steps.items()},
        "ratios": {"models_only_over_reference": ratio("models_only", "reference"),
                   "pandas_over_models_only": ratio("pandas", "models_only"),
                   "pandas_is_lower_bound": pandas_lower_bound,
                   "pandas_over_reference": ratio("pandas", "reference"),
                   "daily_cycle_over_full_build": round(daily / s["full_build"], 3) if daily and s.get("full_build") else None},
        "daily_cycle_seconds": round(daily, 3) if daily else None,
        "warehouse_rows_after_full_build": warehouse_rows,
        "warehouse_rows_total": sum(warehouse_rows.values()),
        "slowest_nodes": node_seconds,
        "checks": checks, "failures": failures, "machine": machine(),
        "command": (f"python -m bench.run --size {pl.size} --skip-pandas" if a.skip_pandas else f"make bench SIZE={pl.size}"),
    }
    path = out / f"results-{pl.size}.json"
    path.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(f"[bench {pl.size}] wrote {path}")
    _refresh_results_md(out, BENCH / "RESULTS.md")
    for f in failures:
        print(f"[bench {pl.size}] FAIL {f}", file=sys.stderr)
    return 1 if failures else 0


# ------------------------------------------------------------------------------------ RESULTS.md
_BEGIN, _END = "<!-- bench:results:begin -->", "<!-- bench:results:end -->"


def _fmt(x, nd=1):
    return "–" if x is None else (f"{x:,.{nd}f}" if isinstance(x, (int, float)) else str(x))


def _one_session(x: dict, y: dict, hours: float = 3.0) -> bool:
    """Two results were measured close enough in time to compare (one session's M run and the L run
    after it: ~1.5 h between their ends)."""
    t = [dt.datetime.fromisoformat(r["measured_at"]) for r in (x, y)]
    return abs((t[1] - t[0]).total_seconds()) <= hours * 3600


def _results_table(results: list[dict]) -> str:
    cols = ["generate", "models_only", "full_build", "reference", "pandas", "append_day", "daily_build"]
    lines = ["| size | raw rows | " + " | ".join(f"{c} s / MB" for c in cols)
             + " | models/ref | pandas/models | daily/full | checks |",
             "|---|---:|" + "---:|" * len(cols) + "---:|---:|---:|---|"]
    for r in results:
        st = r["steps"]
        cells = [(">" if st[c].get("timed_out") else "") + f"{_fmt(st[c]['seconds'])} / {_fmt(st[c]['peak_rss_mb'], 0)}"
                 if c in st else "–" for c in cols]
        ok = "OK" if not r["failures"] else f"{len(r['failures'])} FAIL"
        rt = r["ratios"]
        lines.append(f"| {r['size']} | {r['raw_rows_total']:,} | " + " | ".join(cells)
                     + f" | {_fmt(rt['models_only_over_reference'], 2)} | {'≥ ' if rt.get('pandas_is_lower_bound') else ''}{_fmt(rt['pandas_over_models_only'], 2)}"
                     + f" | {_fmt(rt['daily_cycle_over_full_build'], 3)} | {ok} |")
    lines += ["", "Rows per raw table:", "",
              "| size | " + " | ".join(RAW_TABLES) + " |", "|---|" + "---:|" * len(RAW_TABLES)]
    for r in results:
        lines.append(f"| {r['size']} | " + " | ".join(f"{r['raw_rows'].get(t, 0):,}" for t in RAW_TABLES) + " |")
    # growth across sizes
    if len(results) > 1:
        lines += ["", "Growth between consecutive sizes (time ratio vs raw-row ratio; ≤ 1.0 in the last column = no worse than linear):", "",
                  "| from → to | raw rows × | warehouse rows × | models_only × | full_build × | reference × | models_only × / raw rows × | full_build × / warehouse rows × | full_build CPU × / warehouse rows × |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for x, y in zip(results, results[1:]):
            if not _one_session(x, y):  # the machine drifts between sessions: a ratio across them is not a growth
                lines.append(f"| {x['size']} → {y['size']} | not measured in one session "
                             f"({x['size']} at {x['measured_at']}, {y['size']} at {y['measured_at']}) | | | | | | | |")
                continue
            rows = y["raw_rows_total"] / max(x["raw_rows_total"], 1)
            wrows = (y["warehouse_rows_total"] / x["warehouse_rows_total"]
                     if x.get("warehouse_rows_total") and y.get("warehouse_rows_total") else None)
            g = {c: (y["steps"][c]["seconds"] / x["steps"][c]["seconds"]) if c in x["steps"] and c in y["steps"] and x["steps"][c]["seconds"] else None
                 for c in ("models_only", "full_build", "reference")}
            # CPU seconds: recorded since session 18 (older results have none)
            cpu = [r["steps"].get("full_build", {}).get("cpu_seconds") for r in (x, y)]
            g_cpu = cpu[1] / cpu[0] if all(cpu) else None
            lines.append(f"| {x['size']} → {y['size']} | {rows:.2f} | {_fmt(wrows, 2)} | {_fmt(g['models_only'], 2)} | {_fmt(g['full_build'], 2)}"
                         f" | {_fmt(g['reference'], 2)} | {_fmt(g['models_only'] / rows if g['models_only'] else None, 2)}"
                         f" | {_fmt(g['full_build'] / wrows if g['full_build'] and wrows else None, 2)}"
                         f" | {_fmt(g_cpu / wrows if g_cpu and wrows else None, 2)} |")
    m = results[-1]["machine"]
    lines += ["", f"Machine (last run): {m['nproc']} CPUs, {m['memory_gb']} GB RAM, {m['platform']}; Python {m['python']}, "
              f"DuckDB {m['duckdb']}, dbt-core {m['dbt_core']}, pandas {m['pandas']}; DuckDB memory_limit "
              f"{m['duckdb_settings']['memory_limit']}, threads {m['duckdb_settings']['threads']}, dbt threads {m['dbt_threads']}.",
              "", "Reproduce: " + ", ".join(f"`{r['command']}` ({r['measured_at']})" for r in results) + "."]
    return "\n".join(lines)


def _refresh_results_md(out: Path, md: Path) -> None:
    order = {"S": 0, "M": 1, "L": 2}
    results = []
    for f in out.glob("results-*.json"):
        try:
            results.append(json.loads(f.read_text()))
        except ValueError:
            continue
    results.sort(key=lambda r: order.get(r["size"], 9))
    table = _results_table(results) if results else "(no results yet)"
    text = md.read_text() if md.exists() else f"# Benchmark results\n\n{_BEGIN}\n{_END}\n"
    if _BEGIN not in text:
        text += f"\n{_BEGIN}\n{_END}\n"
    head, rest = text.split(_BEGIN, 1)
    _, tail = rest.split(_END, 1)
    md.write_text(f"{head}{_BEGIN}\n{table}\n{_END}{tail}")


if __name__ == "__main__":
    sys.exit(main())
