"""The user operations of the ``abacus`` CLI (SPEC §5): resources, chart, events, usage, report.

Every operation is a plain function over a DuckDB connection that returns rows (a list of
dicts with exact ``Decimal`` values); the argparse handlers only validate, call and format.
``register(subparsers)`` adds the subcommands to the ``abacus`` entry point; ``main_ops(argv)``
is a stand-alone front end (used by the tests).

Errors: a bad argument raises :class:`UserError` (exit code 2) and a "data not ready" condition
(no warehouse tables yet, period not built) raises :class:`NotReadyError` (exit code 3), both
with a one-line message.

The warehouse is opened read-only: ``--warehouse PATH`` if given, else the published copy
``<published_dir>/abacus.duckdb`` if it exists, else the working file of the configuration.
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import difflib
import io
import json
import re
import sys
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable, Sequence

import duckdb

EXIT_USER_ERROR = 2
EXIT_NOT_READY = 3
FORMATS = ("table", "csv", "json")
COMPONENTS = ("storage", "download", "upload")
DEMO_HINT = "run `make demo` (or build the marts) first"


class UserError(Exception):
    """A bad argument: one line, exit code 2."""

    exit_code = EXIT_USER_ERROR


class NotReadyError(Exception):
    """The data asked for is not built (yet): one line, exit code 3."""

    exit_code = EXIT_NOT_READY


Row = dict[str, Any]

# --------------------------------------------------------------------------------------------
# Connection and schema discovery
# --------------------------------------------------------------------------------------------


def resolve_warehouse(path: str | Path | None = None) -> Path:
    """The DuckDB file to read: ``path``, else the published copy, else the working file."""
    if path:
        p = Path(path)
        if not p.is_file():
            raise UserError(f"warehouse file {p} does not exist; {DEMO_HINT} or pass --warehouse PATH")
        return p
    from extract.config import ConfigError, load_config

    try:
        cfg = load_config(require_env=False)
    except ConfigError as exc:
        raise UserError(f"configuration: {exc}") from None
    published = cfg.published_dir / "abacus.duckdb"
    if published.is_file():
        return published
    if cfg.warehouse_path.is_file():
        return cfg.warehouse_path
    raise UserError(f"warehouse file {cfg.warehouse_path} does not exist (nor a published copy "
                    f"{published}); {DEMO_HINT} or pass --warehouse PATH")


def connect(path: str | Path | None = None) -> duckdb.DuckDBPyConnection:
    """Open the warehouse read-only (see :func:`resolve_warehouse`)."""
    p = resolve_warehouse(path)
    try:
        return duckdb.connect(str(p), read_only=True)
    except duckdb.IOException as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "lock" in msg.lower():
            raise NotReadyError(f"warehouse {p} is being written by another process; "
                                "retry, or read the published copy") from None
        raise UserError(f"cannot open warehouse {p}: {msg}") from None
    except duckdb.Error as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(f"cannot open warehouse {p}: {msg}") from None


def table_columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[str]:
    """Column names of ``schema.table`` in order; [] if the table does not exist."""
    return [r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        [schema, table]).fetchall()]


def _require_table(con, schema: str, table: str, hint: str = DEMO_HINT) -> list[str]:
    cols = table_columns(con, schema, table)
    if not cols:
        raise NotReadyError(f"{schema}.{table} does not exist in this warehouse: {hint}")
    return cols


def _pick(cols: Sequence[str], table: str, *candidates: str) -> str:
    """The first of ``candidates`` that ``table`` has (tolerates renamed mart columns)."""
    for c in candidates:
        if c in cols:
            return c
    raise NotReadyError(f"{table} has none of the columns {', '.join(candidates)}: the marts do not "
                        f"match this CLI; rebuild them ({DEMO_HINT})")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _rows(con, sql: str, params: Sequence[Any] = ()) -> list[Row]:
    cur = con.execute(sql, list(params))
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r)) for r in cur.fetchall()]


def _values(con, sql: str, params: Sequence[Any] = ()) -> list[Any]:
    return [r[0] for r in con.execute(sql, list(params)).fetchall()]


# --------------------------------------------------------------------------------------------
# Argument validation
# --------------------------------------------------------------------------------------------

_PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def parse_period(value: str, option: str = "--period") -> str:
    if not isinstance(value, str) or not _PERIOD.match(value.strip()):
        raise UserError(f"{option} {value!r}: expected a month as YYYY-MM, e.g. 2026-10")
    return value.strip()


def parse_time(value: str | dt.datetime | dt.date, option: str, *, end: bool = False) -> dt.datetime:
    """An ISO date or date-time as a naive UTC datetime.

    A date-time with an offset is converted to UTC; one without is taken as UTC. A bare date
    means its midnight, except for an end bound (``end=True``) where it includes that whole day.
    """
    if isinstance(value, dt.datetime):
        parsed, date_only = value, False
    elif isinstance(value, dt.date):
        parsed, date_only = dt.datetime(value.year, value.month, value.day), True
    else:
        text = str(value).strip()
        date_only = bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", text))
        try:
            parsed = dt.datetime.fromisoformat(text)
        except ValueError:
            raise UserError(f"{option} {value!r}: not an ISO date or time "
                            "(e.g. 2026-10-01 or 2026-10-01T06:00:00Z)") from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.timezone.utc).replace(tzinfo=None)
    if date_only and end:
        parsed += dt.timedelta(days=1)
    return parsed


def _suggest(value: str, known: Iterable[str]) -> str:
    """`` (did you mean a, b?)`` with up to three close matches, best first (ties by name)."""
    names = sorted({str(k) for k in known if k is not None})
    cutoff = 0.5 if len(value) <= 4 else 0.6  # short ids ('F3' vs 'F1') score 0.5
    scored = []
    for name in names:
        ratio = difflib.SequenceMatcher(None, value, name).ratio()
        if ratio >= cutoff:
            scored.append((-ratio, name))
    close = [name for _, name in sorted(scored)[:3]]
    return f" (did you mean {', '.join(close)}?)" if close else ""


def _existing(con, candidates: Sequence[tuple[str, str, str]]) -> list[tuple[str, str]]:
    """[(qualified table, column)] for the (schema, table, column) candidates that exist."""
    out = []
    for schema, table, column in candidates:
        if column in table_columns(con, schema, table):
            out.append((f"{schema}.{table}", column))
    return out


def _known_ids(con, candidates: Sequence[tuple[str, str, str]]) -> list[str] | None:
    sources = _existing(con, candidates)
    if not sources:
        return None
    union = " UNION ".join(f"SELECT DISTINCT CAST({_q(c)} AS VARCHAR) AS id FROM {t}" for t, c in sources)
    return _values(con, f"SELECT id FROM ({union}) WHERE id IS NOT NULL ORDER BY id")


_ACCOUNT_TABLES = (("marts", "dim_accounts", "account_id"), ("marts", "fct_invoices", "account_id"),
                   ("marts", "fct_usage_daily", "account_id"), ("marts", "fct_current_usage", "account_id"))
_FARMER_TABLES = (("marts", "dim_farmers", "farmer_id"), ("marts", "fct_payouts", "farmer_id"))


def _id_exists(con, candidates: Sequence[tuple[str, str, str]], value: str) -> bool | None:
    """Whether any candidate table has ``value`` (None if none of the tables exists)."""
    sources = _existing(con, candidates)
    if not sources:
        return None
    probes = " UNION ALL ".join(f"(SELECT 1 FROM {t} WHERE CAST({_q(c)} AS VARCHAR) = ? LIMIT 1)"
                                for t, c in sources)
    return bool(con.execute(f"SELECT count(*) FROM ({probes})", [value] * len(sources)).fetchone()[0])


def check_account(con, account: str) -> str:
    found = _id_exists(con, _ACCOUNT_TABLES, account)
    if found is None:
        raise NotReadyError(f"no account tables in this warehouse: {DEMO_HINT}")
    if not found:
        known = _known_ids(con, _ACCOUNT_TABLES) or []
        raise UserError(f"unknown account {account!r}{_suggest(account, known)}")
    return account


def check_farmer(con, farmer: str) -> str:
    found = _id_exists(con, _FARMER_TABLES, farmer)
    if found is None:
        raise NotReadyError(f"no farmer tables in this warehouse: {DEMO_HINT}")
    if not found:
        known = _known_ids(con, _FARMER_TABLES) or []
        raise UserError(f"unknown farmer {farmer!r}{_suggest(farmer, known)}")
    return farmer


def known_resources(con) -> list[str]:
    if "resource" in table_columns(con, "marts", "dim_resources"):
        found = _values(con, "SELECT DISTINCT resource FROM marts.dim_resources ORDER BY resource")
        if found:
            return found
    from extract.config import KNOWN_RESOURCES
    return sorted(KNOWN_RESOURCES)


def resource_aggregation(con, resource: str) -> str | None:
    """sum | time_integral | peak (None if the catalog does not say)."""
    if "aggregation" not in table_columns(con, "marts", "dim_resources"):
        return None
    found = _values(con, "SELECT aggregation FROM marts.dim_resources WHERE resource = ?", [resource])
    return found[0] if found else None


def check_resource(con, resource: str) -> str:
    known = known_resources(con)
    if resource not in known:
        raise UserError(f"unknown resource {resource!r}{_suggest(resource, known)} "
                        f"(known: {', '.join(known)})")
    return resource


def check_component(component: str) -> str:
    if component not in COMPONENTS:
        raise UserError(f"unknown component {component!r}{_suggest(component, COMPONENTS)} "
                        f"(known: {', '.join(COMPONENTS)})")
    return component


# --------------------------------------------------------------------------------------------
# Operations
# --------------------------------------------------------------------------------------------


def list_resources(con) -> list[Row]:
    """Resource query: which resources each source provides, their kind, units and aggregation."""
    cols = _require_table(con, "marts", "dim_resources")
    t = "marts.dim_resources"
    select = [f"resource", f"{_pick(cols, t, 'source_name', 'source')} AS source",
              f"{_pick(cols, t, 'kind')} AS kind"]
    if "base_unit" in cols:
        select.append("base_unit")
    select += [f"{_pick(cols, t, 'billable_unit', 'unit')} AS billable_unit",
               f"{_pick(cols, t, 'aggregation')} AS aggregation"]
    if "description" in cols:
        select.append("description")
    return _rows(con, f"SELECT {', '.join(select)} FROM {t} ORDER BY source, resource")


def context_filter(prefix: str | None, *, raw_prefix: bool = False, column: str = "context"
                   ) -> tuple[str, list[Any]]:
    """SQL condition for a context prefix.

    By default the prefix matches whole path segments: ``acme/research`` matches
    ``acme/research`` and ``acme/research/alice`` but not ``acme/research2``; ``acme/re`` matches
    neither. ``raw_prefix`` asks for a plain string prefix (``acme/re`` matches ``acme/research``).
    """
    if prefix is None:
        return "TRUE", []
    if raw_prefix:
        if prefix == "":
            raise UserError("--context-prefix: empty prefix")
        return f"starts_with({column}, ?)", [prefix]
    p = prefix.rstrip("/")
    if p == "":
        raise UserError(f"--context-prefix {prefix!r}: empty prefix")
    return f"({column} = ? OR starts_with({column}, ?))", [p, p + "/"]


def chart(con, resource: str, start: Any, end: Any, *, account: str | None = None,
          context_prefix: str | None = None, granularity: str = "day",
          raw_prefix: bool = False) -> list[Row]:
    """Charts: usage of one resource per account and context per day (or hour).

    A bucket (day or hour) is included when it overlaps ``[start, end)``; a date-only ``end``
    includes that day. Quantities are in the resource's billable unit.
    """
    if granularity not in ("day", "hour"):
        raise UserError(f"--granularity {granularity!r}: expected day or hour")
    t0 = parse_time(start, "--from")
    t1 = parse_time(end, "--to", end=True)
    if t0 >= t1:
        raise UserError(f"--from {t0.isoformat()}Z is not before --to {t1.isoformat()}Z")
    table = "fct_usage_daily" if granularity == "day" else "fct_usage_hourly"
    cols = _require_table(con, "marts", table)
    t = f"marts.{table}"
    check_resource(con, resource)
    if account is not None:
        check_account(con, account)
    if granularity == "day":
        bucket = _pick(cols, t, "usage_day", "day", "usage_date")
        bucket_ts, step = f"CAST({bucket} AS TIMESTAMP)", "INTERVAL 1 DAY"
    else:
        bucket = _pick(cols, t, "usage_hour", "hour")
        bucket_ts, step = f"CAST({bucket} AS TIMESTAMP)", "INTERVAL 1 HOUR"
    cond, params = context_filter(context_prefix, raw_prefix=raw_prefix)
    where = [f"resource = ?", f"{bucket_ts} < ?", f"{bucket_ts} + {step} > ?", cond]
    all_params: list[Any] = [resource, t1, t0, *params]
    if account is not None:
        where.append("account_id = ?")
        all_params.append(account)
    unit = "billable_unit" if "billable_unit" in cols else "NULL"
    sql = (f"SELECT account_id, context, {bucket} AS {granularity}, SUM(quantity) AS quantity, "
           f"{unit} AS unit FROM {t} WHERE {' AND '.join(where)} "
           f"GROUP BY account_id, context, {bucket}, {unit} "
           f"ORDER BY {granularity}, account_id, context")
    return _rows(con, sql, all_params)


@dataclass
class EventsResult:
    """The records behind the lines of one invoice or payout statement."""

    kind: str                       # invoice | payout
    subject: str                    # account or farmer id
    period: str
    records: list[Row]
    lines: list[Row]                # per line: record count and sums next to the line's values
    header: Row | None              # the invoice / statement totals
    sql: str = field(repr=False, default="")
    params: list[Any] = field(repr=False, default_factory=list)

    @property
    def record_amount(self) -> Decimal:
        return sum((r["record_amount"] for r in self.lines), Decimal(0))

    @property
    def line_amount(self) -> Decimal:
        return sum((r["line_amount"] or Decimal(0) for r in self.lines), Decimal(0))

    @property
    def matches(self) -> bool:
        return all(r["matches"] for r in self.lines)


_INVOICE = dict(kind="invoice", header="fct_invoices", lines="fct_invoice_lines",
                records="fct_invoice_line_records", subject="account_id", period="invoice_period",
                item="resource", what="account", doc="invoice")
_PAYOUT = dict(kind="payout", header="fct_payouts", lines="fct_payout_lines",
               records="fct_payout_line_records", subject="farmer_id", period="statement_period",
               item="component", what="farmer", doc="payout statement")


def _check_period_built(con, spec: dict, subject: str, period: str) -> Row:
    t = f"marts.{spec['header']}"
    _require_table(con, "marts", spec["header"])
    s, p = spec["subject"], spec["period"]
    header = _rows(con, f"SELECT * FROM {t} WHERE {s} = ? AND {p} = ?", [subject, period])
    if header:
        return header[0]
    if _values(con, f"SELECT count(*) FROM {t} WHERE {p} = ?", [period])[0] == 0:
        latest = _values(con, f"SELECT max({p}) FROM {t}")[0]
        raise NotReadyError(f"no {spec['doc']}s have been built for {period} yet"
                            + (f" (latest period built: {latest})" if latest else ""))
    mine = _values(con, f"SELECT DISTINCT {p} FROM {t} WHERE {s} = ? ORDER BY 1", [subject])
    raise UserError(f"{spec['what']} {subject!r} has no {spec['doc']} for {period}"
                    + (f" (its periods: {', '.join(mine)})" if mine else ""))


def events(con, *, period: str, account: str | None = None, farmer: str | None = None,
           resource: str | None = None, component: str | None = None) -> EventsResult:
    """Events: every raw record behind an invoice's (or payout statement's) lines, with its
    contribution, and per line the sums next to the line's own quantity and amount."""
    if (account is None) == (farmer is None):
        raise UserError("events: give either --account or --farmer")
    period = parse_period(period)
    if account is not None:
        if component is not None:
            raise UserError("--component applies to --farmer; use --resource with --account")
        spec, subject, item = _INVOICE, check_account(con, account), resource
        if item is not None:
            check_resource(con, item)
    else:
        if resource is not None:
            raise UserError("--resource applies to --account; use --component with --farmer")
        spec, subject, item = _PAYOUT, check_farmer(con, farmer), component
        if item is not None:
            check_component(item)
    header = _check_period_built(con, spec, subject, period)
    rec_cols = _require_table(con, "marts", spec["records"])
    line_cols = _require_table(con, "marts", spec["lines"])
    s, p, it = spec["subject"], spec["period"], spec["item"]
    rt, lt = f"marts.{spec['records']}", f"marts.{spec['lines']}"

    where, params = [f"{s} = ?", f"{p} = ?"], [subject, period]
    if item is not None:
        where.append(f"{it} = ?")
        params.append(item)
    order = [c for c in (it, "usage_period", "source_name", "collection_name", "record_id") if c in rec_cols]
    record_sql = (f"SELECT * FROM {rt} WHERE {' AND '.join(where)}"
                  + (f" ORDER BY {', '.join(order)}" if order else ""))
    records = _rows(con, record_sql, params)

    rq = _pick(rec_cols, rt, "quantity")
    ra = _pick(rec_cols, rt, "amount")
    line_type = _pick(line_cols, lt, "line_type")
    # records belong to a line by line_id when both marts carry it, else by (item, usage_period)
    by_id = "line_id" in rec_cols and "line_id" in line_cols
    rkey = "line_id AS k, " if by_id else ""
    join = "l.k = r.k" if by_id else "l.item = r.item AND l.usage_period = r.usage_period"
    lines_sql = f"""
        WITH r AS (
            SELECT {rkey}{it} AS item, usage_period, count(*) AS records,
                   sum({rq}) AS record_quantity, sum({ra}) AS record_amount
            FROM {rt} WHERE {' AND '.join(where)} GROUP BY ALL),
        l AS (
            SELECT {rkey}{it} AS item, usage_period, {line_type} AS line_type,
                   quantity AS line_quantity, amount AS line_amount
            FROM {lt} WHERE {' AND '.join(where)} AND {line_type} <> 'discount')
        SELECT coalesce(l.item, r.item) AS {it}, coalesce(l.usage_period, r.usage_period) AS usage_period,
               l.line_type, coalesce(r.records, 0) AS records,
               r.record_quantity, l.line_quantity,
               coalesce(r.record_amount, 0) AS record_amount, l.line_amount,
               coalesce(r.record_amount, 0) = coalesce(l.line_amount, 0) AND l.item IS NOT NULL AS matches
        FROM l FULL OUTER JOIN r ON {join}
        ORDER BY 1, 2, 3"""
    lines = _rows(con, lines_sql, params + params)
    return EventsResult(spec["kind"], subject, period, records, lines, header, record_sql, params)


def export_events(con, result: EventsResult, output: str | Path) -> int:
    """Write the records of ``result`` with DuckDB COPY to a .csv or .parquet file (exact
    decimals: CSV as decimal text, Parquet as DECIMAL). Returns the number of records."""
    out = Path(output)
    suffix = out.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise UserError(f"--output {str(output)!r}: expected a .csv or .parquet file name")
    if not out.parent.is_dir():
        raise UserError(f"--output {str(output)!r}: directory {out.parent} does not exist")
    options = "FORMAT csv, HEADER true" if suffix == ".csv" else "FORMAT parquet"
    target = str(out).replace("'", "''")
    try:
        con.execute(f"COPY ({result.sql}) TO '{target}' ({options})", result.params)
    except duckdb.IOException as exc:
        raise UserError(f"--output {str(output)!r}: cannot write ({str(exc).splitlines()[0]})") from None
    return len(result.records)


def current_usage(con, account: str, resource: str | None = None) -> list[Row]:
    """Current usage: period-to-date usage, included remaining, projected end-of-period amount."""
    cols = _require_table(con, "marts", "fct_current_usage")
    check_account(con, account)
    where, params = ["account_id = ?"], [account]
    if resource is not None:
        check_resource(con, resource)
        where.append("resource = ?")
        params.append(resource)
    order = [c for c in ("usage_period", "period", "resource", "context") if c in cols]
    return _rows(con, f"SELECT * FROM marts.fct_current_usage WHERE {' AND '.join(where)}"
                      + (f" ORDER BY {', '.join(order)}" if order else ""), params)


# ---- reports -------------------------------------------------------------------------------

_REPORT_HINT = "no report has been built yet; run `abacus report build --period YYYY-MM` (or `make demo`)"


def _run_ids(con) -> list[str]:
    return _values(con, "SELECT run_id FROM reports.report_runs ORDER BY run_id")


def _run(con, run_id: str) -> Row:
    rows = _rows(con, "SELECT * FROM reports.report_runs WHERE run_id = ?", [run_id])
    if not rows:
        raise UserError(f"unknown report run {run_id!r}{_suggest(run_id, _run_ids(con))}")
    return rows[0]


def report_show(con, period: str | None = None, run_id: str | None = None,
                all_runs: bool = False) -> list[Row]:
    """The recorded report runs: by default the latest run of each period (or of ``period``),
    with totals and content hashes; ``all_runs`` lists every run; ``run_id`` one run."""
    cols = _require_table(con, "reports", "report_runs", _REPORT_HINT)
    if run_id is not None:
        row = _run(con, run_id)
        if period is not None and row.get("period") != parse_period(period):
            raise UserError(f"report run {run_id!r} is for period {row.get('period')}, not {period}")
        return [row]
    where, params = "TRUE", []
    if period is not None:
        where, params = "period = ?", [parse_period(period)]
    order_time = "built_at" if "built_at" in cols else "run_id"
    if all_runs:
        sql = f"SELECT * FROM reports.report_runs WHERE {where} ORDER BY period, {order_time}, run_id"
    else:
        sql = (f"SELECT * FROM reports.report_runs WHERE {where} "
               f"QUALIFY row_number() OVER (PARTITION BY period ORDER BY {order_time} DESC, run_id DESC) = 1 "
               f"ORDER BY period")
    rows = _rows(con, sql, params)
    if not rows:
        if period is not None:
            raise NotReadyError(f"no report has been recorded for {period}")
        raise NotReadyError(_REPORT_HINT)
    return rows


def report_diff(con, run_a: str, run_b: str) -> list[Row]:
    """Line-by-line differences between two recorded runs of the same period: one row per line
    added (only in run_b), removed (only in run_a) or changed, with both amounts, the delta and
    the changed fields. Lines are keyed as in ``orchestration.reports.diff_runs``."""
    _require_table(con, "reports", "report_runs", _REPORT_HINT)
    a, b = _run(con, run_a), _run(con, run_b)
    if a.get("period") != b.get("period"):
        raise UserError(f"runs {run_a!r} ({a.get('period')}) and {run_b!r} ({b.get('period')}) are "
                        "for different periods; only runs of the same period can be diffed")
    from orchestration.reports import diff_runs  # the Dagster worker's diff: one definition of a line's key

    return [_flatten_diff(d) for d in diff_runs(con, run_a, run_b)]


# The columns of a line's key shown in a diff (the others - line_id, units, currency - follow them).
_LINE_KEY_SHOWN = ("period", "invoice_period", "statement_period", "account_id", "farmer_id", "line_type",
                   "usage_period", "resource", "component", "context", "tier")


def _flatten_diff(d: dict) -> Row:
    """A difference from ``orchestration.reports.diff_runs`` as one flat row."""
    key = dict(d.get("key") or {})
    shown = {k: v for k, v in key.items() if k in _LINE_KEY_SHOWN} or key
    va, vb = d.get("values_a") or {}, d.get("values_b") or {}
    a, b = d.get("amount_a"), d.get("amount_b")
    delta = None if a is None and b is None else (b or Decimal(0)) - (a or Decimal(0))
    changed = None
    if d.get("change") == "changed":
        changed = ",".join(c for c in sorted(set(va) | set(vb))
                           if format_value(va.get(c)) != format_value(vb.get(c))
                           or (va.get(c) is None) != (vb.get(c) is None))
    return {"kind": d.get("kind"), "change": d.get("change"),
            "line": " ".join("-" if v is None else format_value(v, k) for k, v in shown.items()),
            "amount_a": a, "amount_b": b, "amount_delta": delta, "changed_fields": changed}


def report_totals(con, run_a: str, run_b: str) -> list[Row]:
    """The recorded totals and hashes of two runs side by side (fields that differ only)."""
    a, b = _run(con, run_a), _run(con, run_b)
    out = []
    for k in a:
        if k in ("run_id",):
            continue
        out.append({"field": k, "run_a": a[k], "run_b": b.get(k), "same": a[k] == b.get(k)})
    return out


# --------------------------------------------------------------------------------------------
# Formatting: exact decimals, UTC times
# --------------------------------------------------------------------------------------------

_MONEY = {"subtotal", "discount", "total", "gross", "held", "net", "amount", "rate"}


def _is_money(name: str) -> bool:
    n = name.lower()
    return n in _MONEY or "amount" in n or n.endswith("_total")


def format_decimal(value: Decimal, money: bool = False) -> str:
    """Exact decimal text without exponent. Quantities lose their trailing zeros (``96``,
    ``0.98``); money keeps its own scale when that is at most 6 (``2.40``, ``0.019600``), else
    trailing zeros down to 2 places."""
    if not value.is_finite():
        return str(value)
    text = format(value, "f")
    if money and 2 <= -value.as_tuple().exponent <= 6:
        return text
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    if money:
        whole, _, frac = text.partition(".")
        text = f"{whole}.{frac.ljust(2, '0')}"
    return text


def format_value(value: Any, name: str = "") -> Any:
    """A value as text (None stays None)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format_decimal(value, _is_money(name))
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return value.isoformat() + "Z"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


def _json_value(value: Any, name: str) -> Any:
    if isinstance(value, (bool, int)) or value is None:
        return value
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    if isinstance(value, dict):
        return {k: _json_value(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_value(v, name) for v in value]
    return format_value(value, name)


def render(rows: list[Row], fmt: str = "table", columns: Sequence[str] | None = None) -> str:
    """Rows as an aligned text table, CSV (header + rows) or a JSON array. Decimals are exact
    (JSON carries them as strings so no reader turns them into floats)."""
    if columns is None:
        columns = list(rows[0]) if rows else []
    if fmt == "json":
        return json.dumps([{c: _json_value(r.get(c), c) for c in columns} for r in rows], indent=2) + "\n"
    cells = [[format_value(r.get(c), c) for c in columns] for r in rows]
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(columns)
        w.writerows([["" if v is None else v for v in row] for row in cells])
        return buf.getvalue()
    if fmt != "table":
        raise UserError(f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")
    if not columns:
        return "(no rows)\n"
    text = [["" if v is None else v for v in row] for row in cells]
    widths = [max([len(c)] + [len(row[i]) for row in text]) for i, c in enumerate(columns)]
    numeric = [bool(rows) and all(isinstance(r.get(c), (Decimal, int)) and not isinstance(r.get(c), bool)
                                  or r.get(c) is None for r in rows) for c in columns]
    def line(vals):
        return "  ".join(v.rjust(w) if num else v.ljust(w)
                         for v, w, num in zip(vals, widths, numeric)).rstrip()
    out = [line(columns), line(["-" * w for w in widths])] + [line(r) for r in text]
    if not rows:
        out.append("(no rows)")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------------------------
# argparse front end
# --------------------------------------------------------------------------------------------


def _common() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--warehouse", dest="ops_warehouse", metavar="PATH", default=None,
                   help="DuckDB file to read (default: the published copy, else the working file)")
    p.add_argument("--format", dest="ops_format", choices=FORMATS, default="table",
                   help="output format (default: table)")
    return p


def _open(args) -> duckdb.DuckDBPyConnection:
    return connect(getattr(args, "ops_warehouse", None) or getattr(args, "warehouse", None))


def _print(text: str, stream=None) -> None:
    (stream or sys.stdout).write(text)


# What the table format shows (the columns present, in this order); csv/json show every column.
TABLE_VIEWS = {
    "usage": ("resource", "usage_period", "period", "period_to_date_quantity", "included_quantity", "included",
              "included_remaining", "billable_quantity", "billable", "amount_to_date", "amount",
              "projected_quantity", "projected_amount", "billable_unit", "currency", "as_of"),
    "invoice_records": ("resource", "line_type", "usage_period", "source_name", "collection_name", "record_id",
                        "base_quantity", "quantity", "amount"),
    "payout_records": ("component", "line_type", "usage_period", "source_name", "collection_name", "record_id",
                       "base_quantity", "quantity", "amount"),
    "report_runs": ("period", "run_id", "status", "built_at", "as_of", "invoice_total", "payout_gross_total",
                    "payout_net_total", "invoice_lines_sha256", "payout_lines_sha256"),
}


def table_view(rows: list[Row], view: str) -> list[str] | None:
    if not rows:
        return None
    cols = [c for c in TABLE_VIEWS[view] if c in rows[0]]
    return cols or None


def render_vertical(row: Row) -> str:
    width = max(len(k) for k in row)
    out = []
    for k, v in row.items():
        text = format_value(v, k)
        out.append(f"{k.ljust(width)}  {'' if text is None else text}".rstrip())
    return "\n".join(out) + "\n"


def cmd_resources(args) -> int:
    con = _open(args)
    try:
        _print(render(list_resources(con), args.ops_format))
    finally:
        con.close()
    return 0


def cmd_chart(args) -> int:
    con = _open(args)
    try:
        rows = chart(con, args.resource, args.start, args.end, account=args.account,
                     context_prefix=args.context_prefix, granularity=args.granularity,
                     raw_prefix=args.raw_prefix)
        aggregation = resource_aggregation(con, args.resource)
    finally:
        con.close()
    _print(render(rows, args.ops_format))
    if args.ops_format == "table" and rows:
        if aggregation == "peak":
            _print(f"{args.resource} is a peak gauge: each {args.granularity}'s value is that "
                   f"{args.granularity}'s peak; they do not add up\n")
        else:
            total = sum((r["quantity"] for r in rows), Decimal(0))
            _print(f"total {format_decimal(total)} {rows[0].get('unit') or ''}".rstrip() + "\n")
    return 0


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _events_summary(res: EventsResult) -> str:
    label = "resource" if res.kind == "invoice" else "component"
    out = []
    for ln in res.lines:
        status = "OK" if ln["matches"] else "MISMATCH"
        out.append(f"{ln[label]} {ln['usage_period']} {ln['line_type'] or '(no line)'}: "
                   f"{_n(ln['records'], 'record')}, sum {format_decimal(ln['record_amount'], True)}, "
                   f"line amount {format_decimal(ln['line_amount'] or Decimal(0), True) if ln['line_amount'] is not None else '-'}"
                   f" {status}")
    head = res.header or {}
    totals = ""
    if res.kind == "invoice" and "total" in head:
        totals = (f"; invoice subtotal {format_value(head.get('subtotal'), 'subtotal')}, "
                  f"discount {format_value(head.get('discount'), 'discount')}, "
                  f"total {format_value(head.get('total'), 'total')}")
    elif res.kind == "payout" and "gross" in head:
        totals = (f"; statement gross {format_value(head.get('gross'), 'gross')}, "
                  f"held {format_value(head.get('held'), 'held')}, net {format_value(head.get('net'), 'net')}")
    out.append(f"{res.kind} {res.subject} {res.period}: {_n(len(res.records), 'record')}, "
               f"sum of contributions {format_decimal(res.record_amount, True)} = "
               f"sum of line amounts {format_decimal(res.line_amount, True)}"
               f"{'' if res.matches else ' MISMATCH'}{totals}")
    return "\n".join(out) + "\n"


def cmd_events(args) -> int:
    con = _open(args)
    try:
        res = events(con, period=args.period, account=args.account, farmer=args.farmer,
                     resource=args.resource, component=args.component)
        if args.output:
            n = export_events(con, res, args.output)
            _print(f"wrote {_n(n, 'record')} to {args.output}\n")
            _print(_events_summary(res))
        elif args.ops_format == "table":
            _print(render(res.records, "table", table_view(res.records, f"{res.kind}_records")))
            _print(_events_summary(res))
        else:
            _print(render(res.records, args.ops_format))
            _print(_events_summary(res), sys.stderr)
    finally:
        con.close()
    if not res.matches:
        _print(f"error: the records do not add up to the lines of this {res.kind}\n", sys.stderr)
        return 1
    return 0


def cmd_usage(args) -> int:
    con = _open(args)
    try:
        rows = current_usage(con, args.account, args.resource)
    finally:
        con.close()
    if not rows and args.ops_format == "table":
        _print(f"no usage recorded for {args.account} in the current period\n")
        return 0
    _print(render(rows, args.ops_format, table_view(rows, "usage") if args.ops_format == "table" else None))
    return 0


def cmd_report_show(args) -> int:
    con = _open(args)
    try:
        rows = report_show(con, args.period, args.run, args.all)
    finally:
        con.close()
    if args.ops_format == "table" and args.run:
        _print(render_vertical(rows[0]))
    else:
        _print(render(rows, args.ops_format, table_view(rows, "report_runs") if args.ops_format == "table" else None))
    return 0


def cmd_report_diff(args) -> int:
    con = _open(args)
    try:
        rows = report_diff(con, args.run_a, args.run_b)
        totals = [r for r in report_totals(con, args.run_a, args.run_b) if not r["same"]]
    finally:
        con.close()
    _print(render(rows, args.ops_format))
    if args.ops_format == "table":
        if not rows:
            _print(f"runs {args.run_a} and {args.run_b} have the same lines\n")
        for t in totals:
            if t["field"] not in ("built_at",):
                _print(f"{t['field']}: {format_value(t['run_a'], t['field'])} -> "
                       f"{format_value(t['run_b'], t['field'])}\n")
    return 0


def register(subparsers) -> None:
    """Add resources, chart, events, usage and (unless already defined) report subcommands."""
    common = _common()
    existing = getattr(subparsers, "choices", {}) or {}

    p = subparsers.add_parser("resources", parents=[common], help="the resources catalog",
                              description="Which resources each source provides: kind, units, aggregation.")
    p.set_defaults(func=cmd_resources)

    p = subparsers.add_parser(
        "chart", parents=[common], help="usage per context per day or hour",
        description="Usage of RESOURCE per account and context per day (or hour), in billable units. "
                    "Buckets overlapping [--from, --to) are shown; a date-only --to includes that day. "
                    "--context-prefix matches whole path segments (acme/research matches "
                    "acme/research and acme/research/alice, not acme/research2); --raw-prefix "
                    "matches as a plain string prefix.")
    p.add_argument("resource")
    p.add_argument("--from", dest="start", required=True, metavar="ISO")
    p.add_argument("--to", dest="end", required=True, metavar="ISO")
    p.add_argument("--account", default=None)
    p.add_argument("--context-prefix", default=None, metavar="PATH")
    p.add_argument("--raw-prefix", action="store_true", help="match --context-prefix as a plain string prefix")
    p.add_argument("--granularity", choices=("day", "hour"), default="day")
    p.set_defaults(func=cmd_chart)

    p = subparsers.add_parser(
        "events", parents=[common], help="the raw records behind an invoice or payout",
        description="Every raw record behind the lines of an invoice (--account) or payout statement "
                    "(--farmer) with its contribution; the sums are shown next to the line amounts.")
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--account", default=None)
    who.add_argument("--farmer", default=None)
    p.add_argument("--period", required=True, metavar="YYYY-MM")
    p.add_argument("--resource", default=None, help="only this resource (with --account)")
    p.add_argument("--component", default=None, help="only storage|download|upload (with --farmer)")
    p.add_argument("--output", default=None, metavar="FILE.csv|FILE.parquet",
                   help="write the records to a CSV or Parquet file (exact decimals)")
    p.set_defaults(func=cmd_events)

    p = subparsers.add_parser("usage", parents=[common], help="current usage, included remaining, projection",
                              description="Period-to-date usage of an account, included quantity "
                                          "remaining and the projected end-of-period amount.")
    p.add_argument("--account", required=True)
    p.add_argument("--resource", default=None)
    p.set_defaults(func=cmd_usage)

    if "report" not in existing:
        p = subparsers.add_parser("report", help="recorded report runs")
        sub = p.add_subparsers(dest="report_command", metavar="{show,diff}")
        sub.required = True
        add_report_subcommands(sub, common)


def add_report_subcommands(sub, common: argparse.ArgumentParser | None = None) -> None:
    """``report show`` / ``report diff`` (for an entry point that owns the ``report`` parser)."""
    common = common or _common()
    s = sub.add_parser("show", parents=[common], help="the latest recorded run of each period",
                       description="Recorded report runs with totals and content hashes: the latest "
                                   "run per period, --all for every run, --run for one run.")
    s.add_argument("--period", default=None, metavar="YYYY-MM")
    s.add_argument("--run", default=None, metavar="RUN_ID")
    s.add_argument("--all", action="store_true", help="every run, not only the latest per period")
    s.set_defaults(func=cmd_report_show)
    d = sub.add_parser("diff", parents=[common], help="line-by-line differences of two runs",
                       description="Invoice and payout lines added, removed or changed between two "
                                   "recorded runs of the same period.")
    d.add_argument("run_a", metavar="RUN_A")
    d.add_argument("run_b", metavar="RUN_B")
    d.set_defaults(func=cmd_report_diff)


def run(args) -> int:
    """Call the handler chosen by argparse, mapping errors to exit codes (2 user, 3 not ready)."""
    try:
        return int(args.func(args) or 0)
    except (UserError, NotReadyError) as exc:
        _print(f"error: {exc}\n", sys.stderr)
        return exc.exit_code


def main_ops(argv: Sequence[str] | None = None) -> int:
    """Stand-alone front end with only these subcommands (``python -m orchestration.cli_ops``)."""
    parser = argparse.ArgumentParser(prog="abacus")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    register(subparsers)
    try:
        args = parser.parse_args(list(argv) if argv is not None else None)
    except SystemExit as exc:  # argparse: usage errors exit 2, --help exits 0
        return int(exc.code or 0)
    return run(args)


if __name__ == "__main__":
    sys.exit(main_ops())
