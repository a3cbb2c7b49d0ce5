"""End to end: SPEC §6 examples 4, 5 and 7 (plus edge cases) from raw text rows through dbt
staging -> usage models -> billing and payout marts, asserting the exact numbers; and the
billing/payout dbt unit tests and data tests.

Fixture (as_of 2027-02-10; grace 72 h: close(2026-10) = 2026-11-04, close(2026-11) = 2026-12-04,
close(2026-12) = 2027-01-04, close(2027-01) = 2027-02-04; 2027-02 is a draft):
- account `lab` (plan pro: 100 core_hours and 1,000 jobs included; discount 10 %), ex. 4:
  lab/alice 100 core_hours + 617 jobs, lab/bob 50 core_hours + 617 jobs in October;
  ex. 5: 20 core_hours for lab/alice occurred 2026-10-30T10:00, recorded 2026-11-05.
- farmer F1 (joined 2026-08-15), ex. 7: contracts C1 (2e9 bytes 09-30T12:00 -> 10-03) and C2
  (1e9 bytes 10-01 -> 10-31, audit failed 10-11) and transfer T1 (renter 1e9, farmer 9.8e8).
- farmer F2 disqualified 2026-10-20 holding C3 (1e9 bytes, October).
- renter R3 (no plan) with C4 (1e12 bytes all October, F4); a version recorded 2026-11-10
  ends it 10-16: November's invoice carries a negative adjustment.
- account `late`: 10 core_hours occurred 2026-09-15, recorded 2027-01-20, after September's
  adjustment window (closed with December) -> late, not billed; and 10 core_hours on
  2027-02-05: current usage 9 days into February, projected x 28/9.
"""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from dbt_support import create_raw_tables, insert_raw, run_dbt

AS_OF = "2027-02-10T00:00:00"
MARTS = ("+fct_invoice_lines +fct_invoices +fct_invoice_context_amounts +fct_invoice_line_records "
         "+fct_late_unbilled +fct_current_usage +dim_accounts +fct_payout_lines +fct_payouts "
         "+fct_payout_line_records +dim_farmers")
D = Decimal


def _contract(_id, renter, bucket, farmer, size, begin, end, updated):
    return {"_id": _id, "renter_id": renter, "bucket": bucket, "farmer_id": farmer,
            "shard_hash": f"h-{_id}", "data_size": size, "store_begin": begin,
            "store_end": end, "updated_at": updated}


def _event(_id, account, context, resource, qty, unit, occurred, recorded=None):
    return {"_id": _id, "event_id": f"e-{_id}", "account_id": account, "context": context,
            "resource": resource, "quantity": qty, "unit": unit, "occurred_at": occurred,
            "recorded_at": recorded or occurred}


def _report(_id, transfer, reporter, nbytes):
    return {"_id": _id, "transfer_id": transfer, "reporter": reporter, "contract_id": "C1",
            "renter_id": "R1", "farmer_id": "F1", "bucket": "r1/photos", "direction": "download",
            "bytes": nbytes, "started_at": "2026-10-10T00:00:00Z",
            "completed_at": "2026-10-10T01:00:00Z", "recorded_at": "2026-10-10T02:00:00Z"}


def _farmer(_id, joined, updated, disqualified=None):
    return {"_id": _id, "joined_at": joined, "disqualified_at": disqualified,
            "payout_address": f"addr-{_id}", "updated_at": updated}


def load_fixture(con: duckdb.DuckDBPyConnection) -> None:
    create_raw_tables(con)
    insert_raw(con, "compute", "accounts", [
        {"_id": "lab", "plan": "pro", "discount_pct": "10", "updated_at": "2026-09-01T00:00:00Z"},
    ])
    insert_raw(con, "compute", "usage_events", [
        _event("E1", "lab", "lab/alice", "compute.time_used", "100", "core_hours", "2026-10-05T10:00:00Z"),
        _event("E2", "lab", "lab/bob", "compute.time_used", "180000", "core_seconds", "2026-10-06T10:00:00Z"),
        _event("E3", "lab", "lab/alice", "compute.jobs_started", "617", "count", "2026-10-07T10:00:00Z"),
        _event("E4", "lab", "lab/bob", "compute.jobs_started", "617", "count", "2026-10-08T10:00:00Z"),
        _event("E5", "lab", "lab/alice", "compute.time_used", "20", "core_hours",
               "2026-10-30T10:00:00Z", "2026-11-05T00:00:00Z"),
        _event("E6", "late", "late/x", "compute.time_used", "10", "core_hours",
               "2026-09-15T00:00:00Z", "2027-01-20T00:00:00Z"),
        _event("E7", "late", "late/x", "compute.time_used", "10", "core_hours", "2027-02-05T00:00:00Z"),
    ])
    insert_raw(con, "storage_network", "contracts", [
        _contract("C1", "R1", "r1/photos", "F1", "2000000000", "2026-09-30T12:00:00Z",
                  "2026-10-03T00:00:00Z", "2026-09-30T12:00:00Z"),
        _contract("C2", "R1", "r1/docs", "F1", "1000000000", "2026-10-01T00:00:00Z",
                  "2026-10-31T00:00:00Z", "2026-10-01T00:00:00Z"),
        _contract("C3", "R2", "r2/a", "F2", "1000000000", "2026-10-01T00:00:00Z",
                  "2026-11-01T00:00:00Z", "2026-10-01T00:00:00Z"),
        _contract("C4", "R3", "r3/big", "F4", "1000000000000", "2026-10-01T00:00:00Z",
                  "2026-11-01T00:00:00Z", "2026-10-01T00:00:00Z"),
        _contract("C4", "R3", "r3/big", "F4", "1000000000000", "2026-10-01T00:00:00Z",
                  "2026-10-16T00:00:00Z", "2026-11-10T00:00:00Z"),
    ])
    insert_raw(con, "storage_network", "audits", [
        {"_id": "A1", "contract_id": "C2", "farmer_id": "F1", "audited_at": "2026-10-05T00:00:00Z",
         "passed": "true", "recorded_at": "2026-10-05T00:00:00Z"},
        {"_id": "A2", "contract_id": "C2", "farmer_id": "F1", "audited_at": "2026-10-11T00:00:00Z",
         "passed": "false", "recorded_at": "2026-10-11T00:00:00Z"},
    ])
    insert_raw(con, "storage_network", "transfer_reports", [
        _report("T1r", "T1", "renter", "1000000000"),
        _report("T1f", "T1", "farmer", "980000000"),
    ])
    insert_raw(con, "storage_network", "farmers", [
        _farmer("F1", "2026-08-15T00:00:00Z", "2026-08-15T00:00:00Z"),
        _farmer("F2", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z"),
        _farmer("F2", "2026-01-01T00:00:00Z", "2026-10-20T00:00:00Z", "2026-10-20T00:00:00Z"),
        _farmer("F4", "2025-01-31T00:00:00Z", "2025-01-31T00:00:00Z"),
    ])


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("billing")
    warehouse = tmp / "warehouse.duckdb"
    con = duckdb.connect(str(warehouse))
    load_fixture(con)
    con.close()
    result = run_dbt(["seed"], warehouse, vars={"as_of": AS_OF})
    assert result.success, result.exception
    result = run_dbt(["build", "--select", MARTS, "test_type:unit,tag:billing", "--exclude", "resource_type:seed",
                      "--indirect-selection", "cautious"], warehouse, vars={"as_of": AS_OF})
    failures = [f"{r.node.name}: {r.message}" for r in (result.result or [])
                if getattr(r, "status", None) not in ("success", "pass")]
    assert result.success and not failures, failures or result.exception
    return warehouse


@pytest.fixture
def con(built):
    c = duckdb.connect(str(built))
    yield c
    c.close()


def rows(con, sql, *params):
    return con.execute(sql, params).fetchall()


def test_example_4_october_invoice(con):
    lines = dict(rows(con, """select coalesce(resource, line_type), amount from marts.fct_invoice_lines
                              where account_id = 'lab' and invoice_period = '2026-10'"""))
    assert lines == {"compute.time_used": D("2.40"), "compute.jobs_started": D("0.23"), "discount": D("-0.26")}
    assert rows(con, """select status, plan, discount_pct, subtotal, discount, total, line_count
                        from marts.fct_invoices where account_id = 'lab' and invoice_period = '2026-10'""") == [
        ("final", "pro", D("10"), D("2.63"), D("0.26"), D("2.37"), 3)]
    usage = rows(con, """select quantity, included_quantity, billable_quantity from marts.fct_invoice_lines
                         where account_id = 'lab' and invoice_period = '2026-10' and resource = 'compute.time_used'""")
    assert usage == [(D(150), D(100), D(50))]


def test_example_4_context_breakdown(con):
    got = dict(((r, c), a) for r, c, a in rows(con, """
        select coalesce(resource, line_type), context, amount from marts.fct_invoice_context_amounts
        where account_id = 'lab' and invoice_period = '2026-10' and depth = 2"""))
    assert got == {
        ("compute.time_used", "lab/alice"): D("1.60"), ("compute.time_used", "lab/bob"): D("0.80"),
        ("compute.jobs_started", "lab/alice"): D("0.12"), ("compute.jobs_started", "lab/bob"): D("0.11"),
        # discount 0.26 split in proportion to the pre-discount amounts 1.72 : 0.91
        ("discount", "lab/alice"): D("-0.17"), ("discount", "lab/bob"): D("-0.09"),
    }
    assert rows(con, """select context, sum(amount) from marts.fct_invoice_context_amounts
                        where account_id = 'lab' and invoice_period = '2026-10' and depth = 1
                        group by context""") == [("lab", D("2.37"))]


def test_example_5_november_adjustment(con):
    assert rows(con, """select line_type, resource, usage_period, rated_amount, previous_amount, amount
                        from marts.fct_invoice_lines where account_id = 'lab' and invoice_period = '2026-11'
                        order by line_type""") == [
        ("adjustment", "compute.time_used", "2026-10", D("3.20"), D("2.40"), D("0.80")),
        ("discount", None, "2026-11", None, None, D("-0.08")),
    ]
    assert rows(con, """select subtotal, discount, total from marts.fct_invoices
                        where account_id = 'lab' and invoice_period = '2026-11'""") == [
        (D("0.80"), D("0.08"), D("0.72"))]
    # October's invoice is unchanged by the late event
    assert rows(con, """select total from marts.fct_invoices
                        where account_id = 'lab' and invoice_period = '2026-10'""") == [(D("2.37"),)]
    # split by October's usage as now known: alice 120, bob 50
    got = dict(rows(con, """select context, amount from marts.fct_invoice_context_amounts
                            where account_id = 'lab' and invoice_period = '2026-11' and line_type = 'adjustment'
                              and depth = 2"""))
    assert got == {"lab/alice": D("0.56"), "lab/bob": D("0.24")}


def test_negative_adjustment(con):
    assert rows(con, """select usage_period, rated_amount, previous_amount, amount from marts.fct_invoice_lines
                        where account_id = 'R3' and invoice_period = '2026-11' and line_type = 'adjustment'""") == [
        # 744,000 GBh: 500,000 x 0.0000055 + 244,000 x 0.0000045 = 3.848; 360,000 GBh: 1.98
        ("2026-10", D("1.98"), D("3.85"), D("-1.87"))]
    assert rows(con, """select subtotal, discount, total, plan from marts.fct_invoices
                        where account_id = 'R3' and invoice_period = '2026-11'""") == [
        (D("-1.87"), D("0.00"), D("-1.87"), None)]


def test_example_7_payout(con):
    lines = rows(con, """select component, quantity, rate, amount from marts.fct_payout_lines
                         where farmer_id = 'F1' and statement_period = '2026-10' order by component""")
    assert lines == [("download", D("0.98"), D("0.02"), D("0.019600")),
                     ("storage", D("336"), D("0.0000021"), D("0.000706")),
                     ("upload", D("0"), D("0.005"), D("0.000000"))]
    assert rows(con, """select status, gross, age_months, held_pct, held, net, payout_address
                        from marts.fct_payouts where farmer_id = 'F1' and statement_period = '2026-10'""") == [
        ("ok", D("0.020306"), 2, D("75"), D("0.015230"), D("0.005076"), "addr-F1")]


def test_disqualified_farmer_forfeits(con):
    assert rows(con, """select status, gross, held, net from marts.fct_payouts
                        where farmer_id = 'F2' and statement_period = '2026-10'""") == [
        ("disqualified", D("0.001562"), D("0"), D("0"))]  # 744 GBh x 0.0000021 = 0.0015624


def test_late_unbilled(con):
    assert rows(con, """select report, account_id, item, usage_period, window_end_period, quantity, amount
                        from marts.fct_late_unbilled where report = 'invoice'""") == [
        ("invoice", "late", "compute.time_used", "2026-09", "2026-12", D(10), D("0.50"))]


def test_proofs_sum_to_lines(con):
    assert rows(con, """
        select count(*) from marts.fct_invoice_lines l
        left join (select line_id, sum(quantity) q, sum(amount) a from marts.fct_invoice_line_records group by 1) r
          using (line_id)
        where l.line_type <> 'discount'
          and (coalesce(r.a, 0) <> l.amount
               or coalesce(r.q, 0) <> case when l.line_type = 'adjustment' then l.quantity - l.previous_quantity else l.quantity end)
    """) == [(0,)]
    assert rows(con, """select record_id, quantity, amount from marts.fct_invoice_line_records
                        where account_id = 'lab' and invoice_period = '2026-11'""") == [("E5", D(20), D("0.80"))]


def test_draft_and_current_usage(con):
    assert rows(con, "select distinct status, total from marts.fct_invoices where invoice_period = '2027-02'") == [
        ("draft", D("0.50"))]
    assert rows(con, """select account_id, resource, period_to_date_quantity, included_remaining, amount_to_date,
                               projected_quantity, projected_amount from marts.fct_current_usage""") == [
        # 10 x 28 days / 9 days = 31.111111111111 core_hours x 0.05 = 1.5555... -> 1.56
        ("late", "compute.time_used", D(10), D(0), D("0.50"), D("31.111111111111"), D("1.56"))]
    assert rows(con, "select count(*) from marts.fct_invoices where invoice_period <= '2027-01' and status <> 'final'") == [(0,)]
