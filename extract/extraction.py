"""Extract configured MongoDB collections into the DuckDB ``raw`` schema.

One call extracts one window ``[start, end)`` of one collection, in three steps:

1. **Read (no warehouse lock held).** An aggregation ``$match``es the (indexed) cursor field in
   the window and ``$project``s every declared field rendered server-side as text, the knowledge
   time, and the list of misfit fields. Raw BSON batches (``aggregate_raw_batches``) are decoded
   to Arrow by pymongoarrow with an explicit schema and streamed to a temporary Parquet file, so
   memory stays bounded by one batch whatever the collection size. Documents whose cursor field
   is missing or not a date cannot be windowed: every run also sweeps them the same way.
2. **Slow path, few documents.** Documents with misfit fields are re-fetched by ``_id`` and kept
   as canonical Extended JSON in ``_raw_document``.
3. **Write (under the warehouse writer lock, one transaction).** The staged rows are appended to
   ``raw.<source>__<collection>`` unless the same ``(_id, _knowledge_at)`` (or, without a
   knowledge time, the same ``_raw_document``) is already there, and a ``success`` run row is
   recorded. Any failure records a ``failed`` run row instead and leaves raw untouched.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import re
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable
from urllib.parse import urlsplit

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from bson import ObjectId
from bson.json_util import CANONICAL_JSON_OPTIONS, dumps
from pymongo import MongoClient
from pymongoarrow.context import PyMongoArrowContext
from pymongoarrow.schema import Schema

from extract.config import Config, SourceConfig, mask_uri, redact
from extract.schemas import ALLOWED_BSON_TYPES, COLLECTIONS, CollectionSpec, raw_columns, raw_table_name
from extract.state import record_run, utc_aware, utc_naive, watermarks
from extract.warehouse import ensure_raw_schema, warehouse_writer

log = logging.getLogger("abacus.extract")

EPOCH = dt.datetime(1970, 1, 1)
_REFETCH_CHUNK = 1000
# BSON types $toString renders as text (numbers exactly, dates as ISO-8601 with ms and Z).
_RENDERABLE = ("string", "int", "long", "double", "decimal", "date", "bool", "objectId")


class ExtractionError(RuntimeError):
    """An extraction failed; the message names the source and collection (URIs masked)."""

    def __init__(self, message: str, *, failures: list[tuple[str, str, str]] | None = None,
                 results: list["ExtractResult"] | None = None):
        super().__init__(message)
        self.failures = failures or []
        self.results = results or []


@dataclass(frozen=True)
class ExtractResult:
    source: str
    collection: str
    window_start: dt.datetime  # aware UTC
    window_end: dt.datetime
    rows_read: int
    rows_inserted: int
    batch_id: str
    rows_misfit: int = 0  # rows read that carry misfit fields (and so a _raw_document)
    rows_unwindowed: int = 0  # rows read by the sweep for documents without a date cursor


# ---------------------------------------------------------------- pipeline and Arrow schema

def _allowed_types(f) -> list[str]:
    allowed = list(ALLOWED_BSON_TYPES[f.kind])
    if not f.required:
        allowed += ["missing", "null"]
    return allowed


def projection(spec: CollectionSpec) -> dict:
    """The ``$project`` stage: text-rendered fields, knowledge time, misfit field names."""
    proj: dict = {"_id": {"$toString": "$_id"}}
    for f in spec.fields:
        # Only scalar types $toString renders; anything else (object, array, binary...) becomes
        # NULL instead of failing the whole query: it is a misfit, kept in _raw_document.
        proj[f.name] = {"$cond": [{"$in": [{"$type": f"${f.name}"}, list(_RENDERABLE)]},
                                  {"$toString": f"${f.name}"}, None]}
    cursor = f"${spec.cursor}"
    proj["_knowledge_at"] = {"$cond": [{"$eq": [{"$type": cursor}, "date"]}, cursor, None]}
    proj["_misfit_fields"] = {"$filter": {
        "input": [{"$cond": [{"$in": [{"$type": f"${f.name}"}, _allowed_types(f)]}, None, f.name]}
                  for f in spec.fields],
        "cond": {"$ne": ["$$this", None]},
    }}
    return {"$project": proj}


def window_match(spec: CollectionSpec, start: dt.datetime, end: dt.datetime) -> dict:
    return {spec.cursor: {"$gte": utc_naive(start), "$lt": utc_naive(end)}}


def unwindowed_match(spec: CollectionSpec) -> dict:
    return {spec.cursor: {"$not": {"$type": "date"}}}


def arrow_schema(spec: CollectionSpec) -> Schema:
    types: dict = {"_id": pa.string()}
    for f in spec.fields:
        types[f.name] = pa.string()
    types["_knowledge_at"] = pa.timestamp("ms")
    types["_misfit_fields"] = pa.list_(pa.string())
    return Schema(types)


# ---------------------------------------------------------------- reading (no lock held)

@dataclass
class _Staged:
    path: Path
    rows: int = 0
    unwindowed: int = 0
    misfits: list[tuple[str, dt.datetime | None]] = field(default_factory=list)


def _stage_query(coll, spec: CollectionSpec, match: dict, schema: Schema, writer: pq.ParquetWriter,
                 staged: _Staged, batch_size: int) -> int:
    arrow = schema.to_arrow()
    n = 0
    pipeline = [{"$match": match}, projection(spec)]
    for raw_batch in coll.aggregate_raw_batches(pipeline, batchSize=batch_size):
        ctx = PyMongoArrowContext(schema)
        ctx.process_bson_stream(raw_batch)
        table = ctx.finish()
        if table.num_rows == 0:
            continue
        writer.write_table(table.cast(arrow))
        n += table.num_rows
        misfit = pc.greater(pc.list_value_length(table.column("_misfit_fields")), 0)
        if pc.any(misfit).as_py():
            rows = table.filter(misfit).select(["_id", "_knowledge_at"]).to_pylist()
            staged.misfits.extend((r["_id"], r["_knowledge_at"]) for r in rows)
    return n


def _id_candidates(text: str) -> list:
    out: list = [text]
    if ObjectId.is_valid(text):
        out.append(ObjectId(text))
    if re.fullmatch(r"-?\d{1,18}", text):
        out.append(int(text))
    return out


def _render_id(value) -> str:
    return str(value)


def _refetch_misfits(coll, spec: CollectionSpec, misfits: list[tuple[str, dt.datetime | None]]) -> pa.Table:
    """Canonical Extended JSON of each misfit document, keyed by (_id text, knowledge time)."""
    wanted = {(i, k) for i, k in misfits}
    found: dict[tuple[str, dt.datetime | None], str] = {}

    def take(docs: Iterable[dict]) -> None:
        for doc in docs:
            cur = doc.get(spec.cursor)
            key = (_render_id(doc["_id"]), utc_naive(cur) if isinstance(cur, dt.datetime) else None)
            if key in wanted:
                found[key] = dumps(doc, json_options=CANONICAL_JSON_OPTIONS)

    ids = sorted({i for i, _ in misfits})
    for k in range(0, len(ids), _REFETCH_CHUNK):
        chunk = ids[k:k + _REFETCH_CHUNK]
        take(coll.find({"_id": {"$in": [c for i in chunk for c in _id_candidates(i)]}}))
    missing_ids = sorted({i for i, ka in wanted if (i, ka) not in found})
    for k in range(0, len(missing_ids), _REFETCH_CHUNK):
        # _id of another BSON type: match on its rendered text (a scan, but only for oddities).
        chunk = missing_ids[k:k + _REFETCH_CHUNK]
        take(coll.find({"$expr": {"$in": [{"$toString": "$_id"}, chunk]}}))
    lost = len(wanted) - len(found)
    if lost:
        # The document changed or vanished between the two reads: its row is still loaded (with
        # the rendered fields and misfit list); the new version is picked up by a later window.
        log.warning("%s: %d misfit document(s) changed before their raw copy was read; "
                    "kept without _raw_document", spec.name, lost)
    keys = list(found)
    return pa.table({
        "_id": pa.array([k[0] for k in keys], pa.string()),
        "_knowledge_at": pa.array([k[1] for k in keys], pa.timestamp("ms")),
        "raw_document": pa.array([found[k] for k in keys], pa.string()),
    })


def _warn_if_unindexed(db, spec: CollectionSpec, where: str) -> None:
    if spec.name not in db.list_collection_names():
        log.warning("%s: collection does not exist on the source; nothing to extract", where)
        return
    for info in db[spec.name].index_information().values():
        keys = info.get("key") or []
        if keys and keys[0][0] == spec.cursor:
            return
    log.warning("%s: no index starts with cursor field %r; window queries scan the collection",
                where, spec.cursor)


def _scrub(text: str, uri: str | None, cfg: Config) -> str:
    if uri:
        text = text.replace(uri, mask_uri(uri))
        try:
            parts = urlsplit(uri)
            for secret in (parts.password, parts.username):
                if secret:
                    text = text.replace(secret, "***")
        except ValueError:
            pass
    return redact(text, cfg.sources)


# ---------------------------------------------------------------- public API

def _resolve_window(cfg: Config, source: str, collection: str, window, now: dt.datetime,
                    warehouse) -> tuple[dt.datetime, dt.datetime]:
    if window is not None:
        start, end = (utc_naive(w) for w in window)
    else:
        if isinstance(warehouse, duckdb.DuckDBPyConnection):
            ensure_raw_schema(warehouse, cfg)
            marks = watermarks(warehouse)
        else:
            with warehouse_writer(warehouse) as con:
                ensure_raw_schema(con, cfg)
                marks = watermarks(con)
        wm = marks.get((source, collection))
        start = EPOCH if wm is None else max(EPOCH, utc_naive(wm) - dt.timedelta(hours=cfg.lookback_hours))
        end = utc_naive(now)
    if not start < end:
        raise ExtractionError(f"{source}.{collection}: empty window [{start.isoformat()}, {end.isoformat()})")
    return start, end


def extract_collection(cfg: Config, source: str | SourceConfig, collection: str, *,
                       window: tuple[dt.datetime, dt.datetime] | None = None,
                       warehouse: str | os.PathLike | duckdb.DuckDBPyConnection | None = None,
                       batch_id: str | None = None, now: dt.datetime | None = None,
                       staging_dir: str | os.PathLike | None = None) -> ExtractResult:
    """Extract one window of one collection (plain run when ``window`` is None).

    ``warehouse`` is a path (default ``cfg.warehouse_path``; the writer lock is taken) or a
    connection the caller already holds the writer lock for.
    """
    src = source if isinstance(source, SourceConfig) else cfg.source(source)
    if collection not in src.collections:
        raise ExtractionError(f"{src.name}.{collection}: not a configured collection of source {src.name}")
    spec = COLLECTIONS[collection]
    where = f"{src.name}.{collection}"
    warehouse = cfg.warehouse_path if warehouse is None else warehouse
    started = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    now = started if now is None else utc_naive(now)
    batch_id = batch_id or uuid.uuid4().hex
    start, end = _resolve_window(cfg, src.name, collection, window, now, warehouse)
    schema = arrow_schema(spec)

    uri = None
    with tempfile.TemporaryDirectory(prefix="abacus-extract-", dir=staging_dir) as tmp:
        staged = _Staged(Path(tmp) / "rows.parquet")
        try:
            uri = src.uri()
            timeout = cfg.server_selection_timeout_ms
            with MongoClient(uri, serverSelectionTimeoutMS=timeout, connectTimeoutMS=timeout,
                             appname="abacus-extract") as client:
                db = client[src.database]
                _warn_if_unindexed(db, spec, where)
                coll = db[collection]
                with pq.ParquetWriter(staged.path, schema.to_arrow()) as writer:
                    staged.rows = _stage_query(coll, spec, window_match(spec, start, end), schema,
                                               writer, staged, cfg.batch_size)
                    staged.unwindowed = _stage_query(coll, spec, unwindowed_match(spec), schema,
                                                     writer, staged, cfg.batch_size)
                    staged.rows += staged.unwindowed
                raw_docs = _refetch_misfits(coll, spec, staged.misfits)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a recorded failed run
            _fail(cfg, warehouse, where, src.name, collection, start, end, batch_id, started, exc, uri)

        try:
            inserted = land_staged(cfg, src.name, collection, staged.path, raw_docs,
                                   warehouse=warehouse, rows_read=staged.rows, batch_id=batch_id,
                                   now=now, window=(start, end), started=started)
        except Exception as exc:  # noqa: BLE001
            _fail(cfg, warehouse, where, src.name, collection, start, end, batch_id, started, exc, uri)

    result = ExtractResult(src.name, collection, utc_aware(start), utc_aware(end), staged.rows, inserted,
                           batch_id, len(staged.misfits), staged.unwindowed)
    log.info("%s [%s, %s): read %d, inserted %d (misfit %d, without date cursor %d)", where,
             start.isoformat(), end.isoformat(), result.rows_read, result.rows_inserted,
             result.rows_misfit, result.rows_unwindowed)
    return result


def land_staged(cfg: Config, source: str, collection: str, rows_parquet: str | os.PathLike,
                raw_docs: pa.Table, *, warehouse: str | os.PathLike | duckdb.DuckDBPyConnection,
                rows_read: int, batch_id: str, now: dt.datetime,
                window: tuple[dt.datetime, dt.datetime], started: dt.datetime) -> int:
    """Step 3 of an extraction: append one staged read (``rows_parquet`` in :func:`arrow_schema`'s
    layout, ``raw_docs`` = the misfits' canonical documents) to raw in one transaction under the
    writer lock, and record the run. Returns the rows inserted (re-read rows are skipped)."""
    spec = COLLECTIONS[collection]
    start, end = window
    if isinstance(warehouse, duckdb.DuckDBPyConnection):
        return _load(warehouse, cfg, source, spec, Path(rows_parquet), rows_read, raw_docs, batch_id,
                     now, start, end, started)
    with warehouse_writer(warehouse) as con:
        con.execute(f"SET memory_limit = '{cfg.duckdb_memory_limit}'")
        return _load(con, cfg, source, spec, Path(rows_parquet), rows_read, raw_docs, batch_id,
                     now, start, end, started)


def _load(con: duckdb.DuckDBPyConnection, cfg: Config, source: str, spec: CollectionSpec,
          rows_parquet: Path, rows_read: int, raw_docs: pa.Table, batch_id: str, now: dt.datetime,
          start: dt.datetime, end: dt.datetime, started: dt.datetime) -> int:
    ensure_raw_schema(con, cfg)
    table = f'raw."{raw_table_name(source, spec.name)}"'
    cols = [c for c, _ in raw_columns(spec)]
    data_cols = ["_id", *spec.field_names, "_knowledge_at", "_misfit_fields"]
    select = ", ".join(f's."{c}"' for c in data_cols)
    view = f"_misfit_docs_{uuid.uuid4().hex}"
    con.register(view, raw_docs)
    try:
        con.execute("BEGIN TRANSACTION")
        try:
            inserted = con.execute(
                f"""
                INSERT INTO {table} ({", ".join(f'"{c}"' for c in cols)})
                SELECT {select}, d.raw_document, ?, ?, ?, ?
                FROM read_parquet(?) AS s
                LEFT JOIN {view} AS d
                  ON d._id = s._id AND d._knowledge_at IS NOT DISTINCT FROM s._knowledge_at
                WHERE NOT EXISTS (
                    SELECT 1 FROM {table} AS r
                    WHERE r._id = s._id
                      AND (r._knowledge_at = s._knowledge_at
                           OR (s._knowledge_at IS NULL AND r._knowledge_at IS NULL
                               AND r._raw_document IS NOT DISTINCT FROM d.raw_document)))
                """,
                [source, spec.name, batch_id, now, str(rows_parquet)],
            ).fetchone()[0]
            record_run(con, batch_id=batch_id, source=source, collection=spec.name,
                       window_start=start, window_end=end, status="success", error=None,
                       rows_read=rows_read, rows_inserted=inserted, started_at=started,
                       finished_at=dt.datetime.now(dt.timezone.utc))
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    finally:
        con.unregister(view)
    return int(inserted)


def _fail(cfg: Config, warehouse, where: str, source: str, collection: str, start: dt.datetime,
          end: dt.datetime, batch_id: str, started: dt.datetime, exc: Exception, uri: str | None):
    detail = _scrub(f"{type(exc).__name__}: {exc}".splitlines()[0], uri, cfg)
    message = f"{where}: extraction of [{start.isoformat()}, {end.isoformat()}) failed: {detail}"
    log.error("%s", message)

    def write(con):
        ensure_raw_schema(con, cfg)
        con.execute("BEGIN TRANSACTION")
        record_run(con, batch_id=batch_id, source=source, collection=collection, window_start=start,
                   window_end=end, status="failed", error=message, rows_read=None, rows_inserted=None,
                   started_at=started, finished_at=dt.datetime.now(dt.timezone.utc))
        con.execute("COMMIT")

    try:
        if isinstance(warehouse, duckdb.DuckDBPyConnection):
            write(warehouse)
        else:
            with warehouse_writer(warehouse) as con:
                write(con)
    except Exception as rec_exc:  # noqa: BLE001 - the original failure is what matters
        log.error("%s: could not record the failed run: %s", where,
                  _scrub(str(rec_exc).splitlines()[0] if str(rec_exc) else type(rec_exc).__name__, uri, cfg))
    raise ExtractionError(message, failures=[(source, collection, message)]) from None


def extract_all(cfg: Config, *, window: tuple[dt.datetime, dt.datetime] | None = None,
                sources: Iterable[str] | None = None,
                warehouse: str | os.PathLike | duckdb.DuckDBPyConnection | None = None,
                batch_id: str | None = None, now: dt.datetime | None = None) -> list[ExtractResult]:
    """Extract every configured collection (of ``sources`` if given), all with one batch id.

    A failing collection does not stop the others; afterwards one :class:`ExtractionError`
    lists every failure (its ``results`` holds what succeeded).
    """
    wanted = None if sources is None else set(sources)
    if wanted is not None:
        for name in wanted:
            cfg.source(name)  # a one-line ConfigError for an unknown source name
    batch_id = batch_id or uuid.uuid4().hex
    now = dt.datetime.now(dt.timezone.utc) if now is None else now
    results: list[ExtractResult] = []
    failures: list[tuple[str, str, str]] = []
    for src, collection in cfg.collections():
        if wanted is not None and src.name not in wanted:
            continue
        try:
            results.append(extract_collection(cfg, src, collection, window=window, warehouse=warehouse,
                                              batch_id=batch_id, now=now))
        except ExtractionError as exc:
            failures.extend(exc.failures or [(src.name, collection, str(exc))])
    if failures:
        names = ", ".join(f"{s}.{c}" for s, c, _ in failures)
        raise ExtractionError(f"extraction failed for {len(failures)} collection(s): {names}; "
                              f"first error: {failures[0][2]}", failures=failures, results=results)
    return results
