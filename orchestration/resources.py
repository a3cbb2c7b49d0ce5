"""Dagster resources and the dbt project handle.

* :class:`AbacusConfig` - the configuration (``accounting.yml`` or ``$ABACUS_CONFIG``), loaded
  with ``require_env=False``: source URIs are read from the environment only when an extraction
  runs, never at definition load, never into metadata.
* :class:`Warehouse` - the working DuckDB file (``$ABACUS_WAREHOUSE`` or the config's path).
* :data:`DBT_PROJECT` - the dbt project (project dir = repository root, profiles in
  ``dbt_project/``, target path ``$DBT_TARGET_PATH`` or ``target``). Its manifest is prepared by
  ``prepare_if_dev()`` under ``dagster dev``; the CLI and the tests call
  :func:`prepare_dbt_manifest` explicitly before loading the definitions; a deployment ships a
  manifest built at build time (nothing is parsed at import).
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from dagster import ConfigurableResource
from dagster_dbt import DbtCliResource, DbtProject

from extract.config import Config, load_config

REPO_ROOT = Path(__file__).resolve().parent.parent
PROFILES_DIR = REPO_ROOT / "dbt_project"


def _ensure_dbt_on_path() -> None:
    """``dbt`` lives next to this interpreter (``.venv/bin``), which need not be on PATH."""
    bindir = str(Path(sys.executable).parent)
    if shutil.which("dbt") is None and (Path(bindir) / "dbt").exists():
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")


_ensure_dbt_on_path()


def dbt_target_path() -> Path:
    return Path(os.environ.get("DBT_TARGET_PATH") or "target")


def make_dbt_project() -> DbtProject:
    return DbtProject(project_dir=REPO_ROOT, profiles_dir=PROFILES_DIR, target_path=dbt_target_path())


DBT_PROJECT = make_dbt_project()


def prepare_dbt_manifest(project: DbtProject = DBT_PROJECT) -> Path:
    """Parse the dbt project now (``dbt parse``) and return the manifest path."""
    _ensure_dbt_on_path()
    project.preparer.prepare(project)
    if not project.manifest_path.exists():
        raise RuntimeError(f"dbt parse did not write {project.manifest_path}")
    return project.manifest_path


class AbacusConfig(ConfigurableResource):
    """The abacus configuration file; ``None`` = ``$ABACUS_CONFIG`` or the repository's."""

    config_path: str | None = None

    def load(self) -> Config:
        return load_config(self.config_path, require_env=False)


class Warehouse(ConfigurableResource):
    """The working DuckDB warehouse; ``None`` = ``$ABACUS_WAREHOUSE`` or the configured path."""

    path: str | None = None

    def resolve(self, cfg: Config) -> Path:
        return Path(self.path) if self.path else Path(cfg.warehouse_path)


def dbt_resource(project: DbtProject = DBT_PROJECT) -> DbtCliResource:
    return DbtCliResource(project_dir=project, profiles_dir=str(PROFILES_DIR))
