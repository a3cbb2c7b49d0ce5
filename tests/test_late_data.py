"""Late data end to end (SPEC §4.1, §4.2): built reports never change, late knowledge is billed
as adjustment lines of the next period.

One module-scoped scenario on SecantusDB (real socket) with the tiny generated network:

A. the network is loaded and extracted with a plain run at the generator's horizon
   (2026-11-10T00:00Z, everything before is known); the Dagster period job builds the final
   report of 2026-10 (dbt ``as_of = close(2026-10) = 2026-11-04``). Its marts hold the invoice and
   payout lines of every closed period 2026-07 .. 2026-10: their canonical lines are recorded.
B. new documents arrive, all recorded after close(2026-10): the generator's day-1 increment
   (late events / audits / transfer halves, samples, a new contract, an extended contract
   version) and hand-made ones whose effect is computed here by hand:
   * a compute usage event of ``acct-0002`` (plan starter, 25 core-hours included) of
     100 core-hours occurred 2026-10-20;
   * a failed audit at 2026-10-21T00:00Z of contract ``6a83a1fc...0a`` (126 426 879 bytes,
     acct-0001 / farmer-0003, stored all October): storage stops counting on 10-21;
   * the missing farmer report of transfer ``tr-0000000023`` (download, 840 973 823 bytes,
     completed 2026-10-26, acct-0005 / farmer-0004), so the transfer settles;
   * a compute usage event of ``acct-0002`` of 200 core-hours occurred 2026-07-15: July's
     adjustment window closed with 2026-10, so it is late, not billed.
   A second plain extraction picks them up (window from the watermark); the CLI build path
   rebuilds 2026-10 as final. (Both extractions pin ``now``: a plain run reads from the
   watermark minus the 1 h look-back, so a document recorded before the previous run's end would
   never be read; the increment is recorded on 2026-11-10, after the first run.)
C. dbt builds the warehouse again with a pinned later cutoff ``as_of = 2026-11-11`` (2026-11
   is still open: its invoice is a draft) — one ``dbt build``, tests included.
"""
from __future__ import annotations

import datetime as dt
import importlib
import shutil
from decimal import ROUND_HALF_UP, Decimal
from types import SimpleNamespace

import pytest
from bson import ObjectId
from dagster import instance_for_test
from pymongo import MongoClient

from conftest import config_doc, write_config
from dbt_support import run_dbt, snapshot_connection
from extract.config import load_config
from extract.embedded import embedded_environment
from extract.generate import NetworkSpec, write_increment_to_mongo, write_to_mongo

UTC = dt.timezone.utc
D = Decimal
FIRST_RUN = dt.datetime(2026, 11, 10, tzinfo=UTC)   # the generator's horizon: everything before is known
SECOND_RUN = dt.datetime(2026, 11, 11, tzinfo=UTC)  # end of the increment's day-1 knowledge window
PINNED_AS_OF = "2026-11-11 00:00:00"
CLOSED = ("2026-07", "2026-08", "2026-09", "2026-10")  # closed at close(2026-10), all in the marts
P, Q = "2026-10", "2026-11"

ACCOUNT = "acct-0002"
CONTRACT = "6a83a1fc2f8601000000000a"  # 126426879 bytes, 2026-08-18 -> 2026-11-09, acct-0001, farmer-0003
CONTRACT_BYTES = 126426879
TRANSFER = "tr-0000000023"  # renter report only: download 840973823 bytes, completed 2026-10-26
TRANSFER_BYTES = 840973823

# hand-made late documents (ids fixed so the scenario is deterministic)
LATE_EVENT = {"_id": ObjectId("6b1000000000000000000001"), "event_id": "ev-late-0001", "account_id": ACCOUNT,
              "context": "late/test", "resource": "compute.time_used", "quantity": 100, "unit": "core_hours",
              "occurred_at": dt.datetime(2026, 10, 20, 12, tzinfo=UTC),
              "recorded_at": dt.datetime(2026, 11, 10, 6, tzinfo=UTC)}
TOO_LATE_EVENT = {"_id": ObjectId("6b1000000000000000000002"), "event_id": "ev-late-0002", "account_id": ACCOUNT,
                  "context": "late/test", "resource": "compute.time_used", "quantity": 720000,
                  "unit": "core_seconds", "occurred_at": dt.datetime(2026, 7, 15, 12, tzinfo=UTC),
                  "recorded_at": dt.datetime(2026, 11, 10, 6, 30, tzinfo=UTC)}
LATE_AUDIT = {"_id": ObjectId("6b1000000000000000000003"), "contract_id": ObjectId(CONTRACT),
              "farmer_id": "farmer-0003", "audited_at": dt.datetime(2026, 10, 21, tzinfo=UTC), "passed": False,
              "recorded_at": dt.datetime(2026, 11, 10, 7, tzinfo=UTC)}
LATE_REPORT_ID = ObjectId("6b1000000000000000000004")
LATE_REPORT_AT = dt.datetime(2026, 11, 10, 8, tzinfo=UTC)


def money(x: Decimal, places: int = 2) -> Decimal:
    return x.quantize(D(1).scaleb(-places), rounding=ROUND_HALF_UP)


def compute_amount(core_hours: Decimal, included: Decimal) -> Decimal:
    """price_tiers.csv, compute.time_used: 0.05 per core-hour up to 40, 0.04 above."""
    billable = max(core_hours - included, D(0))
    return money(min(billable, D(40)) * D("0.05") + max(billable - 40, D(0)) * D("0.04"))


def _lines(con, table: str, period_col: str, period: str, where: str = "", params=()):
    from orchestration.reports import canonical_lines, columns_of, lines_sha256
    cols = [c for c in columns_of(con, table) if c[0] != "run_id"]
    names = ", ".join(f'"{c}"' for c, _ in cols)
    rows = con.execute(f'SELECT {names} FROM {table} WHERE "{period_col}" = ? {where}', [period, *params]).fetchall()
    return canonical_lines(rows, cols), lines_sha256(rows, cols)


def _mart_lines(con) -> dict:
    """Canonical lines and SHA-256 of every closed period's invoice and payout lines in the marts."""
    return {(kind, p): _lines(con, table, col, p)
            for p in CLOSED
            for kind, table, col in (("invoice", "marts.fct_invoice_lines", "invoice_period"),
                                     ("payout", "marts.fct_payout_lines", "statement_period"))}


def _report_lines(con, run_id: str) -> dict:
    return {kind: _lines(con, f"reports.{kind}_lines", col, P, "AND run_id = ?", [run_id])
            for kind, col in (("invoice", "invoice_period"), ("payout", "statement_period"))}


def _raw_counts(con, cfg) -> dict:
    return {(s.name, c): con.execute(f'SELECT count(*) FROM raw."{s.name}__{c}"').fetchone()[0]
            for s, c in cfg.collections()}


def _insert_late_documents(cfg, uri: str) -> int:
    db = {s.name: s.database for s in cfg.sources}
    with MongoClient(uri) as client:
        compute = client[db["compute"]]
        network = client[db["storage_network"]]
        compute.usage_events.insert_many([LATE_EVENT, TOO_LATE_EVENT])
        network.audits.insert_one(LATE_AUDIT)
        renter = network.transfer_reports.find_one({"transfer_id": TRANSFER, "reporter": "renter"})
        assert renter is not None and renter["bytes"] == TRANSFER_BYTES
        assert network.transfer_reports.count_documents({"transfer_id": TRANSFER, "reporter": "farmer"}) == 0
        farmer = {**renter, "_id": LATE_REPORT_ID, "reporter": "farmer", "recorded_at": LATE_REPORT_AT}
        network.transfer_reports.insert_one(farmer)
    return 4


@pytest.fixture(scope="module")
def scenario(tmp_path_factory, mongo_server):
    root = tmp_path_factory.mktemp("late_data")
    mp = pytest.MonkeyPatch()
    doc = config_doc(warehouse={"path": str(root / "warehouse.duckdb"), "published_dir": str(root / "published")})
    mp.setenv("ABACUS_CONFIG", str(write_config(root / "accounting.yml", doc)))
    mp.delenv("ABACUS_WAREHOUSE", raising=False)
    mp.setenv("DBT_TARGET_PATH", str(root / "dbt_target"))
    mp.setenv("DBT_LOG_PATH", str(root / "dbt_target" / "logs"))
    mp.setenv("DAGSTER_HOME", str(root / "dagster_home"))
    (root / "dagster_home").mkdir()
    try:
        from extract.extraction import extract_all
        from extract.warehouse import warehouse_writer
        from orchestration import cli
        cfg = load_config(require_env=False)
        for k, v in embedded_environment(cfg, mongo_server.uri).items():
            mp.setenv(k, v)
        uris = {s.name: mongo_server.uri for s in cfg.sources}
        spec = NetworkSpec.tiny()
        loaded = write_to_mongo(spec, uris, cfg)
        # A: extract everything known at the horizon, final report of 2026-10 (Dagster period job)
        first = extract_all(cfg, now=FIRST_RUN)
        cli.load_definitions()
        defs = importlib.import_module("orchestration.definitions").defs
        with instance_for_test(temp_dir=str(root / "dagster_home")) as instance:
            result = cli.run_period_job(defs, instance, P, draft=False)
            assert result.success, cli._failure_message(result)
            run_a = cli._report_run(cfg, result.run_id)
            with warehouse_writer(cfg.warehouse_path) as con:
                marts_a = _mart_lines(con)
                report_a = _report_lines(con, result.run_id)
                raw_a = _raw_counts(con, cfg)
            # B: new documents recorded after close(2026-10); plain extraction; rebuild (CLI path)
            increment = write_increment_to_mongo(spec, uris, cfg, day=1)
            handmade = _insert_late_documents(cfg, mongo_server.uri)
            second = extract_all(cfg, now=SECOND_RUN)
            run_b = cli.build_period(defs, instance, cfg, P, draft=False)
            with warehouse_writer(cfg.warehouse_path) as con:
                from orchestration.reports import diff_runs
                marts_b = _mart_lines(con)
                report_b = _report_lines(con, run_b["run_id"])
                diff = diff_runs(con, run_a["run_id"], run_b["run_id"])
                raw_b = _raw_counts(con, cfg)
        # C: one dbt build of a copy of the warehouse with a later pinned cutoff
        pinned = root / "pinned.duckdb"
        for suffix in ("", ".wal"):
            src = root / f"warehouse.duckdb{suffix}"
            if src.exists():
                shutil.copyfile(src, root / f"pinned.duckdb{suffix}")
        dbt = run_dbt(["build"], pinned, vars={**cfg.dbt_vars(), "as_of": PINNED_AS_OF},
                      target_dir=root / "dbt_pinned")
        con_c = snapshot_connection(pinned)
        try:
            yield SimpleNamespace(cfg=cfg, loaded=loaded, first=first, second=second, increment=increment,
                                  handmade=handmade, run_a=run_a, run_b=run_b, marts_a=marts_a, marts_b=marts_b,
                                  report_a=report_a, report_b=report_b, diff=diff, raw_a=raw_a, raw_b=raw_b,
                                  dbt=dbt, marts_c=_mart_lines(con_c), con=con_c)
        finally:
            con_c.close()
    finally:
        mp.undo()


def q(s, sql, params=()):
    return s.con.execute(sql, list(params)).fetchall()


# ----------------------------------------------------------------------------- (1) closed periods

def test_closed_periods_are_byte_for_byte_identical_after_late_data(scenario):
    s = scenario
    a, b = s.run_a, s.run_b
    # the recorded final report of 2026-10 before and after the new documents
    assert (a["status"], b["status"]) == ("final", "final")
    assert a["as_of"] == b["as_of"] == dt.datetime(2026, 11, 4)
    assert a["run_id"] != b["run_id"]
    assert (a["invoice_lines_sha256"], a["payout_lines_sha256"]) == (b["invoice_lines_sha256"], b["payout_lines_sha256"])
    assert (a["invoice_total"], a["payout_gross_total"], a["payout_net_total"]) == \
        (b["invoice_total"], b["payout_gross_total"], b["payout_net_total"])
    assert s.diff == []
    for kind in ("invoice", "payout"):
        assert s.report_a[kind] == s.report_b[kind]  # canonical text of every line, and its hash
        assert s.report_a[kind][1] == a[f"{kind}_lines_sha256"]
    # every closed period in the marts: before (as of close(2026-10)), after the rebuild, and
    # rebuilt with the later cutoff 2026-11-11 (2026-11 open)
    assert set(s.marts_a) == {(k, p) for k in ("invoice", "payout") for p in CLOSED}
    assert {k: len(v[0]) for k, v in s.marts_a.items()} == {
        ("invoice", "2026-07"): 10, ("payout", "2026-07"): 9, ("invoice", "2026-08"): 35, ("payout", "2026-08"): 12,
        ("invoice", "2026-09"): 39, ("payout", "2026-09"): 13, ("invoice", "2026-10"): 41, ("payout", "2026-10"): 21}
    assert s.marts_a == s.marts_b == s.marts_c
    assert s.marts_a[("invoice", P)] == s.report_a["invoice"]
    assert s.marts_a[("payout", P)] == s.report_a["payout"]


# ----------------------------------------------------------------------------- (5) every record

def test_every_document_is_extracted_once_and_accounted_for(scenario):
    s = scenario
    first = {(r.source, r.collection): r.rows_inserted for r in s.first}
    second = {(r.source, r.collection): r.rows_inserted for r in s.second}
    assert first == s.loaded == s.raw_a
    # second plain run: only the new documents (window from the watermark minus the look-back)
    assert {r.window_start for r in s.second} == {dt.datetime(2026, 11, 9, 23, tzinfo=UTC)}
    assert {k: v for k, v in s.increment.items()} == {
        ("storage_network", "contracts"): 2, ("storage_network", "transfer_reports"): 1,
        ("storage_network", "audits"): 1, ("compute", "usage_events"): 1, ("storage", "usage_samples"): 4}
    handmade = {("compute", "usage_events"): 2, ("storage_network", "audits"): 1,
                ("storage_network", "transfer_reports"): 1}
    assert s.handmade == sum(handmade.values())
    expected = {k: s.increment.get(k, 0) + handmade.get(k, 0) for k in s.raw_a}
    assert second == expected
    assert {k: s.raw_b[k] - s.raw_a[k] for k in s.raw_a} == expected
    # the dbt build with the later cutoff passed every test, the raw-rows conservation test included
    assert s.dbt.success
    statuses = {r.node.name: str(r.status) for r in s.dbt.result.results}
    assert statuses["assert_raw_rows_conserved"] == "pass"
    assert not [n for n, st in statuses.items() if st not in ("success", "pass")]
    late_ids = [str(d["_id"]) for d in (LATE_EVENT, TOO_LATE_EVENT, LATE_AUDIT)] + [str(LATE_REPORT_ID)]
    staged = q(s, "SELECT record_id, reject_reason FROM staging.stg_compute__usage_events WHERE record_id IN (?, ?) "
                  "UNION ALL SELECT record_id, reject_reason FROM staging.stg_storage_network__audits WHERE record_id = ? "
                  "UNION ALL SELECT record_id, reject_reason FROM staging.stg_storage_network__transfer_reports "
                  "WHERE record_id = ? ORDER BY 1", late_ids)
    assert staged == [(i, None) for i in sorted(late_ids)]


# ----------------------------------------------------------------------------- (2) invoices

def test_next_invoice_bills_late_usage_as_adjustment_lines(scenario):
    s = scenario
    assert q(s, "SELECT period, is_closed, cutoff_at FROM intermediate.int_periods WHERE period IN (?, ?) ORDER BY 1",
             [P, Q]) == [(P, True, dt.datetime(2026, 11, 4)), (Q, False, dt.datetime(2026, 11, 11))]
    # as billed in 2026-10: acct-0002 (plan starter: 25 core-hours included) used
    # 33.040277777778 core-hours (the line's exact base in core-seconds, rounded once)
    # core-hours -> 8.040277777778 billable x 0.05 = 0.40
    billed = q(s, "SELECT quantity, included_quantity, amount FROM marts.fct_invoice_lines WHERE invoice_period = ? "
                  "AND line_type = 'usage' AND account_id = ? AND resource = 'compute.time_used'", [P, ACCOUNT])
    assert billed == [(D("33.040277777778"), D("25.000000000000"), D("0.40"))]
    assert compute_amount(D("33.040277777778"), D(25)) == D("0.40")
    # + 100 late core-hours: 108.040277777778 billable = 40 x 0.05 + 68.040277777778 x 0.04 = 4.7216... -> 4.72
    rerated = compute_amount(D("33.040277777778") + 100, D(25))
    assert rerated == D("4.72")
    # the only invoice adjustment lines of 2026-11: every other late document (the failed audit's
    # storage, the settled transfers) changes a quantity that stays inside the plan's inclusion
    adjustments = q(s, "SELECT account_id, resource, usage_period, quantity, previous_quantity, rated_amount, "
                       "previous_amount, amount FROM marts.fct_invoice_lines WHERE invoice_period = ? "
                       "AND line_type = 'adjustment' ORDER BY ALL", [Q])
    assert adjustments == [(ACCOUNT, "compute.time_used", P, D("133.040277777778"), D("33.040277777778"),
                            rerated, D("0.40"), rerated - D("0.40"))]
    assert rerated - D("0.40") == D("4.32")
    # the failed audit did re-rate acct-0001's October storage: 264 h x 126426879 bytes less, still
    # inside the 7440 GBh included (starter: 10 GBh per hour x 744 h), so 0.00 before and after
    storage = q(s, "SELECT known_period, quantity, included_quantity, amount FROM intermediate.int_account_lines_rated "
                   "WHERE account_id = 'acct-0001' AND resource = 'network.storage' AND usage_period = ? "
                   "AND known_period IN (?, ?) ORDER BY 1", [P, P, Q])
    lost = D(CONTRACT_BYTES * 264) / D(10**9)
    assert lost == D("33.376696056")
    assert storage == [(P, D("811.311959909160"), D("7440.000000000000"), D("0.00")),
                       (Q, D("811.311959909160") - lost, D("7440.000000000000"), D("0.00"))]
    # nothing about 2026-07 (before the adjustment window 2026-08 .. 2026-10) is billed in 2026-11
    assert q(s, "SELECT count(*) FROM marts.fct_invoice_lines WHERE invoice_period = ? AND usage_period < '2026-08'",
             [Q]) == [(0,)]
    # the discount line of 2026-11 applies to the whole subtotal, adjustments included
    inv = q(s, "SELECT status, adjustment_amount, subtotal, discount, total FROM marts.fct_invoices "
               "WHERE invoice_period = ? AND account_id = ?", [Q, ACCOUNT])
    lines = q(s, "SELECT sum(amount) FILTER (WHERE line_type <> 'discount'), sum(amount) FROM marts.fct_invoice_lines "
                 "WHERE invoice_period = ? AND account_id = ?", [Q, ACCOUNT])
    status, adjustment, subtotal, discount, total = inv[0]
    assert (status, adjustment) == ("draft", D("4.32"))
    assert (subtotal, total) == lines[0]
    assert discount == money(subtotal * D("12.5") / 100)  # acct-0002's discount: 12.5 %


# ----------------------------------------------------------------------------- (3) payouts

def test_next_statement_pays_late_audit_and_transfer_as_adjustment_lines(scenario):
    s = scenario

    def adj(old_q: str, delta: Decimal, rate: str) -> tuple:
        new_q = D(old_q) + delta
        return new_q, D(old_q), money(new_q * D(rate), 6), money(D(old_q) * D(rate), 6)

    def line(farmer, component, period, old_q, delta, rate):
        new_q, prev_q, rated, prev = adj(old_q, delta, rate)
        return (farmer, component, period, new_q, prev_q, rated, prev, rated - prev)

    got = q(s, "SELECT farmer_id, component, usage_period, quantity, previous_quantity, rated_amount, previous_amount, "
               "amount FROM marts.fct_payout_lines WHERE statement_period = ? AND line_type = 'adjustment' "
               "ORDER BY ALL", [Q])
    gb = lambda n: D(n) / D(10**9)  # noqa: E731
    expected = sorted([
        # the hand-made late failed audit (10-21T00:00): farmer-0003 loses 264 h x 126426879 bytes
        line("farmer-0003", "storage", P, "585.916497687762", -gb(CONTRACT_BYTES * 264), "0.0000021"),
        # the hand-made late farmer report settles tr-0000000023 (840973823 bytes downloaded)
        line("farmer-0004", "download", P, "0", gb(TRANSFER_BYTES), "0.02"),
        # the generator's increment: the missing renter report of tr-0000000004 (August upload,
        # 64053445699 bytes) arrives 2026-11-10; August is the oldest period in the window
        line("farmer-0006", "upload", "2026-08", "1.057442271", gb(64053445699), "0.005"),
        # base network: missing halves recorded 2026-11-06 .. 11-08, after close(2026-10) and
        # before the first extraction (tr-0000000034, tr-0000000046, tr-0000000005 + tr-0000000021,
        # tr-0000000014)
        line("farmer-0001", "upload", P, "0.149578618", gb(369696282), "0.005"),
        line("farmer-0002", "download", P, "0.274927343", gb(120273920), "0.02"),
        line("farmer-0003", "download", P, "0.109993311", gb(23878925 + 31281839), "0.02"),
        line("farmer-0006", "download", P, "0.871928140", gb(139481458), "0.02"),
    ])
    assert got == expected
    by_key = {(r[0], r[1], r[2]): r[7] for r in got}
    assert by_key[("farmer-0003", "storage", P)] == D("-0.000070")   # 0.001160 - 0.001230
    assert by_key[("farmer-0004", "download", P)] == D("0.016819")   # 0.840973823 GB x 0.02
    assert by_key[("farmer-0006", "upload", "2026-08")] == D("0.320267")
    # previous = the line as paid: the usage line of 2026-10 in the recorded final report
    paid = q(s, "SELECT farmer_id, component, amount FROM marts.fct_payout_lines WHERE statement_period = ? "
                "AND line_type = 'usage' AND farmer_id IN ('farmer-0003', 'farmer-0004') ORDER BY ALL", [P])
    assert ("farmer-0003", "storage", D("0.001230")) in paid and ("farmer-0004", "download", D("0.000000")) in paid


# ----------------------------------------------------------------------------- the identity

def test_billed_plus_adjustments_is_the_period_as_known_now(scenario):
    """For every period P in 2026-11's window and every line: P's usage line as billed + every
    adjustment for P (2026-09 .. 2026-11) = P re-rated as known at cutoff(2026-11)."""
    s = scenario
    for lines, key, rated in (("fct_invoice_lines", "account_id, resource", "int_account_lines_rated"),
                              ("fct_payout_lines", "farmer_id, component", "int_farmer_lines_rated")):
        period_col = "invoice_period" if lines == "fct_invoice_lines" else "statement_period"
        rows = q(s, f"""
            WITH billed AS (
                SELECT {key}, usage_period, sum(amount) AS amount, count(*) FILTER (WHERE line_type = 'adjustment') AS n
                FROM marts.{lines}
                WHERE line_type IN ('usage', 'adjustment') AND usage_period BETWEEN '2026-08' AND '2026-10'
                  AND {period_col} <= ?
                GROUP BY ALL),
            known AS (
                SELECT {key}, usage_period, amount FROM intermediate.{rated}
                WHERE known_period = ? AND usage_period BETWEEN '2026-08' AND '2026-10')
            SELECT count(*), count(*) FILTER (WHERE coalesce(b.amount, 0) <> coalesce(k.amount, 0)),
                   sum(b.n)
            FROM billed b FULL OUTER JOIN known k USING ({key}, usage_period)""", [Q, Q])
        total, mismatched, adjustments = rows[0]
        assert total > 20 and mismatched == 0, lines
        assert adjustments > 0
    # and for the line of the hand-made event: 0.40 billed in 2026-10 + 4.32 in 2026-11 = 4.72
    assert q(s, "SELECT amount FROM intermediate.int_account_lines_rated WHERE account_id = ? AND "
                "resource = 'compute.time_used' AND usage_period = ? AND known_period = ?",
             [ACCOUNT, P, Q]) == [(D("4.72"),)]


# ----------------------------------------------------------------------------- (4) too late

def test_knowledge_older_than_the_window_is_late_not_billed(scenario):
    s = scenario
    # 200 core-hours of July recorded 2026-11-10: July's window closed with 2026-10 (2026-07 + 3).
    # As billed (cutoff(2026-10)): no July compute for acct-0002. Now: 200 - 25 included = 175
    # billable = 40 x 0.05 + 135 x 0.04 = 7.40
    assert compute_amount(D(200), D(25)) == D("7.40")
    late = q(s, "SELECT report, account_id, farmer_id, item, usage_period, window_end_period, billed_quantity, "
                "latest_quantity, billed_amount, latest_amount, amount, latest_cutoff_at FROM marts.fct_late_unbilled")
    assert late == [("invoice", ACCOUNT, None, "compute.time_used", "2026-07", "2026-10", D(0), D(200),
                     D(0), D("7.400000"), D("7.400000"), dt.datetime(2026, 11, 11))]
    # only July's adjustment window (through 2026-10, closed 2026-11-04) has passed: the other
    # periods' latest knowledge is their window cut at as_of, so they get no 'latest' window
    assert q(s, "SELECT usage_period, cutoff_at FROM intermediate.int_knowledge_cutoffs "
                "WHERE known_period = 'latest'") == [("2026-07", dt.datetime(2026, 11, 11))]
    assert q(s, "SELECT count(*) FROM marts.fct_invoice_lines WHERE usage_period = '2026-07' AND "
                "invoice_period > '2026-10'") == [(0,)]
