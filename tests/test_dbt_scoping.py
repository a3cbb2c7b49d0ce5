"""Period scoping (dbt var ``period``, dbt_project/macros/scope.sql): a build scoped to period Q
gives exactly the rows of Q that an unscoped build gives, in every invoice and payout mart
(incl. the proofs and the context breakdown), and the late-not-billed rows of the usage period
whose adjustment window ends with Q. Data tests pass on the scoped build too.

Fixture: the billing fixture of tests/test_dbt_billing.py (as_of 2027-02-10): October usage,
November positive and negative adjustments, September knowledge late for December's window.
"""
from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from dbt_support import run_dbt
from test_dbt_billing import AS_OF, MARTS, load_fixture

# table -> the column naming the invoice / statement period it belongs to
PERIOD_TABLES = {
    "fct_invoices": "invoice_period",
    "fct_invoice_lines": "invoice_period",
    "fct_invoice_context_amounts": "invoice_period",
    "fct_invoice_line_records": "invoice_period",
    "fct_payouts": "statement_period",
    "fct_payout_lines": "statement_period",
    "fct_payout_line_records": "statement_period",
    "fct_late_unbilled": "window_end_period",
}
SCOPED = ("2026-10", "2026-11", "2026-12")


def _build(warehouse: Path, vars: dict) -> None:
    result = run_dbt(["build", "--select", MARTS, "--exclude", "resource_type:seed", "resource_type:unit_test",
                      "--indirect-selection", "cautious"], warehouse, vars=vars)
    failures = [f"{r.node.name}: {r.message}" for r in (result.result or [])
                if getattr(r, "status", None) not in ("success", "pass")]
    assert result.success and not failures, failures or result.exception


@pytest.fixture(scope="module")
def warehouses(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("scoping")
    out = {}
    for name in ("all",) + SCOPED:
        wh = tmp / name / "warehouse.duckdb"
        wh.parent.mkdir()
        con = duckdb.connect(str(wh))
        load_fixture(con)
        con.close()
        result = run_dbt(["seed"], wh, vars={"as_of": AS_OF})
        assert result.success, result.exception
        _build(wh, {"as_of": AS_OF} if name == "all" else {"as_of": AS_OF, "period": name})
        out[name] = wh
    return out


def _rows(warehouse: Path, table: str, column: str, period: str | None) -> list[tuple]:
    con = duckdb.connect(str(warehouse))
    try:
        where = f"where {column} = ?" if period else ""
        return con.execute(f"select * from marts.{table} {where} order by all",
                           [period] if period else []).fetchall()
    finally:
        con.close()


@pytest.mark.parametrize("period", SCOPED)
@pytest.mark.parametrize("table", sorted(PERIOD_TABLES))
def test_scoped_rows_equal_unscoped_rows(warehouses, table, period):
    column = PERIOD_TABLES[table]
    scoped = _rows(warehouses[period], table, column, None)
    unscoped = _rows(warehouses["all"], table, column, period)
    assert scoped == unscoped
    # every row of the scoped build belongs to the scoped period
    assert scoped == _rows(warehouses[period], table, column, period)


def test_fixture_periods_are_not_trivial(warehouses):
    # the comparison covers usage, adjustments (both signs), discounts, payouts and late rows
    con = duckdb.connect(str(warehouses["all"]))
    try:
        kinds = con.execute("select distinct invoice_period, line_type, sign(amount) from marts.fct_invoice_lines "
                            "where invoice_period in ('2026-10', '2026-11') order by all").fetchall()
        late = con.execute("select distinct window_end_period from marts.fct_late_unbilled").fetchall()
        payouts = con.execute("select count(*) from marts.fct_payouts where statement_period = '2026-10'").fetchone()
    finally:
        con.close()
    assert ("2026-11", "adjustment", 1) in kinds and ("2026-11", "adjustment", -1) in kinds
    assert ("2026-10", "usage", 1) in kinds and ("2026-10", "discount", -1) in kinds
    assert ("2026-12",) in late
    assert payouts[0] > 0


def test_bad_period_is_a_one_line_error(warehouses, tmp_path):
    wh = tmp_path / "bad.duckdb"
    con = duckdb.connect(str(wh))
    load_fixture(con)
    con.close()
    result = run_dbt(["build", "--select", "int_knowledge_cutoffs"], wh, vars={"as_of": AS_OF, "period": "2026-13"})
    assert not result.success
