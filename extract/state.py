"""Extraction bookkeeping: ``raw._extract_runs`` and the watermark view ``raw._extract_watermarks``.

One row per collection per run (a window ``[window_start, window_end)``), status ``success`` or
``failed``. A collection's watermark is the end of the contiguous run of successful windows that
begins at the earliest successful window start (gaps and islands): parallel or out-of-order
backfill windows combine, a gap stops the watermark, a failed window never advances it.
All timestamps are naive TIMESTAMP meaning UTC; the Python helpers return aware UTC datetimes.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

RUNS_TABLE = "raw._extract_runs"
WATERMARKS_VIEW = "raw._extract_watermarks"

_RUNS_DDL = f"""
CREATE TABLE IF NOT EXISTS {RUNS_TABLE} (
    batch_id VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    collection VARCHAR NOT NULL,
    window_start TIMESTAMP NOT NULL,
    window_end TIMESTAMP NOT NULL,
    status VARCHAR NOT NULL CHECK (status IN ('success', 'failed')),
    error VARCHAR,
    rows_read BIGINT,
    rows_inserted BIGINT,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP NOT NULL
)
"""

# Islands of successful windows per collection: a window opens a new island when it starts after
# every earlier (by start) window has ended. The watermark is the end of the first island.
_WATERMARKS_DDL = f"""
CREATE OR REPLACE VIEW {WATERMARKS_VIEW} AS
WITH successful AS (
    SELECT DISTINCT source, collection, window_start, window_end
    FROM {RUNS_TABLE} WHERE status = 'success'
), ordered AS (
    SELECT *, max(window_end) OVER (
        PARTITION BY source, collection ORDER BY window_start, window_end
        ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS reached_before
    FROM successful
), islands AS (
    SELECT *, sum(CASE WHEN reached_before IS NULL OR window_start > reached_before THEN 1 ELSE 0 END)
        OVER (PARTITION BY source, collection ORDER BY window_start, window_end
              ROWS UNBOUNDED PRECEDING) AS island
    FROM ordered
), marks AS (
    SELECT source, collection, max(window_end) AS watermark
    FROM islands WHERE island = 1 GROUP BY source, collection
), latest AS (
    SELECT source, collection,
        arg_max(status, (finished_at, started_at)) AS last_status,
        arg_max(error, (finished_at, started_at)) AS last_error,
        max(finished_at) FILTER (WHERE status = 'success') AS last_success_at
    FROM {RUNS_TABLE} GROUP BY source, collection
)
SELECT latest.source, latest.collection, marks.watermark,
       latest.last_status, latest.last_error, latest.last_success_at
FROM latest LEFT JOIN marks USING (source, collection)
"""


def ensure_state_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    con.execute(_RUNS_DDL)
    con.execute(_WATERMARKS_DDL)


def utc_naive(value: dt.datetime) -> dt.datetime:
    """An aware datetime converted to naive UTC; a naive one is taken to be UTC already."""
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value


def utc_aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return utc_naive(value).replace(tzinfo=dt.timezone.utc)


def record_run(con: duckdb.DuckDBPyConnection, *, batch_id: str, source: str, collection: str,
               window_start: dt.datetime, window_end: dt.datetime, status: str,
               error: str | None, rows_read: int | None, rows_inserted: int | None,
               started_at: dt.datetime, finished_at: dt.datetime) -> None:
    """Append one run row (the caller owns the transaction; ``error`` must already be masked)."""
    con.execute(
        f"INSERT INTO {RUNS_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [batch_id, source, collection, utc_naive(window_start), utc_naive(window_end), status,
         error, rows_read, rows_inserted, utc_naive(started_at), utc_naive(finished_at)],
    )


def _has_state(con: duckdb.DuckDBPyConnection) -> bool:
    row = con.execute(
        "SELECT count(*) FROM information_schema.tables "
        "WHERE table_schema = 'raw' AND table_name = '_extract_watermarks'"
    ).fetchone()
    return bool(row and row[0])


def watermarks(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], dt.datetime | None]:
    """(source, collection) -> watermark (aware UTC), None when no window has succeeded."""
    if not _has_state(con):
        return {}
    rows = con.execute(f"SELECT source, collection, watermark FROM {WATERMARKS_VIEW}").fetchall()
    return {(s, c): utc_aware(w) for s, c, w in rows}


@dataclass(frozen=True)
class CollectionStatus:
    source: str
    collection: str
    watermark: dt.datetime | None
    last_status: str | None  # None: never extracted
    last_error: str | None
    last_success_at: dt.datetime | None


@dataclass(frozen=True)
class SourceStatus:
    """What the report gate needs about one configured source."""
    source: str
    watermark: dt.datetime | None  # min over its collections; None if any has never succeeded
    failed: bool  # the last run of at least one of its collections failed
    collections: tuple[CollectionStatus, ...]

    @property
    def errors(self) -> list[str]:
        return [f"{c.collection}: {c.last_error}" for c in self.collections
                if c.last_status == "failed"]

    def extracted_past(self, instant: dt.datetime) -> bool:
        return self.watermark is not None and self.watermark >= utc_aware(instant)


def collection_status(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], CollectionStatus]:
    if not _has_state(con):
        return {}
    rows = con.execute(
        f"SELECT source, collection, watermark, last_status, last_error, last_success_at "
        f"FROM {WATERMARKS_VIEW}"
    ).fetchall()
    return {(s, c): CollectionStatus(s, c, utc_aware(w), st, err, utc_aware(ok))
            for s, c, w, st, err, ok in rows}


def source_status(con: duckdb.DuckDBPyConnection, cfg) -> dict[str, SourceStatus]:
    """Per configured source: min watermark over its configured collections and failure flag."""
    known = collection_status(con)
    out: dict[str, SourceStatus] = {}
    for source in cfg.sources:
        cols = tuple(known.get((source.name, c)) or CollectionStatus(source.name, c, None, None, None, None)
                     for c in source.collections)
        marks = [c.watermark for c in cols]
        wm = None if any(m is None for m in marks) else min(marks)
        out[source.name] = SourceStatus(source.name, wm, any(c.last_status == "failed" for c in cols), cols)
    return out
