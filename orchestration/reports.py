"""Report runs: record, snapshot, hash, diff and publish.

A report run of period P (status ``final`` or ``draft``) is one row in ``reports.report_runs``
plus a snapshot of the period's invoice and payout lines in ``reports.invoice_lines`` /
``reports.payout_lines`` keyed by ``run_id``.

Canonical SHA-256 of a set of lines: every line rendered as canonical text (column order fixed by
name, decimals as plain strings without exponent keeping their scale, timestamps ISO-8601, NULL as
``\\N``), run metadata columns excluded, lines sorted by their key columns (then by the whole
canonical text), joined with newlines. Rebuilding a closed period with the same knowledge gives
the same hash.

Publishing copies the marts and the report tables into a separate DuckDB file
(``<published_dir>/abacus.duckdb``) and one Parquet file per table
(``<published_dir>/parquet/<table>.parquet``). Each file is written under a temporary name in the
same directory and then ``os.replace``d: readers that opened the old file keep reading it, new
readers see the new one, nobody sees a half-written file.
"""
from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import os
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

REPO_ROOT = Path(__file__).resolve().parent.parent

# Columns that describe a run, not the report's contents: excluded from hashes and diff keys.
RUN_METADATA_COLUMNS = frozenset({
    "run_id", "built_at", "as_of", "loaded_at", "_loaded_at", "generated_at", "computed_at",
    "dbt_run_at", "_dbt_loaded_at", "snapshot_at",
})
_NUMERIC = ("DECIMAL", "NUMERIC", "INTEGER", "BIGINT", "HUGEINT", "SMALLINT", "TINYINT", "DOUBLE",
            "FLOAT", "REAL", "UBIGINT", "UINTEGER", "UHUGEINT")
# Preferred key columns of lines, in order (the rest of the non-numeric columns follow by name).
PERIOD_COLUMNS = ("period", "invoice_period", "statement_period")
PREFERRED_KEYS = ("line_id", "period", "invoice_period", "statement_period", "account_id", "farmer_id", "line_type", "usage_period", "resource",
                  "component", "context", "tier")
KINDS = {
    "invoice": ("marts.fct_invoice_lines", "reports.invoice_lines"),
    "payout": ("marts.fct_payout_lines", "reports.payout_lines"),
}

REPORT_RUNS_DDL = """
CREATE TABLE IF NOT EXISTS reports.report_runs (
    run_id VARCHAR PRIMARY KEY,
    period VARCHAR NOT NULL,
    status VARCHAR NOT NULL CHECK (status IN ('final', 'draft')),
    built_at TIMESTAMP NOT NULL,
    as_of TIMESTAMP NOT NULL,
    config_hash VARCHAR NOT NULL,
    code_version VARCHAR NOT NULL,
    source_watermarks JSON NOT NULL,
    row_counts JSON NOT NULL,
    invoice_total DECIMAL(38, 2),
    payout_gross_total DECIMAL(38, 6),
    payout_net_total DECIMAL(38, 6),
    invoice_lines_sha256 VARCHAR NOT NULL,
    payout_lines_sha256 VARCHAR NOT NULL
)
"""


class ReportError(RuntimeError):
    """The marts cannot be reported (missing table/column, period not built as final)."""


# ----------------------------------------------------------------------------- helpers

def code_version() -> str:
    try:
        out = subprocess.run(["git", "-C", str(REPO_ROOT), "describe", "--always", "--dirty", "--tags"],
                             capture_output=True, text=True, timeout=10)
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        from importlib.metadata import version
        return "abacus " + version("abacus")
    except Exception:  # noqa: BLE001 - last resort
        return "unknown"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _qt(qualified: str) -> str:
    return ".".join(_q(p) for p in qualified.split("."))


def _lit(path: Path | str) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def table_exists(con, qualified: str) -> bool:
    schema, table = qualified.split(".")
    return bool(con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_catalog = current_database() "
        "AND table_schema = ? AND table_name = ?", [schema, table]).fetchone()[0])


def columns_of(con, qualified: str) -> list[tuple[str, str]]:
    schema, table = qualified.split(".")
    return [(r[0], r[1]) for r in con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_catalog = current_database() "
        "AND table_schema = ? AND table_name = ? ORDER BY ordinal_position", [schema, table]).fetchall()]


def _is_numeric(typ: str) -> bool:
    return typ.upper().startswith(_NUMERIC)


def _pick(cols: Iterable[str], candidates: Iterable[str]) -> str | None:
    names = list(cols)
    for c in candidates:
        if c in names:
            return c
    return None


def canonical_text(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    if isinstance(value, float):
        return format(decimal.Decimal(repr(value)), "f")
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(canonical_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return json.dumps({k: canonical_text(v) for k, v in sorted(value.items())}, sort_keys=True)
    return str(value)


def key_columns(columns: list[tuple[str, str]]) -> list[str]:
    """Key of a line: its non-numeric columns (minus run metadata), preferred ones first."""
    keys = [c for c, t in columns if not _is_numeric(t) and c not in RUN_METADATA_COLUMNS]
    return sorted(keys, key=lambda c: (PREFERRED_KEYS.index(c) if c in PREFERRED_KEYS else len(PREFERRED_KEYS), c))


def canonical_lines(rows: list[tuple], columns: list[tuple[str, str]]) -> list[str]:
    names = [c for c, _ in columns]
    content = sorted(c for c in names if c not in RUN_METADATA_COLUMNS)
    keys = key_columns(columns)
    idx = {c: i for i, c in enumerate(names)}
    rendered = []
    for row in rows:
        key = [canonical_text(row[idx[c]]) for c in keys]
        text = json.dumps([[c, canonical_text(row[idx[c]])] for c in content], separators=(",", ":"))
        rendered.append((key, text))
    rendered.sort()
    return [text for _, text in rendered]


def lines_sha256(rows: list[tuple], columns: list[tuple[str, str]]) -> str:
    h = hashlib.sha256()
    for line in canonical_lines(rows, columns):
        h.update(line.encode())
        h.update(b"\n")
    return h.hexdigest()


# ----------------------------------------------------------------------------- build

@dataclass
class ReportSummary:
    run_id: str
    period: str
    status: str
    built_at: dt.datetime
    as_of: dt.datetime
    row_counts: dict[str, int]
    invoice_total: decimal.Decimal | None
    payout_gross_total: decimal.Decimal | None
    payout_net_total: decimal.Decimal | None
    invoice_lines_sha256: str
    payout_lines_sha256: str
    source_watermarks: dict[str, str | None]
    top_accounts: list[tuple[str, decimal.Decimal]] = field(default_factory=list)
    top_contexts: list[tuple[str, str, decimal.Decimal]] = field(default_factory=list)

    def markdown(self) -> str:
        out = [f"**{self.period}** ({self.status}, as of {self.as_of:%Y-%m-%d %H:%M}Z): "
               f"invoices {self.invoice_total} · payouts gross {self.payout_gross_total} / "
               f"net {self.payout_net_total}", "", "| account | total |", "|---|---:|"]
        out += [f"| {a} | {t} |" for a, t in self.top_accounts] or ["| – | – |"]
        out += ["", "| account | context | amount |", "|---|---|---:|"]
        out += [f"| {a} | {c} | {t} |" for a, c, t in self.top_contexts] or ["| – | – | – |"]
        return "\n".join(out)


def ensure_reports_schema(con) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS reports")
    con.execute(REPORT_RUNS_DDL)


def _period_filter(con, table: str, period: str) -> tuple[str, list]:
    col = _pick((c for c, _ in columns_of(con, table)), PERIOD_COLUMNS)
    if col is not None:
        return f" WHERE {_q(col)} = ?", [period]
    return "", []


def _count(con, table: str, period: str | None) -> int | None:
    if not table_exists(con, table):
        return None
    where, params = _period_filter(con, table, period) if period else ("", [])
    return int(con.execute(f"SELECT count(*) FROM {_qt(table)}{where}", params).fetchone()[0])


def _sum(con, table: str, candidates: tuple[str, ...], period: str) -> decimal.Decimal | None:
    if not table_exists(con, table):
        raise ReportError(f"{table} does not exist: build the dbt models first")
    col = _pick((c for c, _ in columns_of(con, table)), candidates)
    if col is None:
        raise ReportError(f"{table} has none of the columns {', '.join(candidates)}")
    where, params = _period_filter(con, table, period)
    value = con.execute(f"SELECT sum({_q(col)}) FROM {_qt(table)}{where}", params).fetchone()[0]
    return decimal.Decimal(0) if value is None else decimal.Decimal(value)


def _snapshot(con, mart: str, target: str, run_id: str, period: str) -> str:
    """Copy the period's lines of ``mart`` into ``target`` under ``run_id``; return their SHA-256."""
    if not table_exists(con, mart):
        raise ReportError(f"{mart} does not exist: build the dbt models first")
    cols = columns_of(con, mart)
    where, params = _period_filter(con, mart, period)
    if not table_exists(con, target):
        con.execute(f"CREATE TABLE {_qt(target)} AS SELECT CAST(NULL AS VARCHAR) AS run_id, * "
                    f"FROM {_qt(mart)} LIMIT 0")
    else:  # the mart grew a column since the first snapshot: add it (old runs read NULL)
        have = {c for c, _ in columns_of(con, target)}
        for c, t in cols:
            if c not in have:
                con.execute(f"ALTER TABLE {_qt(target)} ADD COLUMN {_q(c)} {t}")
    con.execute(f"INSERT INTO {_qt(target)} BY NAME SELECT ? AS run_id, * FROM {_qt(mart)}{where}",
                [run_id, *params])
    rows = con.execute(f"SELECT * FROM {_qt(mart)}{where}", params).fetchall()
    return lines_sha256(rows, cols)


def _assert_final_ready(con, period: str) -> None:
    """A final report needs marts built with a cutoff at or after the period's close."""
    if not table_exists(con, "intermediate.int_periods"):
        return
    row = con.execute("SELECT is_closed FROM intermediate.int_periods WHERE period = ?", [period]).fetchone()
    if row is not None and not row[0]:
        raise ReportError(f"the marts were last built with a cutoff before the close of {period}: "
                          "rebuild the period (dbt) before recording a final report")


def build_report(con, cfg, period: str, *, run_id: str, status: str, as_of: dt.datetime,
                 watermarks: dict[str, str | None], now: dt.datetime | None = None,
                 top_n: int = 10) -> ReportSummary:
    """Record a report run of ``period`` from the current marts (caller holds the writer lock)."""
    if status not in ("final", "draft"):
        raise ValueError(f"status must be final or draft, got {status!r}")
    now = now or dt.datetime.now(dt.timezone.utc)
    ensure_reports_schema(con)
    if status == "final":
        _assert_final_ready(con, period)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM reports.report_runs WHERE run_id = ?", [run_id])
        for _, target in KINDS.values():
            if table_exists(con, target):
                con.execute(f"DELETE FROM {_qt(target)} WHERE run_id = ?", [run_id])
        inv_sha = _snapshot(con, *KINDS["invoice"], run_id, period)
        pay_sha = _snapshot(con, *KINDS["payout"], run_id, period)
        invoice_total = _sum(con, "marts.fct_invoices", ("total", "total_amount", "invoice_total", "amount"), period)
        gross = _sum(con, "marts.fct_payouts", ("gross", "gross_amount", "gross_total"), period)
        net = _sum(con, "marts.fct_payouts", ("net", "net_amount", "net_total"), period)
        counts = {}
        for name, per_period in (("fct_invoices", True), ("fct_invoice_lines", True),
                                 ("fct_invoice_context_amounts", True), ("fct_payouts", True),
                                 ("fct_payout_lines", True), ("fct_late_unbilled", False),
                                 ("fct_rejected_records", False), ("fct_transfer_discrepancies", False),
                                 ("fct_usage_gaps", False)):
            n = _count(con, f"marts.{name}", period if per_period else None)
            if n is not None:
                counts[name] = n
        con.execute(
            "INSERT INTO reports.report_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [run_id, period, status, now.astimezone(dt.timezone.utc).replace(tzinfo=None),
             as_of.astimezone(dt.timezone.utc).replace(tzinfo=None) if as_of.tzinfo else as_of,
             cfg.config_hash, code_version(), json.dumps(watermarks, sort_keys=True),
             json.dumps(counts, sort_keys=True), invoice_total, gross, net, inv_sha, pay_sha])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    summary = ReportSummary(run_id, period, status, now, as_of, counts, invoice_total, gross, net,
                            inv_sha, pay_sha, watermarks)
    summary.top_accounts, summary.top_contexts = _tops(con, period, top_n)
    return summary


def _tops(con, period: str, n: int):
    accounts: list = []
    contexts: list = []
    try:
        inv = "marts.fct_invoices"
        cols = [c for c, _ in columns_of(con, inv)]
        total = _pick(cols, ("total", "total_amount", "invoice_total", "amount"))
        where, params = _period_filter(con, inv, period)
        if total and "account_id" in cols:
            accounts = con.execute(f"SELECT account_id, {_q(total)} FROM {inv}{where} "
                                   f"ORDER BY {_q(total)} DESC, account_id LIMIT {int(n)}", params).fetchall()
        ctx = "marts.fct_invoice_context_amounts"
        if table_exists(con, ctx):
            cols = [c for c, _ in columns_of(con, ctx)]
            amount = _pick(cols, ("amount", "total", "total_amount"))
            cname = _pick(cols, ("context", "context_path", "context_prefix"))
            where, params = _period_filter(con, ctx, period)
            if "is_leaf" in cols:
                where += (" AND" if where else " WHERE") + " is_leaf"
            if amount and cname and "account_id" in cols:
                contexts = con.execute(
                    f"SELECT account_id, {_q(cname)}, sum({_q(amount)}) AS a FROM {ctx}{where} "
                    f"GROUP BY ALL ORDER BY a DESC, 1, 2 LIMIT {int(n)}", params).fetchall()
    except Exception:  # noqa: BLE001 - metadata only; the report itself is recorded
        pass
    return accounts, contexts


def report_runs(con, period: str | None = None) -> list[dict]:
    if not table_exists(con, "reports.report_runs"):
        return []
    where, params = (" WHERE period = ?", [period]) if period else ("", [])
    cur = con.execute(f"SELECT * FROM reports.report_runs{where} ORDER BY built_at, run_id", params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def latest_run(con, period: str, status: str | None = None) -> dict | None:
    runs = [r for r in report_runs(con, period) if status is None or r["status"] == status]
    return runs[-1] if runs else None


# ----------------------------------------------------------------------------- diff

def diff_runs(con, run_a: str, run_b: str) -> list[dict]:
    """Line-by-line differences between two report runs.

    Each difference: ``{"kind": invoice|payout, "change": added|removed|changed, "key": {...},
    "amount_a", "amount_b", "values_a", "values_b"}`` (``amount`` = the line's amount column).
    ``added`` = only in run_b, ``removed`` = only in run_a.
    """
    known = {r["run_id"] for r in report_runs(con)}
    for r in (run_a, run_b):
        if r not in known:
            raise ReportError(f"no report run {r!r} in reports.report_runs")
    out: list[dict] = []
    for kind, (_, table) in KINDS.items():
        if not table_exists(con, table):
            continue
        cols = [(c, t) for c, t in columns_of(con, table) if c != "run_id"]
        keys = key_columns(cols)
        values = sorted(c for c, t in cols if _is_numeric(t) and c not in RUN_METADATA_COLUMNS)
        amount = _pick(values, ("amount", "net", "gross", "total")) or (values[0] if values else None)
        sel = ", ".join(_q(c) for c in keys + values)

        def load(run: str) -> dict:
            rows = con.execute(f"SELECT {sel} FROM {_qt(table)} WHERE run_id = ?", [run]).fetchall()
            seen: dict = {}
            for row in sorted(rows, key=lambda r: [canonical_text(v) for v in r]):
                k = tuple(canonical_text(v) for v in row[:len(keys)])
                n = 0
                while k + (n,) in seen:
                    n += 1
                seen[k + (n,)] = dict(zip(keys + values, row))
            return seen

        a, b = load(run_a), load(run_b)
        for k in sorted(set(a) | set(b)):
            ra, rb = a.get(k), b.get(k)
            va = {c: ra[c] for c in values} if ra else None
            vb = {c: rb[c] for c in values} if rb else None
            if ra and rb and {c: canonical_text(v) for c, v in va.items()} == {c: canonical_text(v) for c, v in vb.items()}:
                continue
            change = "changed" if ra and rb else ("removed" if ra else "added")
            src = ra or rb
            out.append({"kind": kind, "change": change, "key": {c: src[c] for c in keys},
                        "amount_a": va.get(amount) if va and amount else None,
                        "amount_b": vb.get(amount) if vb and amount else None,
                        "values_a": va, "values_b": vb})
    return out


# ----------------------------------------------------------------------------- publish

PUBLISHED_SCHEMAS = ("marts", "reports", "reference")


@dataclass
class PublishResult:
    database: Path
    parquet_dir: Path
    tables: dict[str, int]


def _atomic_tmp(target: Path) -> Path:
    return target.with_name(f".{target.name}.tmp-{uuid.uuid4().hex[:12]}")


def publish(con, cfg, *, schemas: tuple[str, ...] = PUBLISHED_SCHEMAS) -> PublishResult:
    """Copy the marts and reports to the read-only artifact (caller holds the writer lock)."""
    pub_dir = Path(cfg.published_dir)
    parquet_dir = pub_dir / "parquet"
    parquet_dir.mkdir(parents=True, exist_ok=True)
    target = pub_dir / "abacus.duckdb"
    tmp = _atomic_tmp(target)
    tables: dict[str, int] = {}
    alias = "pub_" + uuid.uuid4().hex[:8]
    con.execute(f"ATTACH {_lit(tmp)} AS {alias}")
    try:
        for schema in schemas:
            names = [r[0] for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database() "
                "AND table_schema = ? AND table_type = 'BASE TABLE' ORDER BY table_name", [schema]).fetchall()]
            if not names:
                continue
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {alias}.{_q(schema)}")
            for name in names:
                con.execute(f"CREATE TABLE {alias}.{_q(schema)}.{_q(name)} AS SELECT * FROM {_q(schema)}.{_q(name)}")
                tables[f"{schema}.{name}"] = int(con.execute(
                    f"SELECT count(*) FROM {alias}.{_q(schema)}.{_q(name)}").fetchone()[0])
    finally:
        con.execute(f"DETACH {alias}")
    os.replace(tmp, target)
    for leftover in (tmp.with_name(tmp.name + ".wal"),):
        if leftover.exists():
            leftover.unlink()
    for qualified in tables:
        schema, name = qualified.split(".")
        if schema == "reference":
            continue
        file = parquet_dir / f"{name}.parquet"
        ptmp = _atomic_tmp(file)
        con.execute(f"COPY (SELECT * FROM {_q(schema)}.{_q(name)}) TO {_lit(ptmp)} (FORMAT parquet)")
        os.replace(ptmp, file)
    return PublishResult(target, parquet_dir, tables)
