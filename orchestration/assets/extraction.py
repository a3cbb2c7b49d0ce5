"""One Dagster asset per configured collection: ``raw/<source>/<collection>``.

Design (two modes, one asset per collection, so the lineage graph runs from every collection to
the marts):

* **Daily partitions on knowledge time.** Partition ``D`` extracts the knowledge-time window
  ``[D, D + 1 day)`` (``extract_collection(window=...)``). Windows are idempotent (a row is
  inserted only once per ``(_id, knowledge time)``), and the watermark view combines windows in
  any order, so a backfill over a date range runs its partitions in parallel; the writer lock
  serializes the actual DuckDB writes and the ``duckdb_writer`` pool shows the queue in the UI.
* **Everything new since the last run.** A run tagged ``abacus/extract: new`` (what the daily
  schedule and ``abacus demo`` launch) extracts from each collection's watermark (minus the
  configured look-back) to now (``window=None``). It is launched for a partition key too (the day
  it covers), so the partition status in the UI stays meaningful, but its window is the
  open-ended catch-up window, reported in the materialization metadata.

Metadata: rows read / inserted / misfit, the window, the watermark after the run and the masked
source URI. A failed extraction is recorded in ``raw._extract_runs`` (so the report gate sees it)
and fails the step with ``dagster.Failure``.
"""

import datetime as dt

from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    DailyPartitionsDefinition,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)

from extract.config import Config, redact
from orchestration.partitions import day_window, partitions_start
from orchestration.resources import AbacusConfig, Warehouse

EXTRACT_MODE_TAG = "abacus/extract"
MODE_NEW = "new"
WRITER_POOL = "duckdb_writer"

DAILY = DailyPartitionsDefinition(start_date=partitions_start(), end_offset=1)


def extraction_window(context: AssetExecutionContext) -> tuple[dt.datetime, dt.datetime] | None:
    """``None`` (everything new since the last run) for runs tagged ``abacus/extract: new``."""
    if context.run.tags.get(EXTRACT_MODE_TAG) == MODE_NEW or not context.has_partition_key:
        return None
    return day_window(context.partition_key)


def _make_asset(source_name: str, collection: str) -> AssetsDefinition:
    @asset(
        key=["raw", source_name, collection],
        name=None,
        group_name=source_name,
        kinds={"mongodb", "duckdb"},
        partitions_def=DAILY,
        pool=WRITER_POOL,
        description=f"MongoDB `{source_name}.{collection}` appended to DuckDB `raw.{source_name}__{collection}` "
                    "(daily knowledge-time windows, or everything new with the run tag abacus/extract=new).",
        metadata={"source": source_name, "collection": collection,
                  "table": f"raw.{source_name}__{collection}"},
    )
    def _extract(context: AssetExecutionContext, abacus_config: AbacusConfig,
                 warehouse: Warehouse) -> MaterializeResult:
        from extract.extraction import ExtractionError, extract_collection
        from extract.state import watermarks
        from extract.warehouse import warehouse_writer

        cfg: Config = abacus_config.load()
        path = warehouse.resolve(cfg)
        window = extraction_window(context)
        src = cfg.source(source_name)
        try:
            res = extract_collection(cfg, src, collection, window=window, warehouse=path,
                                     batch_id=context.run.run_id)
        except ExtractionError as exc:
            raise Failure(description=redact(str(exc), cfg.sources),
                          metadata={"source": source_name, "collection": collection,
                                    "source_uri": src.masked_uri}) from None
        with warehouse_writer(path) as con:
            wm = watermarks(con).get((source_name, collection))
        return MaterializeResult(metadata={
            "rows_read": res.rows_read,
            "rows_inserted": res.rows_inserted,
            "rows_misfit": res.rows_misfit,
            "mode": "new since last run" if window is None else "daily window",
            "window_start": res.window_start.isoformat(),
            "window_end": res.window_end.isoformat(),
            "watermark": wm.isoformat() if wm else "none",
            "source_uri": src.masked_uri,
            "batch_id": res.batch_id,
            "table": MetadataValue.text(f"raw.{source_name}__{collection}"),
        })

    return _extract


def build_extraction_assets(cfg: Config) -> list[AssetsDefinition]:
    return [_make_asset(s.name, c) for s, c in cfg.collections()]
