"""Helpers for tests that run dbt against a scratch DuckDB warehouse.

``run_dbt(args, warehouse, vars=None, target_dir=None)``  run dbt in-process (dbtRunner) on the
    repository's project with ``warehouse`` as the DuckDB file; returns the dbtRunnerResult.
``create_raw_tables(con, config=None)``  create every configured ``raw.<source>__<collection>``.
``snapshot_connection(warehouse)``  read-only connection to a copy of the warehouse (dbt-duckdb
    keeps the file open in-process after a run).
``insert_raw(con, source, collection, rows)``  insert raw rows (dicts of VARCHAR field values),
    filling the meta columns with defaults (``_knowledge_at`` from the collection's cursor field).
"""
from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

import duckdb

from extract.schemas import COLLECTIONS, META_COLUMNS, raw_columns, raw_table_ddl, raw_table_name

REPO_ROOT = Path(__file__).resolve().parent.parent
PROFILES_DIR = REPO_ROOT / "dbt_project"

DEFAULT_SOURCES: dict[str, tuple[str, ...]] = {
    "storage_network": ("contracts", "transfer_reports", "audits", "farmers", "renters"),
    "compute": ("usage_events", "accounts"),
    "storage": ("usage_samples", "accounts"),
}


def run_dbt(args: list[str], warehouse: Path, vars: dict[str, Any] | None = None,
            target_dir: Path | None = None):
    """Run ``dbt <args>`` in-process against ``warehouse``; returns a dbtRunnerResult."""
    from dbt.cli.main import dbtRunner

    warehouse = Path(warehouse)
    target_dir = Path(target_dir) if target_dir else warehouse.parent / "dbt_target"
    env = {
        "ABACUS_WAREHOUSE": str(warehouse),
        "DBT_TARGET_PATH": str(target_dir),
        "DBT_LOG_PATH": str(target_dir / "logs"),
        "DBT_PROFILES_DIR": str(PROFILES_DIR),
    }
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    full = list(args) + ["--project-dir", str(REPO_ROOT), "--profiles-dir", str(PROFILES_DIR),
                         "--target-path", str(target_dir)]
    if vars:
        full += ["--vars", json.dumps(vars, default=str)]
    try:
        return dbtRunner().invoke(full)
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def snapshot_connection(warehouse: Path, dest: Path | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only connection to a copy of ``warehouse`` (with its WAL).

    dbt-duckdb keeps its own DuckDB instance open in-process after ``run_dbt``, and DuckDB refuses
    a second connection to the same file with a different configuration; a copy sidesteps that.
    """
    import shutil

    warehouse = Path(warehouse)
    dest = Path(dest) if dest else warehouse.with_name(warehouse.stem + "_snapshot.duckdb")
    for suffix in ("", ".wal"):
        src = Path(str(warehouse) + suffix)
        target = Path(str(dest) + suffix)
        if target.exists():
            target.unlink()
        if src.exists():
            shutil.copyfile(src, target)
    return duckdb.connect(str(dest), read_only=True)


def _sources(config: Any = None) -> Iterable[tuple[str, str]]:
    if config is not None:
        return [(s.name, c) for s, c in config.collections()]
    return [(s, c) for s, cols in DEFAULT_SOURCES.items() for c in cols]


def create_raw_tables(con: duckdb.DuckDBPyConnection, config: Any = None) -> None:
    """Create schema ``raw`` and every configured raw table (default: the repo's sources)."""
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    for source, collection in _sources(config):
        con.execute(raw_table_ddl(source, collection))


def _parse_knowledge(text: Any) -> datetime | None:
    if text is None:
        return None
    try:
        ts = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    if ts.tzinfo is not None:
        ts = ts.astimezone(timezone.utc).replace(tzinfo=None)
    return ts


def insert_raw(con: duckdb.DuckDBPyConnection, source: str, collection: str,
               rows: list[dict[str, Any]]) -> None:
    """Insert rows into ``raw.<source>__<collection>``.

    Field values are stored as text (``str(v)``; None stays NULL). Meta defaults:
    ``_knowledge_at`` = the cursor field parsed as UTC (None if absent/unparseable),
    ``_misfit_fields`` = [], ``_raw_document`` NULL, ``_source``/``_collection`` from the
    arguments, ``_batch_id`` 'test-batch', ``_extracted_at`` 2030-01-01. Any meta column given
    in a row wins.
    """
    spec = COLLECTIONS[collection]
    cols = [c for c, _ in raw_columns(spec)]
    meta = {c for c, _ in META_COLUMNS}
    table = f'raw."{raw_table_name(source, collection)}"'
    for row in rows:
        unknown = set(row) - set(cols)
        if unknown:
            raise ValueError(f"{table}: unknown columns {sorted(unknown)}")
        values: list[Any] = []
        for c in cols:
            if c in row:
                v = row[c]
                values.append(v if c in meta or v is None else str(v))
            elif c == "_knowledge_at":
                values.append(_parse_knowledge(row.get(spec.cursor)))
            elif c == "_misfit_fields":
                values.append([])
            elif c == "_source":
                values.append(source)
            elif c == "_collection":
                values.append(collection)
            elif c == "_batch_id":
                values.append("test-batch")
            elif c == "_extracted_at":
                values.append(datetime(2030, 1, 1))
            else:
                values.append(None)
        placeholders = ", ".join("?" for _ in cols)
        collist = ", ".join(f'"{c}"' for c in cols)
        con.execute(f"INSERT INTO {table} ({collist}) VALUES ({placeholders})", values)
