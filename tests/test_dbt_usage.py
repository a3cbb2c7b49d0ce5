"""End to end: SPEC §6 examples 1, 2, 3 and 6 (plus knowledge-time edge cases) from raw text rows
through dbt staging -> intermediate usage models -> usage marts, asserting exact quantities.

Fixture (as_of 2027-02-01, grace 72 h: close(2026-10) = 2026-11-04, close(2026-11) = 2026-12-04):
- C1 (ex. 1): 2e9 bytes 2026-09-30T12:00 -> 2026-10-03T00:00: 96 GBh in 2026-10, 24 GBh in 2026-09.
- C2 (ex. 2): 1e9 bytes 10-01 -> 10-31, audits passed 10-05, failed 10-11 and 10-20: 240 GBh.
- C3: 1e9 bytes 10-01 -> 10-11 (240 GBh); a version recorded 2026-11-10 extends it to 10-21
  (480 GBh): not used at October's cutoff, used at November's.
- C4: 1e9 bytes 10-01 -> 11-01 (744 GBh); failed audit at 10-16 recorded 2026-11-20 (after
  October's close): ignored at October's cutoff, 360 GBh at November's.
- samples (ex. 3) of S1 s1/home with a later-recorded duplicate and a late sample: 660 GBh and
  peak 7 files in October as known at its close; 2940 GBh as known at November's close.
- T1 (ex. 6): renter 1e9, farmer 9.8e8 -> 0.98 GB, byte_mismatch; T2 farmer only ->
  missing_renter_report, not billed, not paid.
- events: lab/alice 100 core_hours + a late 20 (recorded after close), lab/bob 50, 617 jobs each,
  a later-recorded duplicate event_id; lab/carol 1 core-second in each of four hours (charts'
  cumulative rounding).
"""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import json
import os
import subprocess
import sys

import duckdb
import pytest

from dbt_support import PROFILES_DIR, REPO_ROOT, create_raw_tables, insert_raw

AS_OF = "2027-02-01T00:00:00"
SELECT = ("+int_account_usage_known +int_farmer_usage_known +int_account_usage_records_known "
          "+int_farmer_usage_records_known +fct_transfer_discrepancies +fct_usage_gaps "
          "+fct_usage_daily +fct_usage_hourly")
D = Decimal


def _contract(_id, renter, bucket, farmer, size, begin, end, updated):
    return {"_id": _id, "renter_id": renter, "bucket": bucket, "farmer_id": farmer,
            "shard_hash": f"h-{_id}", "data_size": size, "store_begin": begin,
            "store_end": end, "updated_at": updated}


def _audit(_id, contract, farmer, audited, passed, recorded):
    return {"_id": _id, "contract_id": contract, "farmer_id": farmer, "audited_at": audited,
            "passed": "true" if passed else "false", "recorded_at": recorded}


def _report(_id, transfer, reporter, nbytes, recorded, completed="2026-10-10T01:00:00Z"):
    return {"_id": _id, "transfer_id": transfer, "reporter": reporter, "contract_id": "C1",
            "renter_id": "R1", "farmer_id": "F1", "bucket": "r1/photos", "direction": "download",
            "bytes": nbytes, "started_at": "2026-10-10T00:00:00Z", "completed_at": completed,
            "recorded_at": recorded}


def _sample(_id, resource, value, unit, observed, recorded=None):
    return {"_id": _id, "account_id": "S1", "context": "s1/home", "resource": resource,
            "value": value, "unit": unit, "observed_at": observed,
            "recorded_at": recorded or observed}


def _event(_id, event_id, context, resource, qty, unit, occurred, recorded):
    return {"_id": _id, "event_id": event_id, "account_id": "lab", "context": context,
            "resource": resource, "quantity": qty, "unit": unit, "occurred_at": occurred,
            "recorded_at": recorded}


def load_fixture(con: duckdb.DuckDBPyConnection) -> None:
    create_raw_tables(con)
    insert_raw(con, "storage_network", "contracts", [
        _contract("C1", "R1", "r1/photos", "F1", "2000000000", "2026-09-30T12:00:00Z",
                  "2026-10-03T00:00:00Z", "2026-09-30T12:00:00Z"),
        _contract("C2", "R1", "r1/docs", "F1", "1000000000", "2026-10-01T00:00:00Z",
                  "2026-10-31T00:00:00Z", "2026-10-01T00:00:00Z"),
        _contract("C3", "R2", "r2/a", "F2", "1000000000", "2026-10-01T00:00:00Z",
                  "2026-10-11T00:00:00Z", "2026-10-01T00:00:00Z"),
        _contract("C3", "R2", "r2/a", "F2", "1000000000", "2026-10-01T00:00:00Z",
                  "2026-10-21T00:00:00Z", "2026-11-10T00:00:00Z"),
        _contract("C4", "R2", "r2/b", "F2", "1e+9", "2026-10-01T00:00:00Z",
                  "2026-11-01T00:00:00Z", "2026-10-01T00:00:00Z"),
    ])
    insert_raw(con, "storage_network", "audits", [
        _audit("A1", "C2", "F1", "2026-10-05T00:00:00Z", True, "2026-10-05T00:00:00Z"),
        _audit("A2", "C2", "F1", "2026-10-11T00:00:00Z", False, "2026-10-11T01:00:00Z"),
        _audit("A3", "C2", "F1", "2026-10-20T00:00:00Z", False, "2026-10-20T00:00:00Z"),
        _audit("A4", "C4", "F2", "2026-10-16T00:00:00Z", False, "2026-11-20T00:00:00Z"),
    ])
    insert_raw(con, "storage_network", "transfer_reports", [
        _report("TR1r", "T1", "renter", "1000000000", "2026-10-10T01:00:00Z"),
        _report("TR1f", "T1", "farmer", "980000000", "2026-10-10T02:00:00Z"),
        _report("TR1r-dup", "T1", "renter", "5", "2026-10-10T03:00:00Z"),
        _report("TR2f", "T2", "farmer", "500000000", "2026-10-12T00:00:00Z",
                completed="2026-10-12T00:00:00Z"),
    ])
    b, f = "storage.bytes_used", "storage.files"
    insert_raw(con, "storage", "usage_samples", [
        _sample("S1", b, "10", "GB", "2026-09-30T20:00:00Z"),
        _sample("S2", b, "20", "GB", "2026-10-01T06:00:00Z"),
        _sample("S3", b, "5", "GB", "2026-10-03T12:00:00Z"),
        _sample("S2-dup", b, "99", "GB", "2026-10-01T06:00:00Z", "2026-10-01T07:00:00Z"),
        _sample("S-late", b, "100", "GB", "2026-10-02T00:00:00Z", "2026-11-10T00:00:00Z"),
        _sample("F1s", f, "3", "count", "2026-09-30T20:00:00Z"),
        _sample("F2s", f, "7", "count", "2026-10-01T06:00:00Z"),
        _sample("F3s", f, "2", "count", "2026-10-03T12:00:00Z"),
    ])
    t, j = "compute.time_used", "compute.jobs_started"
    insert_raw(con, "compute", "usage_events", [
        _event("E1", "e1", "lab/alice", t, "100", "core_hours", "2026-10-02T10:00:00Z", "2026-10-02T10:00:00Z"),
        _event("E1-dup", "e1", "lab/alice", t, "100", "core_hours", "2026-10-02T10:00:00Z", "2026-10-03T10:00:00Z"),
        _event("E2", "e2", "lab/bob", t, "180000", "core_seconds", "2026-10-03T10:00:00Z", "2026-10-03T10:00:00Z"),
        _event("E3", "e3", "lab/alice", j, "617", "count", "2026-10-04T10:00:00Z", "2026-10-04T10:00:00Z"),
        _event("E4", "e4", "lab/bob", j, "617", "count", "2026-10-04T11:00:00Z", "2026-10-04T11:00:00Z"),
        _event("E5", "e5", "lab/alice", t, "20", "core_hours", "2026-10-30T10:00:00Z", "2026-11-05T00:00:00Z"),
        # one core-second in each of four hours: 1/3600 core-hour does not end at 12 decimals
        *[_event(f"E6{h}", f"e6{h}", "lab/carol", t, "1", "core_seconds", f"2026-10-06T0{h}:30:00Z",
                 f"2026-10-06T0{h}:30:00Z") for h in range(1, 5)],
    ])


def run_dbt_subprocess(args: list[str], warehouse: Path) -> subprocess.CompletedProcess:
    """dbt in a child process, so no in-process DuckDB connection outlives the run."""
    target = warehouse.parent / "dbt_target"
    env = dict(os.environ, ABACUS_WAREHOUSE=str(warehouse), DBT_TARGET_PATH=str(target),
               DBT_LOG_PATH=str(target / "logs"), DBT_PROFILES_DIR=str(PROFILES_DIR))
    dbt = Path(sys.executable).parent / "dbt"
    return subprocess.run([str(dbt), *args, "--project-dir", str(REPO_ROOT), "--vars", json.dumps({"as_of": AS_OF, "usage_hourly_periods": 6})],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True)


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    warehouse = Path(tmp_path_factory.mktemp("usage")) / "abacus.duckdb"
    c = duckdb.connect(str(warehouse))
    load_fixture(c)
    c.close()
    result = run_dbt_subprocess(["build", "--select", SELECT, "--indirect-selection", "cautious"], warehouse)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    c = duckdb.connect(str(warehouse), read_only=True)
    yield c
    c.close()


def account_usage(con, known_period="2026-10", usage_period="2026-10"):
    rows = con.execute(
        "select account_id, context, resource, quantity, base_quantity from intermediate.int_account_usage_known "
        "where usage_period = ? and known_period = ? order by all", [usage_period, known_period]).fetchall()
    return {(a, c, r): q for a, c, r, q, _ in rows}


def test_october_as_known_at_its_close(con):
    assert account_usage(con) == {
        ("R1", "r1/photos", "network.storage"): D("96"),        # example 1
        ("R1", "r1/docs", "network.storage"): D("240"),         # example 2
        ("R1", "r1/photos", "network.download"): D("0.98"),     # example 6 (T1), T2 not billed
        ("R2", "r2/a", "network.storage"): D("240"),            # later version not yet known
        ("R2", "r2/b", "network.storage"): D("744"),            # failed audit not yet known
        ("S1", "s1/home", "storage.bytes_used"): D("660"),      # example 3
        ("S1", "s1/home", "storage.files"): D("7"),             # example 3 peak
        ("lab", "lab/alice", "compute.time_used"): D("100"),
        ("lab", "lab/bob", "compute.time_used"): D("50"),
        ("lab", "lab/carol", "compute.time_used"): D("0.001111111111"),   # 4/3600
        ("lab", "lab/alice", "compute.jobs_started"): D("617"),
        ("lab", "lab/bob", "compute.jobs_started"): D("617"),
    }


def test_example_1_september_part(con):
    assert account_usage(con, "2026-09", "2026-09") == {
        ("R1", "r1/photos", "network.storage"): D("24"),
        ("S1", "s1/home", "storage.bytes_used"): D("40"),   # 09-30T20:00 -> 10-01T00:00 x 10 GB
        ("S1", "s1/home", "storage.files"): D("3"),
    }


def test_october_as_known_at_novembers_close(con):
    usage = account_usage(con, known_period="2026-11")
    assert usage[("R2", "r2/a", "network.storage")] == D("480")
    assert usage[("R2", "r2/b", "network.storage")] == D("360")
    assert usage[("S1", "s1/home", "storage.bytes_used")] == D("2940")
    assert usage[("lab", "lab/alice", "compute.time_used")] == D("120")
    # no 'latest' window: October's adjustment window (through 2027-01) is still open, so its
    # window of 2026-11 (cut at as_of) is already the latest knowledge
    assert account_usage(con, known_period="latest") == {}


def test_base_quantities_are_exact(con):
    base = dict(((a, c, r), b) for a, c, r, _, b in con.execute(
        "select account_id, context, resource, quantity, base_quantity from intermediate.int_account_usage_known "
        "where usage_period = '2026-10' and known_period = '2026-10'").fetchall())
    assert base[("R1", "r1/photos", "network.storage")] == D(96 * 3600 * 10**9)
    assert base[("S1", "s1/home", "storage.bytes_used")] == D(660 * 3600 * 10**9)
    assert base[("R1", "r1/photos", "network.download")] == D(980000000)
    assert base[("lab", "lab/bob", "compute.time_used")] == D(180000)


def test_farmer_usage(con):
    rows = con.execute(
        "select farmer_id, known_period, storage_gbh, download_gb, upload_gb, audits, audits_passed "
        "from intermediate.int_farmer_usage_known where usage_period = '2026-10' "
        "and known_period in ('2026-10', '2026-11') order by all").fetchall()
    assert rows == [
        ("F1", "2026-10", D("336"), D("0.98"), D("0"), 3, 1),   # examples 1 + 2 + 6 (example 7's inputs)
        ("F1", "2026-11", D("336"), D("0.98"), D("0"), 3, 1),
        ("F2", "2026-10", D("984"), D("0"), D("0"), 0, 0),      # 240 + 744
        ("F2", "2026-11", D("840"), D("0"), D("0"), 1, 0),      # 480 + 360
    ]


def test_transfer_discrepancies(con):
    rows = con.execute(
        "select transfer_id, reason, renter_bytes, farmer_bytes, settled_bytes, account_id, farmer_id, usage_period "
        "from marts.fct_transfer_discrepancies order by transfer_id").fetchall()
    assert rows == [
        ("T1", "byte_mismatch", 1000000000, 980000000, 980000000, "R1", "F1", "2026-10"),
        ("T2", "missing_renter_report", None, 500000000, None, "R1", "F1", "2026-10"),
    ]


def test_usage_gaps(con):
    rows = con.execute(
        "select resource, gap_start, gap_end, gap_hours from marts.fct_usage_gaps "
        "where usage_period = '2026-10' order by resource, gap_start").fetchall()
    gaps = [(str(s), str(e), h) for r, s, e, h in rows if r == "storage.bytes_used"]
    assert gaps == [
        ("2026-10-02 06:00:00", "2026-10-03 12:00:00", D("30")),
        ("2026-10-04 12:00:00", "2026-11-01 00:00:00", D("660")),
    ]


def test_records_sum_to_lines(con):
    mismatches = con.execute("""
        select l.*, r.total from intermediate.int_account_usage_known l
        left join (
            -- a window's records: its states, and the counters first known at or before its cutoff
            select r.account_id, r.context, r.resource, w.usage_period, w.known_period, sum(r.base_quantity) total
            from intermediate.int_account_usage_records_known r
            join intermediate.int_usage_knowledge_windows w
              on w.usage_period = r.usage_period
             and (w.known_period = r.known_period or (r.is_cumulative and r.cutoff_at <= w.cutoff_at))
            group by all) r
        using (account_id, context, resource, usage_period, known_period)
        where r.total is distinct from l.base_quantity""").fetchall()
    assert mismatches == []
    peak = con.execute(
        "select record_id, base_quantity from intermediate.int_account_usage_records_known "
        "where resource = 'storage.files' and usage_period = '2026-10' and known_period = '2026-10' "
        "order by record_id").fetchall()
    assert peak == [("F1s", D("0")), ("F2s", D("7")), ("F3s", D("0"))]


@pytest.mark.parametrize("table,col", [("fct_usage_daily", "usage_day"), ("fct_usage_hourly", "usage_hour")])
def test_charts_sum_to_lines(con, table, col):
    diff = con.execute(f"""
        select l.account_id, l.context, l.resource, l.usage_period, l.quantity, c.total
        from intermediate.int_account_usage_known l
        left join (select account_id, context, resource, usage_period, sum(quantity) total
                   from marts.{table} group by all) c using (account_id, context, resource, usage_period)
        where l.known_period = l.usage_period and l.resource <> 'storage.files'
          and c.total is distinct from l.quantity""").fetchall()
    assert diff == []


def test_hours_are_cumulative_roundings(con):
    """Hour h of a line gets round(W(h)) - round(W(h-1)) of its cumulative usage W, so its hours
    sum to the line and a later hour never changes an earlier one. Four hours of 1/3600
    core-hour: round(k/3600, 12) for k = 1..4 is .000277777778, .000555555556, .000833333333,
    .001111111111, so the third hour rounds down and the fourth up (largest remainder would
    round the first three up and the fourth down)."""
    rows = con.execute(
        "select usage_hour, quantity, base_quantity from marts.fct_usage_hourly "
        "where context = 'lab/carol' order by usage_hour").fetchall()
    assert [(str(h), q, b) for h, q, b in rows] == [
        (f"2026-10-06 0{h}:00:00", D(q), D("1")) for h, q in
        ((1, "0.000277777778"), (2, "0.000277777778"), (3, "0.000277777777"), (4, "0.000277777778"))]
    day = con.execute("select usage_day, quantity from marts.fct_usage_daily where context = 'lab/carol'").fetchall()
    assert [(str(d), q) for d, q in day] == [("2026-10-06", D("0.001111111111"))]


def test_daily_values(con):
    rows = con.execute(
        "select resource, usage_day, quantity from marts.fct_usage_daily "
        "where account_id = 'S1' and usage_period = '2026-10' order by resource, usage_day").fetchall()
    days = {(r, str(d)): q for r, d, q in rows}
    assert days[("storage.bytes_used", "2026-10-01")] == D("6") * 10 + D("18") * 20   # 420
    assert days[("storage.bytes_used", "2026-10-02")] == D("6") * 20                  # 120
    assert days[("storage.bytes_used", "2026-10-03")] == D("12") * 5                  # 60
    assert days[("storage.bytes_used", "2026-10-04")] == D("12") * 5                  # 60
    assert days[("storage.files", "2026-10-01")] == D("7")      # per-day peak
    assert days[("storage.files", "2026-10-03")] == D("2")
