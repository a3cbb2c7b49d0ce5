"""Dagster orchestration end to end on a tiny generated network.

One module-scoped build shared by every test: SecantusDB over a real socket, the tiny network,
the extraction job (everything new), a final build of 2026-10 (dbt as of close(2026-10) + the
period report + publish) and a rebuild of the same period through the ``abacus`` CLI.
"""
from __future__ import annotations

import datetime as dt
import importlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest
from dagster import AssetKey, instance_for_test

from conftest import config_doc, write_config
from extract.config import load_config
from extract.embedded import EmbeddedMongo, embedded_environment
from extract.generate import NetworkSpec, write_to_mongo

REPO = Path(__file__).resolve().parent.parent
PERIOD = "2026-10"
UTC = dt.timezone.utc


def fresh_definitions():
    """Import the code location under the current environment (config, dbt target path)."""
    from orchestration.cli import load_definitions
    load_definitions()
    return importlib.import_module("orchestration.definitions")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("orchestration")
    mp = pytest.MonkeyPatch()
    doc = config_doc(warehouse={"path": str(root / "warehouse.duckdb"), "published_dir": str(root / "published")})
    mp.setenv("ABACUS_CONFIG", str(write_config(root / "accounting.yml", doc)))
    mp.delenv("ABACUS_WAREHOUSE", raising=False)
    mp.setenv("DBT_TARGET_PATH", str(root / "dbt_target"))
    mp.setenv("DBT_LOG_PATH", str(root / "dbt_target" / "logs"))
    mp.setenv("DAGSTER_HOME", str(root / "dagster_home"))
    (root / "dagster_home").mkdir()
    try:
        with EmbeddedMongo(root / "mongo") as mongo:
            cfg = load_config(require_env=False)
            for k, v in embedded_environment(cfg, mongo.uri).items():
                mp.setenv(k, v)
            loaded = write_to_mongo(NetworkSpec.tiny(), {s.name: mongo.uri for s in cfg.sources}, cfg)
            module = fresh_definitions()
            from orchestration import cli
            with instance_for_test(temp_dir=str(root / "dagster_home")) as instance:
                extract = cli.run_extraction_job(module.defs, instance)
                first = cli.run_period_job(module.defs, instance, PERIOD, draft=False)
                yield SimpleNamespace(root=root, cfg=cfg, defs=module.defs, module=module, instance=instance,
                                      loaded=loaded, extract=extract, first=first, mongo=mongo, mp=mp)
    finally:
        mp.undo()


def _con(cfg):
    from extract.warehouse import warehouse_writer
    return warehouse_writer(cfg.warehouse_path)


def _runs(cfg, period=PERIOD):
    from orchestration.reports import report_runs
    with _con(cfg) as con:
        return report_runs(con, period)


# ------------------------------------------------------------------------------- definitions

def test_definitions_assets_checks_jobs(built):
    defs, cfg = built.defs, built.cfg
    graph = defs.resolve_asset_graph()
    keys = set(graph.get_all_asset_keys())
    raw = {AssetKey(["raw", s.name, c]) for s, c in cfg.collections()}
    assert len(raw) == 9 and raw <= keys
    for k in raw:
        node = graph.get(k)
        assert node.is_materializable and node.group_name == k.path[1]
        assert {"mongodb", "duckdb"} <= set(node.kinds)
    # the dbt sources resolve to the extraction assets: no external raw asset, one lineage graph
    assert {k for k in keys if k.path[0] == "raw"} == raw
    marts = {"fct_invoices", "fct_invoice_lines", "fct_payouts", "fct_payout_lines", "fct_rejected_records",
             "fct_usage_daily", "dim_resources"}
    assert {AssetKey(["marts", m]) for m in marts} <= keys
    assert graph.get(AssetKey(["marts", "fct_invoices"])).group_name == "marts"
    assert {AssetKey("period_report"), AssetKey("published_warehouse")} <= keys
    assert {AssetKey(["marts", m]) for m in ("fct_invoices", "fct_invoice_lines", "fct_payouts", "fct_payout_lines")} \
        <= set(graph.get(AssetKey("period_report")).parent_keys)
    # upstream of fct_invoices reaches every raw collection it is built from
    ancestors = graph.upstream_key_iterator(AssetKey(["marts", "fct_invoices"]))
    assert AssetKey(["raw", "compute", "usage_events"]) in set(ancestors)
    checks = set(graph.asset_check_keys)
    assert len(checks) > 20
    assert any(c.asset_key == AssetKey(["marts", "fct_invoices"]) for c in checks)
    assert {j.name for j in defs.jobs} >= {"extract_job", "period_job"}
    assert [s.name for s in defs.schedules] == ["daily_extraction"]
    assert [s.name for s in defs.sensors] == ["period_close"]


# ------------------------------------------------------------------------------- extraction

def test_extraction_job_loads_every_collection(built):
    assert built.extract.success
    events = [e for e in built.extract.all_events if e.event_type_value == "ASSET_MATERIALIZATION"]
    assert len(events) == 9
    for e in events:
        mat = e.event_specific_data.materialization
        _, source, collection = mat.asset_key.path
        md = mat.metadata
        assert md["rows_inserted"].value == built.loaded[(source, collection)]
        assert md["mode"].value == "new since last run"
        assert "@" not in md["source_uri"].value or "***" in md["source_uri"].value
    with _con(built.cfg) as con:
        for (source, collection), n in built.loaded.items():
            assert con.execute(f'SELECT count(*) FROM raw."{source}__{collection}"').fetchone()[0] == n


def test_daily_partition_extracts_its_knowledge_window_idempotently(built):
    job = built.defs.resolve_job_def("extract_job")
    result = job.execute_in_process(instance=built.instance, partition_key="2026-10-15", raise_on_error=False,
                                    asset_selection=[AssetKey(["raw", "compute", "usage_events"])])
    assert result.success
    mat = [e.event_specific_data.materialization for e in result.all_events
           if e.event_type_value == "ASSET_MATERIALIZATION"][0]
    md = mat.metadata
    assert mat.partition == "2026-10-15"
    assert (md["mode"].value, md["window_start"].value, md["window_end"].value) == \
        ("daily window", "2026-10-15T00:00:00+00:00", "2026-10-16T00:00:00+00:00")
    assert md["rows_inserted"].value == 0  # already extracted by the catch-up run
    with _con(built.cfg) as con:
        in_window, undated = con.execute(
            "SELECT count(*) FILTER (WHERE _knowledge_at >= '2026-10-15' AND _knowledge_at < '2026-10-16'), "
            "count(*) FILTER (WHERE _knowledge_at IS NULL) FROM raw.compute__usage_events").fetchone()
    # the window's documents plus the documents without a date cursor (swept by every run)
    assert in_window > 0
    assert md["rows_read"].value == in_window + undated


# ------------------------------------------------------------------------------- reports

def test_final_report_recorded_with_consistent_totals(built):
    assert built.first.success, [str(e) for e in built.first.all_events if e.is_failure]
    runs = [r for r in _runs(built.cfg) if r["run_id"] == built.first.run_id]
    assert len(runs) == 1
    run = runs[0]
    assert run["status"] == "final" and run["period"] == PERIOD
    assert run["as_of"] == dt.datetime(2026, 11, 4)
    assert run["config_hash"] == built.cfg.config_hash
    marks = json.loads(run["source_watermarks"])
    assert set(marks) == {"storage_network", "compute", "storage"}
    counts = json.loads(run["row_counts"])
    with _con(built.cfg) as con:
        lines = con.execute("SELECT count(*), sum(amount) FROM reports.invoice_lines WHERE run_id = ?",
                            [run["run_id"]]).fetchone()
        plines = con.execute("SELECT count(*), sum(amount) FROM reports.payout_lines WHERE run_id = ?",
                             [run["run_id"]]).fetchone()
        invoices = con.execute("SELECT count(*), sum(total) FROM marts.fct_invoices WHERE invoice_period = ?",
                               [PERIOD]).fetchone()
        payouts = con.execute("SELECT sum(gross), sum(net), sum(CASE WHEN status = 'ok' THEN gross - held ELSE 0 END) "
                              "FROM marts.fct_payouts "
                              "WHERE statement_period = ?", [PERIOD]).fetchone()
    assert lines[0] == counts["fct_invoice_lines"] > 0
    assert plines[0] == counts["fct_payout_lines"] > 0
    assert invoices[0] == counts["fct_invoices"]
    # an invoice total is the sum of its lines (usage + adjustments - discount)
    assert run["invoice_total"] == lines[1] == invoices[1]
    assert run["payout_gross_total"] == plines[1] == payouts[0]
    # net = gross - held for farmers in good standing; a disqualified farmer's net is 0 (forfeited)
    assert run["payout_net_total"] == payouts[1] == payouts[2]
    # the Dagster materialization shows the same numbers
    mat = [e.event_specific_data.materialization for e in built.first.all_events
           if e.event_type_value == "ASSET_MATERIALIZATION"
           and e.event_specific_data.materialization.asset_key == AssetKey("period_report")][0]
    assert mat.metadata["invoice_total"].value == str(run["invoice_total"])
    assert mat.metadata["status"].value == "final"
    assert mat.metadata["invoice_lines_sha256"].value == run["invoice_lines_sha256"]
    assert "| account | total |" in mat.metadata["summary"].value


def test_snapshot_hash_matches_canonical_contents(built):
    from orchestration.reports import columns_of, lines_sha256
    runs = {r["run_id"]: r for r in _runs(built.cfg)}
    run = runs[built.first.run_id]
    with _con(built.cfg) as con:
        for kind, col in (("invoice_lines", "invoice_lines_sha256"), ("payout_lines", "payout_lines_sha256")):
            cols = [c for c in columns_of(con, f"reports.{kind}") if c[0] != "run_id"]
            names = ", ".join(f'"{c}"' for c, _ in cols)
            rows = con.execute(f"SELECT {names} FROM reports.{kind} WHERE run_id = ?", [run["run_id"]]).fetchall()
            assert lines_sha256(rows, cols) == run[col]


def test_rebuild_of_closed_period_gives_same_hash(built, capsys):
    from orchestration import cli
    from orchestration.reports import diff_runs
    assert cli.main(["report", "build", "--period", PERIOD]) == 0
    out = capsys.readouterr().out
    runs = _runs(built.cfg)
    assert len(runs) == 2
    a, b = runs
    assert b["run_id"] in out and "final" in out
    assert (a["invoice_lines_sha256"], a["payout_lines_sha256"]) == (b["invoice_lines_sha256"], b["payout_lines_sha256"])
    assert (a["invoice_total"], a["payout_net_total"]) == (b["invoice_total"], b["payout_net_total"])
    with _con(built.cfg) as con:
        assert diff_runs(con, a["run_id"], b["run_id"]) == []
        # a doctored copy of run a: one line changed, one removed -> both reported with both amounts
        con.execute("CREATE TEMP TABLE t AS SELECT * FROM reports.invoice_lines WHERE run_id = ? ORDER BY line_id",
                    [a["run_id"]])
        first, second = con.execute("SELECT line_id, amount FROM t ORDER BY line_id LIMIT 2").fetchall()
        con.execute("UPDATE t SET run_id = 'doctored', amount = amount + 1 WHERE line_id = ?", [first[0]])
        con.execute("DELETE FROM t WHERE line_id = ?", [second[0]])
        con.execute("UPDATE t SET run_id = 'doctored'")
        con.execute("INSERT INTO reports.invoice_lines SELECT * FROM t")
        con.execute("INSERT INTO reports.payout_lines SELECT * REPLACE ('doctored' AS run_id) "
                    "FROM reports.payout_lines WHERE run_id = ?", [a["run_id"]])
        con.execute("INSERT INTO reports.report_runs SELECT * REPLACE ('doctored' AS run_id) FROM reports.report_runs "
                    "WHERE run_id = ?", [a["run_id"]])
        try:
            diff = diff_runs(con, a["run_id"], "doctored")
        finally:
            con.execute("DELETE FROM reports.invoice_lines WHERE run_id = 'doctored'")
            con.execute("DELETE FROM reports.payout_lines WHERE run_id = 'doctored'")
            con.execute("DELETE FROM reports.report_runs WHERE run_id = 'doctored'")
    changes = sorted((d["kind"], d["change"], d["amount_a"], d["amount_b"]) for d in diff)
    assert changes == sorted([("invoice", "changed", first[1], first[1] + 1), ("invoice", "removed", second[1], None)])


# ------------------------------------------------------------------------------- automation

# What the sensor and the CLI gate see as now (orchestration.partitions.utc_now), pinned where a
# test's expectations depend on which periods have closed: the real date moves on.
NOW = dt.datetime(2026, 11, 21, 0, 15, tzinfo=UTC)


def test_period_close_sensor_and_daily_schedule(built, monkeypatch):
    from dagster import build_schedule_context, build_sensor_context
    monkeypatch.setenv("ABACUS_NOW", NOW.isoformat())
    sensor = built.defs.resolve_sensor_def("period_close")
    requests = sensor(build_sensor_context(instance=built.instance, definitions=built.defs))
    # 2026-10 has a final report in this instance; 2026-09 (also closed) has none yet
    assert [r.partition_key for r in requests] == ["2026-09"]
    assert requests[0].run_key.startswith("final-2026-09-")
    schedule = built.defs.resolve_schedule_def("daily_extraction")
    ctx = build_schedule_context(scheduled_execution_time=NOW,
                                 repository_def=built.defs.get_repository_def())
    request = schedule.evaluate_tick(ctx).run_requests[0]
    assert request.partition_key == "2026-11-20"
    assert request.tags["abacus/extract"] == "new"


# ------------------------------------------------------------------------------- gate

def test_gate_refuses_open_period_and_names_lagging_sources(built, capsys):
    from orchestration import cli
    assert cli.main(["report", "build", "--period", "2026-13"]) == 2
    assert "not a calendar month" in capsys.readouterr().err
    # the current period (of the real clock: the fixture's extraction ran up to real now) has not
    # closed: refused unless --draft, and every source lags its close
    from orchestration.partitions import period_bounds, period_of
    current = period_of(dt.datetime.now(UTC))
    close = (period_bounds(current)[1] + dt.timedelta(hours=built.cfg.grace_hours)).strftime("%Y-%m-%dT%H:%MZ")
    assert cli.main(["report", "build", "--period", current]) == 3
    err = capsys.readouterr().err
    assert f"period {current} cannot be built: it closes at {close}" in err
    for s in ("storage_network", "compute", "storage"):
        assert f"{s}: not extracted past close {close}" in err


def test_gate_lagging_source_in_state(tmp_path):
    from extract.state import ensure_state_tables, record_run
    from orchestration.gate import check_gate
    cfg = load_config(write_config(tmp_path / "a.yml", config_doc()), require_env=False)
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    ensure_state_tables(con)
    t0, close = dt.datetime(2026, 1, 1), dt.datetime(2026, 11, 4)
    for s, c in cfg.collections():
        end = close - dt.timedelta(hours=2) if (s.name, c) == ("storage", "accounts") else close + dt.timedelta(days=1)
        record_run(con, batch_id="b", source=s.name, collection=c, window_start=t0, window_end=end, status="success",
                   error=None, rows_read=0, rows_inserted=0, started_at=end, finished_at=end)
    result = check_gate(con, cfg, PERIOD, now=dt.datetime(2026, 11, 21, tzinfo=UTC))
    assert [s.source for s in result.blocking] == ["storage"]
    assert result.message == ("period 2026-10 cannot be built: storage: not extracted past close "
                              "2026-11-04T00:00Z (watermark 2026-11-03T22:00:00Z)")


def test_gate_refuses_when_a_source_is_unreachable(built, capsys):
    """Last: it leaves the compute source's last run failed."""
    from orchestration import cli
    with _con(built.cfg) as con:
        before = con.execute("SELECT count(*) FROM reports.report_runs").fetchone()[0]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"mongodb://127.0.0.1:{s.getsockname()[1]}/?serverSelectionTimeoutMS=500"
    built.mp.setenv("ABACUS_COMPUTE_URI", dead)
    result = cli.run_extraction_job(built.defs, built.instance)
    assert not result.success
    failed = {e.step_key for e in result.all_events if e.is_step_failure}
    assert failed == {"raw__compute__usage_events", "raw__compute__accounts"}
    # the period job refuses before dbt runs, naming the source and its watermark
    job = cli.run_period_job(built.defs, built.instance, PERIOD, draft=False)
    assert not job.success
    message = cli._failure_message(job)
    assert message.startswith("abacus_dbt: period 2026-10 cannot be built: compute: last extraction failed")
    assert "storage_network" not in message
    assert not [e for e in job.all_events if e.event_type_value == "ASSET_MATERIALIZATION"]
    assert cli.main(["report", "build", "--period", PERIOD]) == 3
    err = capsys.readouterr().err
    assert "compute: last extraction failed" in err and "watermark" in err
    assert dead not in err
    with _con(built.cfg) as con:
        assert con.execute("SELECT count(*) FROM reports.report_runs").fetchone()[0] == before


# ------------------------------------------------------------------------------- published

def test_published_reader_works_while_the_pipeline_writes(built):
    from extract.warehouse import warehouse_writer
    from orchestration.reports import publish
    published = Path(built.cfg.published_dir) / "abacus.duckdb"
    parquet = Path(built.cfg.published_dir) / "parquet" / "fct_invoices.parquet"
    assert published.exists() and parquet.exists()
    reader = duckdb.connect(str(published), read_only=True)
    try:
        n_before = reader.execute("SELECT count(*) FROM reports.report_runs").fetchone()[0]
        assert n_before >= 1
        with warehouse_writer(built.cfg.warehouse_path) as con:  # the pipeline holds the working file
            con.execute("INSERT INTO reports.report_runs SELECT * REPLACE ('extra' AS run_id) "
                        "FROM reports.report_runs LIMIT 1")
            assert reader.execute("SELECT count(*) FROM marts.fct_invoices").fetchone()[0] > 0
            publish(con, built.cfg)  # atomic replace while the reader holds the old file
            con.execute("DELETE FROM reports.report_runs WHERE run_id = 'extra'")
        # the old reader keeps reading the file it opened
        assert reader.execute("SELECT count(*) FROM reports.report_runs").fetchone()[0] == n_before
        assert reader.execute("SELECT count(*) FROM marts.fct_invoices").fetchone()[0] > 0
    finally:
        reader.close()
    # a new reader (DuckDB caches one database per path and process, so after the old one closed)
    fresh = duckdb.connect(str(published), read_only=True)
    assert fresh.execute("SELECT count(*) FROM reports.report_runs").fetchone()[0] == n_before + 1
    fresh.close()
    import sqlalchemy
    engine = sqlalchemy.create_engine(f"duckdb:///{published}?access_mode=read_only")
    with engine.connect() as c:
        total = c.execute(sqlalchemy.text("SELECT sum(total) FROM marts.fct_invoices")).scalar()
    engine.dispose()
    assert isinstance(total, Decimal)
    assert duckdb.sql(f"SELECT count(*) FROM read_parquet('{parquet}')").fetchall()[0][0] > 0


# ------------------------------------------------------------------------------- dagster dev

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_dagster_dev_lists_the_asset_graph(built, tmp_path):
    port = _free_port()
    env = dict(os.environ, DAGSTER_HOME=str(tmp_path), PYTHONUNBUFFERED="1")
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    proc = subprocess.Popen([str(REPO / ".venv" / "bin" / "dagster"), "dev", "-h", "127.0.0.1", "-p", str(port)],
                            cwd=REPO, env=env, stdout=open(tmp_path / "dev.log", "wb"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    query = json.dumps({"query": "{ assetNodes { assetKey { path } } }"}).encode()
    paths: set = set()
    try:
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                req = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=query,
                                             headers={"Content-Type": "application/json"})
                with urllib.request.urlopen(req, timeout=10) as resp:
                    body = json.loads(resp.read())
                nodes = (body.get("data") or {}).get("assetNodes") or []
                paths = {"/".join(n["assetKey"]["path"]) for n in nodes}
                if paths:
                    break
            except (OSError, ValueError):
                pass
            time.sleep(2)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    log = (tmp_path / "dev.log").read_text(errors="replace")[-3000:]
    assert "raw/compute/usage_events" in paths, log
    assert {"marts/fct_invoices", "marts/fct_payouts", "period_report"} <= paths, log
