"""The Dagster code location of abacus: ``defs``.

Loaded by ``dagster dev`` (``[tool.dagster] module_name``), the tests and the ``abacus`` CLI.
One asset per configured collection (``raw/<source>/<collection>``, equal to the dbt sources'
``meta.dagster.asset_key``), the dbt project (groups by layer, tests as asset checks), the
period report and its publication, the jobs, the daily extraction schedule and the period-close
sensor. The configuration is read at load time without source URIs (they are resolved when an
extraction runs); the dbt manifest is prepared by ``prepare_if_dev()`` under ``dagster dev``, by
the CLI and the tests explicitly (:func:`orchestration.resources.prepare_dbt_manifest`), and is
expected to be shipped prepared in a deployment.

Serializing writers: every step that writes the DuckDB warehouse (extraction, dbt, report,
publish) is in the pool ``duckdb_writer`` and takes ``extract.warehouse``'s inter-process lock;
the lock alone is correct, the pool makes the queue visible. Recommended instance settings
(``$DAGSTER_HOME/dagster.yaml``)::

    concurrency:
      pools:
        default_limit: 1          # one duckdb_writer step at a time
      runs:
        tag_concurrency_limits:
          - key: abacus/warehouse # extract_job and period_job runs one after the other, so a
            limit: 1              # period's report always reads the marts its own dbt run built
"""
from __future__ import annotations

from dagster import Definitions

from extract.config import load_config
from orchestration.assets.dbt import abacus_dbt
from orchestration.assets.extraction import build_extraction_assets
from orchestration.assets.reports import period_report, published_warehouse
from orchestration.resources import AbacusConfig, Warehouse, dbt_resource
from orchestration.schedules import make_jobs, make_schedules_and_sensors

CONFIG = load_config(require_env=False)
extraction_assets = build_extraction_assets(CONFIG)
extract_job, period_job = make_jobs(extraction_assets)
schedules, sensors = make_schedules_and_sensors(extract_job, period_job)

defs = Definitions(
    assets=[*extraction_assets, abacus_dbt, period_report, published_warehouse],
    jobs=[extract_job, period_job],
    schedules=schedules,
    sensors=sensors,
    resources={
        "abacus_config": AbacusConfig(),
        "warehouse": Warehouse(),
        "dbt": dbt_resource(),
    },
)
