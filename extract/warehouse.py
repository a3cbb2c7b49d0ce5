"""The DuckDB warehouse file and its single-writer lock.

DuckDB allows one writing process per database file. Every writer (extraction, dbt runs started
by Dagster, publishing) therefore opens the file through :func:`warehouse_writer`, which first
takes an exclusive ``fcntl.flock`` on ``<path>.lock`` (waiting up to a timeout) so concurrent
writers queue instead of failing with DuckDB's "could not set lock" error.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import time
from pathlib import Path
from typing import Iterator

import duckdb

from extract.schemas import raw_table_ddl

DEFAULT_LOCK_TIMEOUT_S = 600.0
_POLL_S = 0.05


class WarehouseLockTimeout(TimeoutError):
    """Another process held the warehouse writer lock for longer than the timeout."""


def lock_path(path: str | os.PathLike) -> Path:
    p = Path(path)
    return p.with_name(p.name + ".lock")


@contextlib.contextmanager
def warehouse_lock(path: str | os.PathLike, timeout: float = DEFAULT_LOCK_TIMEOUT_S) -> Iterator[None]:
    """Hold the exclusive inter-process writer lock of the warehouse at ``path``."""
    lp = lock_path(path)
    lp.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lp, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = _read_holder(fd)
                    raise WarehouseLockTimeout(
                        f"warehouse {Path(path)} is locked by another writer{holder} "
                        f"(waited {timeout:g}s for {lp})"
                    ) from None
                time.sleep(_POLL_S)
        # Record who holds it, for the timeout message of the next writer.
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _read_holder(fd: int) -> str:
    try:
        pid = os.pread(fd, 32, 0).decode().strip()
    except OSError:
        return ""
    return f" (pid {pid})" if pid else ""


@contextlib.contextmanager
def warehouse_writer(path: str | os.PathLike,
                     timeout: float = DEFAULT_LOCK_TIMEOUT_S) -> Iterator[duckdb.DuckDBPyConnection]:
    """Take the writer lock, then yield a read-write DuckDB connection to ``path``."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    with warehouse_lock(p, timeout):
        con = duckdb.connect(str(p))
        try:
            con.execute("SET TimeZone = 'UTC'")
            yield con
        finally:
            con.close()


def ensure_raw_schema(con: duckdb.DuckDBPyConnection, cfg) -> None:
    """Create schema ``raw``, every configured raw table and the extraction bookkeeping."""
    from extract.state import ensure_state_tables

    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    for source, collection in cfg.collections():
        con.execute(raw_table_ddl(source.name, collection))
    ensure_state_tables(con)
