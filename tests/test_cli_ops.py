"""The user operations of the CLI (orchestration/cli_ops.py) over a hand-built DuckDB warehouse.

The fixture follows SPEC §6 example 4 (account ``lab``: core_hours $2.40, jobs $0.23, discount
$0.26, total $2.37; November adjustment +$0.80) and example 7 (farmer ``F1``: storage 0.000706,
download 0.019600, gross 0.020306, held 0.015230, net 0.005076).
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
from decimal import Decimal as D

import duckdb
import pytest

from orchestration import cli_ops
from orchestration.cli_ops import NotReadyError, UserError, main_ops

FIXTURE_SQL = """
CREATE SCHEMA marts;
CREATE SCHEMA reports;

CREATE TABLE marts.dim_resources (resource VARCHAR, source_name VARCHAR, kind VARCHAR, base_unit VARCHAR,
    billable_unit VARCHAR, base_per_billable_unit DECIMAL(38,0), aggregation VARCHAR, description VARCHAR);
INSERT INTO marts.dim_resources VALUES
 ('compute.time_used', 'compute', 'counter', 'core_seconds', 'core_hours', 3600, 'sum', 'CPU time'),
 ('compute.jobs_started', 'compute', 'counter', 'count', 'count', 1, 'sum', 'Jobs started'),
 ('network.storage', 'storage_network', 'gauge', 'byte_seconds', 'GBh', 3600000000000, 'time_integral', 'Contract storage'),
 ('storage.files', 'storage', 'gauge', 'count', 'count', 1, 'peak', 'Files');

CREATE TABLE marts.dim_accounts (account_id VARCHAR, plan VARCHAR, discount_pct DECIMAL(9,4));
INSERT INTO marts.dim_accounts VALUES ('lab', 'basic', 10), ('acme', 'basic', 0), ('idle', 'basic', 0);

CREATE TABLE marts.dim_farmers (farmer_id VARCHAR, joined_at TIMESTAMP);
INSERT INTO marts.dim_farmers VALUES ('F1', '2026-08-15'), ('F2', '2026-01-01');

CREATE TABLE marts.fct_usage_daily (account_id VARCHAR, context VARCHAR, resource VARCHAR, usage_day DATE,
    usage_period VARCHAR, quantity DECIMAL(38,12), billable_unit VARCHAR, base_quantity DECIMAL(38,9),
    base_unit VARCHAR, aggregation VARCHAR);
INSERT INTO marts.fct_usage_daily VALUES
 ('lab', 'lab/alice', 'compute.time_used', '2026-09-30', '2026-09', 5, 'core_hours', NULL, 'core_seconds', 'sum'),
 ('lab', 'lab/alice', 'compute.time_used', '2026-10-01', '2026-10', 60, 'core_hours', NULL, 'core_seconds', 'sum'),
 ('lab', 'lab/alice', 'compute.time_used', '2026-10-02', '2026-10', 40, 'core_hours', NULL, 'core_seconds', 'sum'),
 ('lab', 'lab/bob', 'compute.time_used', '2026-10-02', '2026-10', 50, 'core_hours', NULL, 'core_seconds', 'sum'),
 ('lab', 'lab/alice', 'compute.jobs_started', '2026-10-01', '2026-10', 617, 'count', 617, 'count', 'sum'),
 ('acme', 'acme/research', 'compute.time_used', '2026-10-01', '2026-10', 1.5, 'core_hours', NULL, 'core_seconds', 'sum'),
 ('acme', 'acme/research/alice', 'compute.time_used', '2026-10-03', '2026-10', 0.000000000001, 'core_hours', NULL, 'core_seconds', 'sum'),
 ('acme', 'acme/research2', 'compute.time_used', '2026-10-03', '2026-10', 2, 'core_hours', NULL, 'core_seconds', 'sum'),
 ('acme', 'acme/re', 'compute.time_used', '2026-10-03', '2026-10', 7, 'core_hours', NULL, 'core_seconds', 'sum'),
 ('acme', 'acme/data', 'storage.files', '2026-10-01', '2026-10', 7, 'count', 7, 'count', 'peak'),
 ('acme', 'acme/data', 'storage.files', '2026-10-02', '2026-10', 3, 'count', 3, 'count', 'peak');

CREATE TABLE marts.fct_usage_hourly (account_id VARCHAR, context VARCHAR, resource VARCHAR, usage_hour TIMESTAMP,
    usage_period VARCHAR, quantity DECIMAL(38,12), billable_unit VARCHAR);
INSERT INTO marts.fct_usage_hourly VALUES
 ('lab', 'lab/alice', 'compute.time_used', '2026-10-01 05:00:00', '2026-10', 20, 'core_hours'),
 ('lab', 'lab/alice', 'compute.time_used', '2026-10-01 06:00:00', '2026-10', 40, 'core_hours'),
 ('lab', 'lab/bob', 'compute.time_used', '2026-10-01 06:00:00', '2026-10', 0.5, 'core_hours'),
 ('lab', 'lab/bob', 'compute.time_used', '2026-10-01 07:00:00', '2026-10', 1, 'core_hours');

CREATE TABLE marts.fct_invoices (account_id VARCHAR, invoice_period VARCHAR, status VARCHAR, plan VARCHAR,
    discount_pct DECIMAL(9,4), subtotal DECIMAL(18,2), discount DECIMAL(18,2), total DECIMAL(18,2),
    line_count INTEGER, currency VARCHAR);
INSERT INTO marts.fct_invoices VALUES
 ('lab', '2026-10', 'final', 'basic', 10, 2.63, 0.26, 2.37, 3, 'USD'),
 ('lab', '2026-11', 'final', 'basic', 10, 0.80, 0.08, 0.72, 2, 'USD'),
 ('acme', '2026-11', 'final', 'basic', 0, 0.00, 0.00, 0.00, 0, 'USD');

CREATE TABLE marts.fct_invoice_lines (line_id VARCHAR, account_id VARCHAR, invoice_period VARCHAR,
    line_type VARCHAR, resource VARCHAR, usage_period VARCHAR, billable_unit VARCHAR, quantity DECIMAL(38,12),
    included_quantity DECIMAL(38,12), billable_quantity DECIMAL(38,12), rated_amount DECIMAL(18,2),
    previous_quantity DECIMAL(38,12), previous_amount DECIMAL(18,2), amount DECIMAL(18,2), currency VARCHAR);
INSERT INTO marts.fct_invoice_lines VALUES
 ('L1', 'lab', '2026-10', 'usage', 'compute.time_used', '2026-10', 'core_hours', 150, 100, 50, 2.40, NULL, NULL, 2.40, 'USD'),
 ('L2', 'lab', '2026-10', 'usage', 'compute.jobs_started', '2026-10', 'count', 1234, 1000, 234, 0.23, NULL, NULL, 0.23, 'USD'),
 ('L3', 'lab', '2026-10', 'discount', NULL, '2026-10', NULL, NULL, NULL, NULL, NULL, NULL, NULL, -0.26, 'USD'),
 ('L4', 'lab', '2026-11', 'adjustment', 'compute.time_used', '2026-10', 'core_hours', 170, 100, 70, 3.20, 150, 2.40, 0.80, 'USD'),
 ('L5', 'lab', '2026-11', 'discount', NULL, '2026-11', NULL, NULL, NULL, NULL, NULL, NULL, NULL, -0.08, 'USD');

CREATE TABLE marts.fct_invoice_line_records (line_id VARCHAR, account_id VARCHAR, invoice_period VARCHAR,
    line_type VARCHAR, resource VARCHAR, usage_period VARCHAR, source_name VARCHAR, collection_name VARCHAR,
    record_id VARCHAR, base_quantity DECIMAL(38,9), quantity DECIMAL(38,12), amount DECIMAL(18,2));
INSERT INTO marts.fct_invoice_line_records VALUES
 ('L1', 'lab', '2026-10', 'usage', 'compute.time_used', '2026-10', 'compute', 'usage_events', 'e2', 180000, 50, 0.80),
 ('L1', 'lab', '2026-10', 'usage', 'compute.time_used', '2026-10', 'compute', 'usage_events', 'e1', 360000, 100, 1.60),
 ('L2', 'lab', '2026-10', 'usage', 'compute.jobs_started', '2026-10', 'compute', 'usage_events', 'j1', 617, 617, 0.12),
 ('L2', 'lab', '2026-10', 'usage', 'compute.jobs_started', '2026-10', 'compute', 'usage_events', 'j2', 617, 617, 0.11),
 ('L4', 'lab', '2026-11', 'adjustment', 'compute.time_used', '2026-10', 'compute', 'usage_events', 'e3', 72000, 20, 0.80);

CREATE TABLE marts.fct_payouts (farmer_id VARCHAR, statement_period VARCHAR, storage_gbh DECIMAL(38,12),
    download_gb DECIMAL(38,12), upload_gb DECIMAL(38,12), audits INTEGER, audits_passed INTEGER,
    gross DECIMAL(38,6), age_months INTEGER, held_pct DECIMAL(9,4), held DECIMAL(38,6), net DECIMAL(38,6),
    status VARCHAR, payout_address VARCHAR);
INSERT INTO marts.fct_payouts VALUES
 ('F1', '2026-10', 336, 0.98, 0, 3, 2, 0.020306, 2, 75, 0.015230, 0.005076, 'ok', 'addr-f1');

CREATE TABLE marts.fct_payout_lines (line_id VARCHAR, farmer_id VARCHAR, statement_period VARCHAR, component VARCHAR,
    line_type VARCHAR, usage_period VARCHAR, unit VARCHAR, quantity DECIMAL(38,12), rate DECIMAL(18,10),
    rated_amount DECIMAL(18,6), previous_quantity DECIMAL(38,12), previous_amount DECIMAL(18,6), amount DECIMAL(18,6));
INSERT INTO marts.fct_payout_lines VALUES
 ('P1', 'F1', '2026-10', 'storage', 'usage', '2026-10', 'GBh', 336, 0.0000021, 0.000706, NULL, NULL, 0.000706),
 ('P2', 'F1', '2026-10', 'download', 'usage', '2026-10', 'GB', 0.98, 0.02, 0.019600, NULL, NULL, 0.019600);

CREATE TABLE marts.fct_payout_line_records (line_id VARCHAR, farmer_id VARCHAR, statement_period VARCHAR,
    component VARCHAR, line_type VARCHAR, usage_period VARCHAR, source_name VARCHAR, collection_name VARCHAR,
    record_id VARCHAR, base_quantity DECIMAL(38,9), quantity DECIMAL(38,12), amount DECIMAL(18,6));
INSERT INTO marts.fct_payout_line_records VALUES
 ('P1', 'F1', '2026-10', 'storage', 'usage', '2026-10', 'storage_network', 'contracts', 'C1', 345600000000000, 96, 0.000202),
 ('P1', 'F1', '2026-10', 'storage', 'usage', '2026-10', 'storage_network', 'contracts', 'C2', 864000000000000, 240, 0.000504),
 ('P2', 'F1', '2026-10', 'download', 'usage', '2026-10', 'storage_network', 'transfer_reports', 'T1', 980000000, 0.98, 0.019600);

CREATE TABLE marts.fct_current_usage (account_id VARCHAR, usage_period VARCHAR, resource VARCHAR,
    billable_unit VARCHAR, plan VARCHAR, as_of TIMESTAMP, period_start TIMESTAMP, period_end TIMESTAMP,
    elapsed_seconds BIGINT, period_seconds BIGINT, period_to_date_quantity DECIMAL(38,12),
    included_quantity DECIMAL(38,12), included_remaining DECIMAL(38,12), billable_quantity DECIMAL(38,12),
    amount_to_date DECIMAL(18,2), projected_quantity DECIMAL(38,12), projected_billable_quantity DECIMAL(38,12),
    projected_amount DECIMAL(18,2), currency VARCHAR);
INSERT INTO marts.fct_current_usage VALUES
 ('lab', '2026-12', 'compute.time_used', 'core_hours', 'basic', '2026-12-11 00:00:00', '2026-12-01', '2027-01-01',
  864000, 2678400, 60, 100, 40, 0, 0.00, 186, 86, 4.24, 'USD'),
 ('lab', '2026-12', 'compute.jobs_started', 'count', 'basic', '2026-12-11 00:00:00', '2026-12-01', '2027-01-01',
  864000, 2678400, 10, 1000, 990, 0, 0.00, 31, 0, 0.00, 'USD'),
 ('acme', '2026-12', 'compute.time_used', 'core_hours', 'basic', '2026-12-11 00:00:00', '2026-12-01', '2027-01-01',
  864000, 2678400, 1, 100, 99, 0, 0.00, 3.1, 0, 0.00, 'USD');

CREATE TABLE reports.report_runs (run_id VARCHAR PRIMARY KEY, period VARCHAR NOT NULL, status VARCHAR NOT NULL,
    built_at TIMESTAMP NOT NULL, as_of TIMESTAMP NOT NULL, config_hash VARCHAR NOT NULL, code_version VARCHAR NOT NULL,
    source_watermarks JSON NOT NULL, row_counts JSON NOT NULL, invoice_total DECIMAL(38,2),
    payout_gross_total DECIMAL(38,6), payout_net_total DECIMAL(38,6), invoice_lines_sha256 VARCHAR NOT NULL,
    payout_lines_sha256 VARCHAR NOT NULL);
INSERT INTO reports.report_runs VALUES
 ('r1', '2026-10', 'final', '2026-11-04 01:00:00', '2026-11-04 00:00:00', 'cfg1', 'v1',
  '{"compute.usage_events": "2026-11-04T00:00:00Z"}', '{"fct_invoice_lines": 3}', 2.37, 0.020306, 0.005076, 'aaa', 'ppp'),
 ('r2', '2026-10', 'final', '2026-11-05 00:00:00', '2026-11-04 00:00:00', 'cfg1', 'v2',
  '{"compute.usage_events": "2026-11-05T00:00:00Z"}', '{"fct_invoice_lines": 3}', 3.37, 0.020306, 0.005076, 'bbb', 'ppp'),
 ('r0', '2026-09', 'final', '2026-10-04 02:00:00', '2026-10-04 00:00:00', 'cfg1', 'v1',
  '{}', '{}', 0.00, 0.000000, 0.000000, 'zzz', 'yyy');

CREATE TABLE reports.invoice_lines AS SELECT 'r1' AS run_id, * FROM marts.fct_invoice_lines WHERE invoice_period = '2026-10';
INSERT INTO reports.invoice_lines SELECT 'r2', * REPLACE (CASE WHEN line_id = 'L2' THEN 0.24 ELSE amount END AS amount)
  FROM marts.fct_invoice_lines WHERE invoice_period = '2026-10' AND line_type <> 'discount';
INSERT INTO reports.invoice_lines VALUES
 ('r2', 'L9', 'acme', '2026-10', 'usage', 'compute.time_used', '2026-10', 'core_hours', 1.5, 100, 0, 1.00, NULL, NULL,
  1.00, 'USD');
CREATE TABLE reports.payout_lines AS SELECT 'r1' AS run_id, * FROM marts.fct_payout_lines;
INSERT INTO reports.payout_lines SELECT 'r2', * FROM marts.fct_payout_lines;
"""


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    path = tmp_path_factory.mktemp("wh") / "abacus.duckdb"
    con = duckdb.connect(str(path))
    con.execute(FIXTURE_SQL)
    con.close()
    return path


@pytest.fixture()
def con(warehouse):
    c = cli_ops.connect(warehouse)
    yield c
    c.close()


def ops(warehouse, *argv):
    return main_ops([*argv, "--warehouse", str(warehouse)])


# ---- resources -------------------------------------------------------------------------------

def test_resources(con):
    rows = cli_ops.list_resources(con)
    assert [(r["resource"], r["source"], r["kind"], r["billable_unit"], r["aggregation"]) for r in rows] == [
        ("compute.jobs_started", "compute", "counter", "count", "sum"),
        ("compute.time_used", "compute", "counter", "core_hours", "sum"),
        ("storage.files", "storage", "gauge", "count", "peak"),
        ("network.storage", "storage_network", "gauge", "GBh", "time_integral"),
    ]


def test_resources_cli_formats(warehouse, capsys):
    assert ops(warehouse, "resources", "--format", "csv") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "resource,source,kind,base_unit,billable_unit,aggregation,description"
    assert lines[2] == "compute.time_used,compute,counter,core_seconds,core_hours,sum,CPU time"
    assert ops(warehouse, "resources", "--format", "json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data[-1] == {"resource": "network.storage", "source": "storage_network", "kind": "gauge",
                        "base_unit": "byte_seconds", "billable_unit": "GBh",
                        "aggregation": "time_integral", "description": "Contract storage"}
    assert ops(warehouse, "resources") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["resource", "source", "kind", "base_unit", "billable_unit", "aggregation",
                              "description"]
    assert out[3].split()[:3] == ["compute.time_used", "compute", "counter"]


# ---- chart -----------------------------------------------------------------------------------

def _chart(con, **kw):
    args = dict(resource="compute.time_used", start="2026-10-01", end="2026-10-31")
    args.update(kw)
    return [(r["account_id"], r["context"], (r.get("day") or r.get("hour")).isoformat(), r["quantity"])
            for r in cli_ops.chart(con, args.pop("resource"), args.pop("start"), args.pop("end"), **args)]


def test_chart_daily_range_and_account(con):
    assert _chart(con, account="lab") == [
        ("lab", "lab/alice", "2026-10-01", D("60")),
        ("lab", "lab/alice", "2026-10-02", D("40")),
        ("lab", "lab/bob", "2026-10-02", D("50")),
    ]
    # a date-only --to includes that day; a date-time --to is exclusive; partial days overlap
    assert _chart(con, account="lab", start="2026-09-30", end="2026-09-30") == [
        ("lab", "lab/alice", "2026-09-30", D("5"))]
    assert _chart(con, account="lab", start="2026-09-30T23:00:00Z", end="2026-10-01T00:00:00Z") == [
        ("lab", "lab/alice", "2026-09-30", D("5"))]
    # an offset is converted to UTC: 2026-10-02T01:00+02:00 is 2026-10-01T23:00Z
    assert _chart(con, account="lab", start="2026-10-01T12:00", end="2026-10-02T01:00+02:00") == [
        ("lab", "lab/alice", "2026-10-01", D("60"))]
    rows = cli_ops.chart(con, "compute.time_used", "2026-10-01", "2026-10-01", account="lab")
    assert rows == [{"account_id": "lab", "context": "lab/alice", "day": dt.date(2026, 10, 1),
                     "quantity": D("60.000000000000"), "unit": "core_hours"}]


def test_chart_context_prefix_matches_whole_segments(con):
    assert _chart(con, context_prefix="acme/research") == [
        ("acme", "acme/research", "2026-10-01", D("1.5")),
        ("acme", "acme/research/alice", "2026-10-03", D("0.000000000001")),
    ]
    assert _chart(con, context_prefix="acme/research/") == _chart(con, context_prefix="acme/research")
    assert _chart(con, context_prefix="acme/re") == [("acme", "acme/re", "2026-10-03", D("7"))]
    assert _chart(con, context_prefix="acme/re", raw_prefix=True) == [
        ("acme", "acme/research", "2026-10-01", D("1.5")),
        ("acme", "acme/re", "2026-10-03", D("7")),
        ("acme", "acme/research/alice", "2026-10-03", D("0.000000000001")),
        ("acme", "acme/research2", "2026-10-03", D("2")),
    ]
    assert _chart(con, context_prefix="acme") == _chart(con, account="acme")
    assert _chart(con, context_prefix="ac") == []


def test_chart_hourly(con):
    assert _chart(con, granularity="hour", start="2026-10-01T06:30:00Z", end="2026-10-01T07:00:00Z") == [
        ("lab", "lab/alice", "2026-10-01T06:00:00", D("40")),
        ("lab", "lab/bob", "2026-10-01T06:00:00", D("0.5")),
    ]


def test_chart_cli_table_total_and_csv(warehouse, capsys):
    assert ops(warehouse, "chart", "compute.time_used", "--from", "2026-10-01", "--to", "2026-10-02",
               "--account", "lab") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["account_id", "context", "day", "quantity", "unit"]
    assert out[2].split() == ["lab", "lab/alice", "2026-10-01", "60", "core_hours"]
    assert out[-1] == "total 150 core_hours"
    assert ops(warehouse, "chart", "compute.time_used", "--from", "2026-10-01", "--to", "2026-10-04",
               "--context-prefix", "acme/research", "--format", "csv") == 0
    assert capsys.readouterr().out == (
        "account_id,context,day,quantity,unit\n"
        "acme,acme/research,2026-10-01,1.5,core_hours\n"
        "acme,acme/research/alice,2026-10-03,0.000000000001,core_hours\n")
    assert ops(warehouse, "chart", "compute.time_used", "--from", "2026-10-01T06:00:00Z",
               "--to", "2026-10-01T07:00:00Z", "--granularity", "hour", "--format", "json") == 0
    assert json.loads(capsys.readouterr().out) == [
        {"account_id": "lab", "context": "lab/alice", "hour": "2026-10-01T06:00:00Z", "quantity": "40",
         "unit": "core_hours"},
        {"account_id": "lab", "context": "lab/bob", "hour": "2026-10-01T06:00:00Z", "quantity": "0.5",
         "unit": "core_hours"}]


# ---- events ----------------------------------------------------------------------------------

def test_events_invoice(con):
    res = cli_ops.events(con, account="lab", period="2026-10")
    assert [(r["resource"], r["record_id"], r["quantity"], r["amount"]) for r in res.records] == [
        ("compute.jobs_started", "j1", D("617"), D("0.12")),
        ("compute.jobs_started", "j2", D("617"), D("0.11")),
        ("compute.time_used", "e1", D("100"), D("1.60")),
        ("compute.time_used", "e2", D("50"), D("0.80")),
    ]
    assert res.lines == [
        {"resource": "compute.jobs_started", "usage_period": "2026-10", "line_type": "usage", "records": 2,
         "record_quantity": D("1234"), "line_quantity": D("1234"), "record_amount": D("0.23"),
         "line_amount": D("0.23"), "matches": True},
        {"resource": "compute.time_used", "usage_period": "2026-10", "line_type": "usage", "records": 2,
         "record_quantity": D("150"), "line_quantity": D("150"), "record_amount": D("2.40"),
         "line_amount": D("2.40"), "matches": True},
    ]
    assert (res.record_amount, res.line_amount, res.matches) == (D("2.63"), D("2.63"), True)
    assert res.header["total"] == D("2.37")
    adj = cli_ops.events(con, account="lab", period="2026-11", resource="compute.time_used")
    assert [(r["record_id"], r["usage_period"], r["amount"]) for r in adj.records] == [("e3", "2026-10", D("0.80"))]
    assert [(ln["line_type"], ln["usage_period"], ln["record_amount"], ln["line_amount"]) for ln in adj.lines] == [
        ("adjustment", "2026-10", D("0.80"), D("0.80"))]


def test_events_payout(con):
    res = cli_ops.events(con, farmer="F1", period="2026-10")
    assert [(r["component"], r["record_id"], r["quantity"], r["amount"]) for r in res.records] == [
        ("download", "T1", D("0.98"), D("0.019600")),
        ("storage", "C1", D("96"), D("0.000202")),
        ("storage", "C2", D("240"), D("0.000504")),
    ]
    assert [(ln["component"], ln["records"], ln["record_amount"], ln["line_amount"], ln["matches"])
            for ln in res.lines] == [("download", 1, D("0.019600"), D("0.019600"), True),
                                     ("storage", 2, D("0.000706"), D("0.000706"), True)]
    assert res.record_amount == D("0.020306") == res.header["gross"]
    storage = cli_ops.events(con, farmer="F1", period="2026-10", component="storage")
    assert [r["record_id"] for r in storage.records] == ["C1", "C2"]


def test_events_cli_summary(warehouse, capsys):
    assert ops(warehouse, "events", "--account", "lab", "--period", "2026-10") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-3:] == [
        "compute.jobs_started 2026-10 usage: 2 records, sum 0.23, line amount 0.23 OK",
        "compute.time_used 2026-10 usage: 2 records, sum 2.40, line amount 2.40 OK",
        "invoice lab 2026-10: 4 records, sum of contributions 2.63 = sum of line amounts 2.63; "
        "invoice subtotal 2.63, discount 0.26, total 2.37",
    ]
    assert ops(warehouse, "events", "--farmer", "F1", "--period", "2026-10", "--format", "json") == 0
    cap = capsys.readouterr()
    assert [r["amount"] for r in json.loads(cap.out)] == ["0.019600", "0.000202", "0.000504"]
    assert cap.err.splitlines()[-1] == (
        "payout F1 2026-10: 3 records, sum of contributions 0.020306 = sum of line amounts 0.020306; "
        "statement gross 0.020306, held 0.015230, net 0.005076")


def test_events_export_csv_and_parquet(warehouse, tmp_path, capsys):
    out_csv = tmp_path / "lab.csv"
    assert ops(warehouse, "events", "--account", "lab", "--period", "2026-10", "--output", str(out_csv)) == 0
    assert capsys.readouterr().out.splitlines()[0] == f"wrote 4 records to {out_csv}"
    with out_csv.open() as f:
        rows = list(csv.DictReader(f))
    assert [(r["record_id"], r["quantity"], r["amount"]) for r in rows] == [
        ("j1", "617.000000000000", "0.12"), ("j2", "617.000000000000", "0.11"),
        ("e1", "100.000000000000", "1.60"), ("e2", "50.000000000000", "0.80")]
    out_pq = tmp_path / "f1.parquet"
    assert ops(warehouse, "events", "--farmer", "F1", "--period", "2026-10", "--output", str(out_pq)) == 0
    back = duckdb.connect()
    rel = back.execute(f"SELECT record_id, amount, typeof(amount) FROM read_parquet('{out_pq}')").fetchall()
    assert rel == [("T1", D("0.019600"), "DECIMAL(18,6)"), ("C1", D("0.000202"), "DECIMAL(18,6)"),
                   ("C2", D("0.000504"), "DECIMAL(18,6)")]
    assert back.execute(f"SELECT sum(amount) FROM read_parquet('{out_pq}')").fetchone()[0] == D("0.020306")


def test_events_mismatch_is_reported(tmp_path, capsys):
    path = tmp_path / "bad.duckdb"
    c = duckdb.connect(str(path))
    c.execute(FIXTURE_SQL)
    c.execute("UPDATE marts.fct_invoice_line_records SET amount = 0.79 WHERE record_id = 'e2'")
    c.close()
    assert main_ops(["events", "--account", "lab", "--period", "2026-10", "--warehouse", str(path)]) == 1
    cap = capsys.readouterr()
    assert "compute.time_used 2026-10 usage: 2 records, sum 2.39, line amount 2.40 MISMATCH" in cap.out
    assert cap.err == "error: the records do not add up to the lines of this invoice\n"


# ---- usage -----------------------------------------------------------------------------------

def test_current_usage(con):
    assert cli_ops.current_usage(con, "lab", "compute.time_used") == [{
        "account_id": "lab", "usage_period": "2026-12", "resource": "compute.time_used",
        "billable_unit": "core_hours", "plan": "basic", "as_of": dt.datetime(2026, 12, 11),
        "period_start": dt.datetime(2026, 12, 1), "period_end": dt.datetime(2027, 1, 1),
        "elapsed_seconds": 864000, "period_seconds": 2678400, "period_to_date_quantity": D("60"),
        "included_quantity": D("100"), "included_remaining": D("40"), "billable_quantity": D("0"),
        "amount_to_date": D("0.00"), "projected_quantity": D("186"), "projected_billable_quantity": D("86"),
        "projected_amount": D("4.24"), "currency": "USD"}]
    assert [r["resource"] for r in cli_ops.current_usage(con, "lab")] == ["compute.jobs_started",
                                                                          "compute.time_used"]
    assert cli_ops.current_usage(con, "idle") == []


def test_usage_cli(warehouse, capsys):
    assert ops(warehouse, "usage", "--account", "lab", "--resource", "compute.time_used", "--format", "csv") == 0
    assert capsys.readouterr().out == (
        "account_id,usage_period,resource,billable_unit,plan,as_of,period_start,period_end,elapsed_seconds,"
        "period_seconds,period_to_date_quantity,included_quantity,included_remaining,billable_quantity,"
        "amount_to_date,projected_quantity,projected_billable_quantity,projected_amount,currency\n"
        "lab,2026-12,compute.time_used,core_hours,basic,2026-12-11T00:00:00Z,2026-12-01T00:00:00Z,"
        "2027-01-01T00:00:00Z,864000,2678400,60,100,40,0,0.00,186,86,4.24,USD\n")
    assert ops(warehouse, "usage", "--account", "lab") == 0
    assert capsys.readouterr().out.splitlines() == [
        "resource              usage_period  period_to_date_quantity  included_quantity  included_remaining"
        "  billable_quantity  amount_to_date  projected_quantity  projected_amount  billable_unit  currency"
        "  as_of",
        "--------------------  ------------  -----------------------  -----------------  ------------------"
        "  -----------------  --------------  ------------------  ----------------  -------------  --------"
        "  --------------------",
        "compute.jobs_started  2026-12                            10               1000                 990"
        "                  0            0.00                  31              0.00  count          USD"
        "       2026-12-11T00:00:00Z",
        "compute.time_used     2026-12                            60                100                  40"
        "                  0            0.00                 186              4.24  core_hours     USD"
        "       2026-12-11T00:00:00Z",
    ]
    assert ops(warehouse, "usage", "--account", "idle") == 0
    assert capsys.readouterr().out == "no usage recorded for idle in the current period\n"


# ---- reports ---------------------------------------------------------------------------------

def test_report_show(con):
    latest = cli_ops.report_show(con)
    assert [(r["period"], r["run_id"], r["invoice_total"]) for r in latest] == [
        ("2026-09", "r0", D("0.00")), ("2026-10", "r2", D("3.37"))]
    assert [r["run_id"] for r in cli_ops.report_show(con, period="2026-10", all_runs=True)] == ["r1", "r2"]
    one = cli_ops.report_show(con, run_id="r1")
    assert (one[0]["invoice_lines_sha256"], one[0]["payout_net_total"]) == ("aaa", D("0.005076"))


def test_report_diff(con):
    assert cli_ops.report_diff(con, "r1", "r2") == [
        {"kind": "invoice", "change": "changed", "line": "2026-10 lab usage 2026-10 compute.jobs_started",
         "amount_a": D("0.23"), "amount_b": D("0.24"), "amount_delta": D("0.01"), "changed_fields": "amount"},
        {"kind": "invoice", "change": "removed", "line": "2026-10 lab discount 2026-10 -",
         "amount_a": D("-0.26"), "amount_b": None, "amount_delta": D("0.26"), "changed_fields": None},
        {"kind": "invoice", "change": "added", "line": "2026-10 acme usage 2026-10 compute.time_used",
         "amount_a": None, "amount_b": D("1.00"), "amount_delta": D("1.00"), "changed_fields": None},
    ]
    assert cli_ops.report_diff(con, "r2", "r2") == []


def test_report_cli(warehouse, capsys):
    assert ops(warehouse, "report", "show", "--period", "2026-10", "--format", "json") == 0
    [run] = json.loads(capsys.readouterr().out)
    assert run["run_id"] == "r2" and run["invoice_total"] == "3.37"
    assert run["source_watermarks"] == {"compute.usage_events": "2026-11-05T00:00:00Z"}
    assert run["built_at"] == "2026-11-05T00:00:00Z"
    assert ops(warehouse, "report", "diff", "r1", "r2") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[4].split() == ["invoice", "added", "2026-10", "acme", "usage", "2026-10", "compute.time_used",
                              "1.00", "1.00"]
    assert "invoice_total: 2.37 -> 3.37" in out
    assert "payout_gross_total: 0.020306 -> 0.020306" not in out


def test_register_leaves_an_existing_report_command_alone():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    own = sub.add_parser("report")
    cli_ops.register(sub)
    assert sub.choices["report"] is own
    assert {"resources", "chart", "events", "usage"} <= set(sub.choices)


# ---- errors ----------------------------------------------------------------------------------

@pytest.mark.parametrize("argv, code, message", [
    (["events", "--account", "labb", "--period", "2026-10"], 2,
     "error: unknown account 'labb' (did you mean lab?)"),
    (["events", "--farmer", "F3", "--period", "2026-10"], 2,
     "error: unknown farmer 'F3' (did you mean F1, F2?)"),
    (["events", "--account", "lab", "--period", "2026-13"], 2,
     "error: --period '2026-13': expected a month as YYYY-MM, e.g. 2026-10"),
    (["events", "--account", "lab", "--period", "2026-1"], 2,
     "error: --period '2026-1': expected a month as YYYY-MM, e.g. 2026-10"),
    (["events", "--account", "lab", "--period", "2026-12"], 3,
     "error: no invoices have been built for 2026-12 yet (latest period built: 2026-11)"),
    (["events", "--account", "acme", "--period", "2026-10"], 2,
     "error: account 'acme' has no invoice for 2026-10 (its periods: 2026-11)"),
    (["events", "--farmer", "F2", "--period", "2026-10"], 2,
     "error: farmer 'F2' has no payout statement for 2026-10"),
    (["events", "--farmer", "F1", "--period", "2026-10", "--component", "storgae"], 2,
     "error: unknown component 'storgae' (did you mean storage?) (known: storage, download, upload)"),
    (["events", "--account", "lab", "--period", "2026-10", "--component", "storage"], 2,
     "error: --component applies to --farmer; use --resource with --account"),
    (["events", "--account", "lab", "--period", "2026-10", "--output", "x.xlsx"], 2,
     "error: --output 'x.xlsx': expected a .csv or .parquet file name"),
    (["events", "--account", "lab", "--period", "2026-10", "--output", "/nonexistent/dir/x.csv"], 2,
     "error: --output '/nonexistent/dir/x.csv': directory /nonexistent/dir does not exist"),
    (["chart", "compute.time_use", "--from", "2026-10-01", "--to", "2026-10-02"], 2,
     "error: unknown resource 'compute.time_use' (did you mean compute.time_used?) (known: "
     "compute.jobs_started, compute.time_used, network.storage, storage.files)"),
    (["chart", "compute.time_used", "--from", "2026-10-32", "--to", "2026-11-01"], 2,
     "error: --from '2026-10-32': not an ISO date or time (e.g. 2026-10-01 or 2026-10-01T06:00:00Z)"),
    (["chart", "compute.time_used", "--from", "yesterday", "--to", "2026-11-01"], 2,
     "error: --from 'yesterday': not an ISO date or time (e.g. 2026-10-01 or 2026-10-01T06:00:00Z)"),
    (["chart", "compute.time_used", "--from", "2026-10-05", "--to", "2026-10-01"], 2,
     "error: --from 2026-10-05T00:00:00Z is not before --to 2026-10-02T00:00:00Z"),
    (["chart", "compute.time_used", "--from", "2026-10-05T00:00Z", "--to", "2026-10-05T00:00Z"], 2,
     "error: --from 2026-10-05T00:00:00Z is not before --to 2026-10-05T00:00:00Z"),
    (["chart", "compute.time_used", "--from", "2026-10-01", "--to", "2026-10-05", "--account", "acm"], 2,
     "error: unknown account 'acm' (did you mean acme?)"),
    (["chart", "compute.time_used", "--from", "2026-10-01", "--to", "2026-10-05", "--context-prefix", "/"], 2,
     "error: --context-prefix '/': empty prefix"),
    (["usage", "--account", "nobody"], 2, "error: unknown account 'nobody'"),
    (["report", "show", "--period", "2026-08"], 3, "error: no report has been recorded for 2026-08"),
    (["report", "show", "--run", "r3"], 2, "error: unknown report run 'r3' (did you mean r0, r1, r2?)"),
    (["report", "diff", "r0", "r1"], 2,
     "error: runs 'r0' (2026-09) and 'r1' (2026-10) are for different periods; "
     "only runs of the same period can be diffed"),
])
def test_errors(warehouse, capsys, argv, code, message):
    assert ops(warehouse, *argv) == code
    cap = capsys.readouterr()
    assert cap.err == message + "\n"
    assert cap.out == ""


def test_error_classes(con):
    with pytest.raises(UserError) as e:
        cli_ops.events(con, account="lab", farmer="F1", period="2026-10")
    assert (str(e.value), e.value.exit_code) == ("events: give either --account or --farmer", 2)
    with pytest.raises(NotReadyError) as e:
        cli_ops.events(con, farmer="F1", period="2027-01")
    assert e.value.exit_code == 3
    assert str(e.value) == "no payout statements have been built for 2027-01 yet (latest period built: 2026-10)"


def test_argparse_usage_errors_exit_2(warehouse, capsys):
    assert ops(warehouse, "chart", "compute.time_used", "--from", "2026-10-01", "--to", "2026-10-02",
               "--granularity", "week") == 2
    assert "invalid choice: 'week'" in capsys.readouterr().err
    assert main_ops(["events", "--period", "2026-10"]) == 2
    assert "one of the arguments --account --farmer is required" in capsys.readouterr().err


def test_missing_warehouse(tmp_path, capsys):
    missing = tmp_path / "nope.duckdb"
    assert main_ops(["resources", "--warehouse", str(missing)]) == 2
    assert capsys.readouterr().err == (
        f"error: warehouse file {missing} does not exist; run `make demo` (or build the marts) first "
        "or pass --warehouse PATH\n")


def test_default_warehouse_missing(tmp_path, monkeypatch, capsys):
    cfg = tmp_path / "accounting.yml"
    cfg.write_text("warehouse:\n  path: wh.duckdb\n  published_dir: pub\n"
                   "sources:\n  - name: compute\n    uri_env: X_URI\n    database: compute\n"
                   "    collections: [usage_events]\n")
    monkeypatch.setenv("ABACUS_CONFIG", str(cfg))
    monkeypatch.delenv("ABACUS_WAREHOUSE", raising=False)
    assert main_ops(["resources"]) == 2
    assert capsys.readouterr().err == (
        f"error: warehouse file {tmp_path / 'wh.duckdb'} does not exist (nor a published copy "
        f"{tmp_path / 'pub' / 'abacus.duckdb'}); run `make demo` (or build the marts) first or pass --warehouse PATH\n")
    # the published copy wins over the working file
    (tmp_path / "pub").mkdir()
    for name, resource in ((tmp_path / "wh.duckdb", "working"), (tmp_path / "pub" / "abacus.duckdb", "published")):
        c = duckdb.connect(str(name))
        c.execute("CREATE SCHEMA marts; CREATE TABLE marts.dim_resources (resource VARCHAR, source_name VARCHAR, "
                  "kind VARCHAR, billable_unit VARCHAR, aggregation VARCHAR)")
        c.execute("INSERT INTO marts.dim_resources VALUES (?, 'compute', 'counter', 'count', 'sum')", [resource])
        c.close()
    assert main_ops(["resources", "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines()[1] == "published,compute,counter,count,sum"


def test_marts_not_built(tmp_path, capsys):
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    assert main_ops(["resources", "--warehouse", str(empty)]) == 3
    assert capsys.readouterr().err == (
        "error: marts.dim_resources does not exist in this warehouse: run `make demo` (or build the marts) first\n")
    assert main_ops(["report", "show", "--warehouse", str(empty)]) == 3
    assert capsys.readouterr().err == (
        "error: reports.report_runs does not exist in this warehouse: no report has been built yet; "
        "run `abacus report build --period YYYY-MM` (or `make demo`)\n")


def test_format_decimal_is_exact():
    f = cli_ops.format_decimal
    assert f(D("0E-12")) == "0"
    assert f(D("0E-12"), money=True) == "0.00"
    assert f(D("96.000000000000")) == "96"
    assert f(D("0.000000000001")) == "0.000000000001"
    assert f(D("1E+20")) == "100000000000000000000"
    assert f(D("-0.26"), money=True) == "-0.26"
    assert f(D("2.4"), money=True) == "2.40"
    assert f(D("0.015230"), money=True) == "0.015230"
    assert f(D("0.015230000000"), money=True) == "0.01523"
    assert f(D("2.400000000000"), money=True) == "2.40"


# ---- views and consistency with the real marts ---------------------------------------------

def test_chart_peak_gauge_footer(warehouse, capsys):
    assert ops(warehouse, "chart", "storage.files", "--from", "2026-10-01", "--to", "2026-10-02") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[2:] == [
        "acme        acme/data  2026-10-01         7  count",
        "acme        acme/data  2026-10-02         3  count",
        "storage.files is a peak gauge: each day's value is that day's peak; they do not add up",
    ]


def test_events_table_view(warehouse, capsys):
    assert ops(warehouse, "events", "--account", "lab", "--period", "2026-11") == 0
    assert capsys.readouterr().out.splitlines() == [
        "resource           line_type   usage_period  source_name  collection_name  record_id  base_quantity"
        "  quantity  amount",
        "-----------------  ----------  ------------  -----------  ---------------  ---------  -------------"
        "  --------  ------",
        "compute.time_used  adjustment  2026-10       compute      usage_events     e3                 72000"
        "        20    0.80",
        "compute.time_used 2026-10 adjustment: 1 record, sum 0.80, line amount 0.80 OK",
        "invoice lab 2026-11: 1 record, sum of contributions 0.80 = sum of line amounts 0.80; "
        "invoice subtotal 0.80, discount 0.08, total 0.72",
    ]


def test_report_show_views(warehouse, capsys):
    assert ops(warehouse, "report", "show") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["period", "run_id", "status", "built_at", "as_of", "invoice_total",
                              "payout_gross_total", "payout_net_total", "invoice_lines_sha256",
                              "payout_lines_sha256"]
    assert out[3].split() == ["2026-10", "r2", "final", "2026-11-05T00:00:00Z", "2026-11-04T00:00:00Z", "3.37",
                              "0.020306", "0.005076", "bbb", "ppp"]
    assert ops(warehouse, "report", "show", "--run", "r1") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "run_id                r1"
    assert 'source_watermarks     {"compute.usage_events": "2026-11-04T00:00:00Z"}' in out
    assert "invoice_total         2.37" in out
    assert ops(warehouse, "report", "show", "--all", "--period", "2026-10", "--format", "csv") == 0
    assert [ln.split(",")[0] for ln in capsys.readouterr().out.splitlines()] == ["run_id", "r1", "r2"]


def _contract_columns() -> dict[str, list[str]]:
    import yaml
    from pathlib import Path
    root = Path(__file__).resolve().parent.parent / "dbt_project" / "models" / "marts"
    out = {}
    for yml in root.rglob("*.yml"):
        for model in (yaml.safe_load(yml.read_text()) or {}).get("models", []):
            out[model["name"]] = [c["name"] for c in model.get("columns", [])]
    return out


def test_fixture_columns_exist_in_the_marts_contracts():
    """Every column the fixture gives a mart is a column of that mart's dbt contract, so the
    operations tested here query columns the real marts have."""
    contracts = _contract_columns()
    con = duckdb.connect()
    con.execute(FIXTURE_SQL)
    tables = [r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts' ORDER BY 1").fetchall()]
    missing = {t: [c for c in cli_ops.table_columns(con, "marts", t) if c not in contracts.get(t, [])]
               for t in tables}
    assert {t: cols for t, cols in missing.items() if cols} == {}


def test_fixture_report_runs_match_the_report_writer():
    from orchestration.reports import REPORT_RUNS_DDL
    con = duckdb.connect()
    con.execute("CREATE SCHEMA reports")
    con.execute(REPORT_RUNS_DDL)
    fixture = duckdb.connect()
    fixture.execute(FIXTURE_SQL)
    assert cli_ops.table_columns(fixture, "reports", "report_runs") == cli_ops.table_columns(con, "reports", "report_runs")


def test_locked_working_file_is_not_ready(tmp_path, capsys):
    import subprocess
    import sys
    path = tmp_path / "busy.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
         "print('ready', flush=True); sys.stdin.read()", str(path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "ready\n"
        assert main_ops(["resources", "--warehouse", str(path)]) == 3
        assert capsys.readouterr().err == (
            f"error: warehouse {path} is being written by another process; retry, or read the published copy\n")
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
