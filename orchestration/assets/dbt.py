"""The dbt project as Dagster assets, one monthly partition per billing period.

* Groups by layer: seeds -> ``reference``, models -> ``staging`` / ``intermediate`` / ``marts``.
* dbt tests become Dagster asset checks (``enable_asset_checks=True``).
* Partition ``P`` runs ``dbt build --vars`` from :func:`orchestration.partitions.dbt_vars_for_period`:
  ``as_of = close(P)`` for a final build (so a rebuild gives the same numbers), ``as_of = now``
  for a draft (run tag ``draft: true``; the only way to build a period that has not closed).
* The report gate (:mod:`orchestration.gate`) is evaluated before dbt runs; a refused build
  raises ``dagster.Failure`` naming every failing or lagging source with its watermark.
* Writers are serialized twice: the ``duckdb_writer`` pool (visible in the UI; set its limit to
  1 in the instance) and ``extract.warehouse.warehouse_lock`` held for the whole dbt invocation
  (correct across processes whatever the instance settings).
"""

import datetime as dt
import json
import os
from typing import Any, Mapping

from dagster import (
    AssetExecutionContext,
    AssetKey,
    BackfillPolicy,
    Failure,
    MetadataValue,
    MonthlyPartitionsDefinition,
)
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from orchestration.partitions import PRODUCTION_BUILD_FLAGS, dbt_vars_for_period, partitions_start
from orchestration.resources import DBT_PROJECT, AbacusConfig, Warehouse

WRITER_POOL = "duckdb_writer"
DRAFT_TAG = "draft"
MONTHLY = MonthlyPartitionsDefinition(start_date=partitions_start()[:7], fmt="%Y-%m", end_offset=1)
# Each period is its own run: its as_of (close(P) or now) differs from every other period's.
ONE_PERIOD_PER_RUN = BackfillPolicy.multi_run(1)
LAYERS = ("staging", "intermediate", "marts")


def is_draft(tags: Mapping[str, str]) -> bool:
    value = str(tags.get(DRAFT_TAG, tags.get("abacus/draft", "false"))).strip().lower()
    return value in ("true", "1", "yes")


class AbacusDbtTranslator(DagsterDbtTranslator):
    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        kind = dbt_resource_props.get("resource_type")
        if kind == "seed":
            return "reference"
        fqn = dbt_resource_props.get("fqn") or []
        for layer in LAYERS:
            if layer in fqn[1:-1]:
                return layer
        return super().get_group_name(dbt_resource_props) or "dbt"


TRANSLATOR = AbacusDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


def gate_or_fail(cfg, path, period: str, *, draft: bool, now: dt.datetime):
    """Evaluate the report gate from the warehouse; ``dagster.Failure`` when it refuses."""
    from extract.warehouse import ensure_raw_schema, warehouse_writer
    from orchestration.gate import check_gate

    with warehouse_writer(path) as con:
        ensure_raw_schema(con, cfg)
        result = check_gate(con, cfg, period, now=now, draft=draft)
    if not result.ok:
        raise Failure(description=result.message, metadata={
            "period": period,
            "close_at": result.close_at.isoformat(),
            "blocking_sources": MetadataValue.json([s.as_dict() for s in result.blocking]),
            "sources": MetadataValue.json([s.as_dict() for s in result.sources]),
        })
    return result


def _build_dbt_assets():
    if not DBT_PROJECT.manifest_path.exists():
        DBT_PROJECT.prepare_if_dev()

    @dbt_assets(
        manifest=DBT_PROJECT.manifest_path,
        project=DBT_PROJECT,
        name="abacus_dbt",
        partitions_def=MONTHLY,
        dagster_dbt_translator=TRANSLATOR,
        pool=WRITER_POOL,
        backfill_policy=ONE_PERIOD_PER_RUN,
    )
    def abacus_dbt(context: AssetExecutionContext, dbt: DbtCliResource, abacus_config: AbacusConfig,
                   warehouse: Warehouse):
        from extract.warehouse import warehouse_lock

        cfg = abacus_config.load()
        path = warehouse.resolve(cfg)
        period = context.partition_key
        draft = is_draft(context.run.tags)
        now = dt.datetime.now(dt.timezone.utc)
        gate_or_fail(cfg, path, period, draft=draft, now=now)
        dbt_vars = dbt_vars_for_period(period, cfg, draft=draft, now=now)
        context.log.info(f"dbt build of {period} ({'draft' if draft else 'final'}) with vars {dbt_vars}")
        # The profile reads the warehouse path from the environment of the dbt subprocess.
        os.environ["ABACUS_WAREHOUSE"] = str(path)
        with warehouse_lock(path):
            invocation = dbt.cli(["build", *PRODUCTION_BUILD_FLAGS, "--vars", json.dumps(dbt_vars)],
                                 context=context)
            try:
                yield from invocation.stream()
            finally:
                # Never leave dbt writing the warehouse after the lock is released.
                if invocation.process.poll() is None:
                    invocation.process.kill()
                    invocation.process.wait()

    return abacus_dbt


abacus_dbt = _build_dbt_assets()


def dbt_keys() -> set[AssetKey]:
    return set(abacus_dbt.keys)


def mart_key(name: str) -> AssetKey:
    return AssetKey(["marts", name])
