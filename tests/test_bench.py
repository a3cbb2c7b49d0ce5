"""The benchmark harness's own logic (bench/run.py): the agreement check and the results table.

The measured runs themselves are `make bench SIZE=...` (minutes to an hour; never in the suite)."""
from __future__ import annotations

import json
import sys
from decimal import Decimal

from bench import run


def test_compare_reports_a_one_cent_difference_and_a_missing_key():
    marts = {"acct-1": (Decimal("10.00"), Decimal("1.00"), Decimal("9.00")),
             "acct-2": (Decimal("5.00"), Decimal("0.00"), Decimal("5.00"))}
    other = {"acct-1": (Decimal("10.00"), Decimal("1.00"), Decimal("9.01"))}
    c = run.compare(marts, other, ("subtotal", "discount", "total"))
    assert c["rows_marts"] == 2 and c["rows_other"] == 1
    assert c["mismatches"] == 2
    assert c["examples"][0] == {"key": "acct-1", "fields": ["total"],
                                "marts": {"subtotal": "10.00", "discount": "1.00", "total": "9.00"},
                                "other": {"subtotal": "10.00", "discount": "1.00", "total": "9.01"}}
    # acct-2 is absent on the other side: compared against zeros
    assert c["examples"][1]["fields"] == ["subtotal", "total"]


def test_compare_equal_maps_have_no_mismatch():
    m = {"f-1": ("paid", Decimal("0.020306"), Decimal("0.015230"), Decimal("0.005076"))}
    assert run.compare(m, dict(m), ("status", "gross", "held", "net"))["mismatches"] == 0


def test_top_nodes_orders_by_seconds(tmp_path):
    rr = tmp_path / "run_results.json"
    rr.write_text(json.dumps({"results": [
        {"unique_id": "model.abacus.fct_a", "execution_time": 1.04},
        {"unique_id": "test.abacus.unique_combination_fct_a_x.abc", "execution_time": 7.26},
        {"unique_id": "model.abacus.int_b", "execution_time": 3.0}]}))
    assert list(run.top_nodes(rr, n=2).items()) == [("unique_combination_fct_a_x.abc", 7.3), ("int_b", 3.0)]


def _result(size, raw, wh, models, full, ref, measured_at="2026-11-22T00:00:00+00:00", full_cpu=None):
    step = lambda s: {"seconds": s, "peak_rss_mb": 100.0}  # noqa: E731
    return {"size": size, "raw_rows_total": raw, "raw_rows": {}, "warehouse_rows_total": wh,
            "steps": {"models_only": step(models), "full_build": {**step(full), "cpu_seconds": full_cpu},
                      "reference": step(ref)},
            "ratios": {"models_only_over_reference": round(models / ref, 2), "pandas_over_models_only": None,
                       "daily_cycle_over_full_build": None},
            "failures": [], "command": f"make bench SIZE={size}", "measured_at": measured_at,
            "machine": {"nproc": 2, "memory_gb": 24.0, "platform": "linux", "python": "3.11", "duckdb": "x",
                        "dbt_core": "1.11", "pandas": "x", "duckdb_settings": {"memory_limit": "6GB", "threads": 2},
                        "dbt_threads": 2}}


def test_results_table_growth_row():
    table = run._results_table([_result("M", 1000, 4000, 10.0, 20.0, 5.0, full_cpu=30.0),
                                _result("L", 5000, 30000, 40.0, 120.0, 25.0, full_cpu=150.0)])
    growth = [ln for ln in table.splitlines() if ln.startswith("| M → L")]
    # raw rows x5.00, warehouse rows x7.50; models x4.00 (0.80 per raw-row growth), full x6.00 (0.80 per
    # warehouse-row growth), full build CPU x5.00 (0.67 per warehouse-row growth)
    assert growth == ["| M → L | 5.00 | 7.50 | 4.00 | 6.00 | 5.00 | 0.80 | 0.80 | 0.67 |"]
    # results without CPU seconds (before they were recorded): no CPU ratio
    table = run._results_table([_result("M", 1000, 4000, 10.0, 20.0, 5.0), _result("L", 5000, 30000, 40.0, 120.0, 25.0)])
    assert [ln for ln in table.splitlines() if ln.startswith("| M → L")] == ["| M → L | 5.00 | 7.50 | 4.00 | 6.00 | 5.00 | 0.80 | 0.80 | – |"]


def test_results_table_has_no_growth_across_sessions():
    # M from one session, L from a later one: the machine's speed differs, so no ratio is printed
    table = run._results_table([_result("M", 1000, 4000, 10.0, 20.0, 5.0, "2026-12-07T07:12:00+00:00"),
                                _result("L", 5000, 30000, 40.0, 120.0, 25.0, "2026-12-07T13:30:00+00:00")])
    growth = [ln for ln in table.splitlines() if ln.startswith("| M → L")]
    assert growth == ["| M → L | not measured in one session (M at 2026-12-07T07:12:00+00:00, "
                      "L at 2026-12-07T13:30:00+00:00) | | | | | | | |"]


def test_run_measured_kills_a_step_at_its_time_limit(tmp_path):
    from bench.measure import StepFailed, run_measured
    try:
        run_measured("slow", ["sleep", "30"], log_path=tmp_path / "slow.log", timeout_s=0.5)
    except StepFailed as exc:
        m = exc.measurement
    else:  # pragma: no cover
        raise AssertionError("a killed step must raise StepFailed")
    assert m.timed_out and m.returncode == -9 and 0.5 <= m.seconds < 10
    ok = run_measured("quick", ["true"], timeout_s=30)
    assert not ok.timed_out and ok.returncode == 0
    # CPU seconds are the child's own: a busy loop of ~0.3 s counts, a sleep does not
    busy = run_measured("busy", [sys.executable, "-c", "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass"])
    idle = run_measured("idle", ["sleep", "0.3"])
    assert busy.cpu_seconds >= 0.3 and idle.cpu_seconds < 0.1 and idle.seconds >= 0.3


def test_append_day_lands_the_staged_day_through_the_extractor_write_step(tmp_path):
    """append_day (the timed step) lands exactly what prepare_day staged, as the extractor writes
    it: one batch per collection, misfits with their raw document, and a re-run adds nothing."""
    import duckdb

    from bench.sizes import plan
    from extract.generate import generate_increment, raw_row, write_raw_to_duckdb

    wh = tmp_path / "wh.duckdb"
    spec = plan("TINY").spec
    write_raw_to_duckdb(spec, str(wh))
    staged = run.prepare_day(str(tmp_path / "day-1"), "TINY")
    inc = generate_increment(spec, 1)
    expected = {f"{s}__{c}": len(inc.inserts.get((s, c), [])) + len(inc.replacements.get((s, c), []))
                for s, c in set(inc.inserts) | set(inc.replacements)}
    assert staged == expected and sum(expected.values()) > 0

    assert run.append_day(str(wh), str(tmp_path / "day-1")) == expected
    con = duckdb.connect(str(wh), read_only=True)
    try:
        for table, n in expected.items():
            got = con.execute(f"SELECT count(*), count(_raw_document) FROM raw.{table} "
                              "WHERE _batch_id LIKE 'bench-day1-%'").fetchone()
            docs = inc.inserts.get(tuple(table.split("__")), []) + inc.replacements.get(tuple(table.split("__")), [])
            misfits = sum(1 for d in docs if raw_row(d, table.split("__")[1])["_raw_document"] is not None)
            assert got == (n, misfits), table
        runs = con.execute("SELECT count(*), sum(rows_inserted) FROM raw._extract_runs "
                           "WHERE batch_id LIKE 'bench-day1-%' AND status = 'success'").fetchone()
    finally:
        con.close()
    assert runs == (len(expected), sum(expected.values()))
    # the extractor's write step is idempotent: the same staged day again inserts nothing
    assert run.append_day(str(wh), str(tmp_path / "day-1")) == {t: 0 for t in expected}
