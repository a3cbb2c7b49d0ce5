"""Shared fixtures: one SecantusDB server per test module, and configs pointing at it.

``mongo_server``   module-scoped running server (``.uri``), data under pytest's tmp dir.
``make_config``    function-scoped factory: ``make_config(**overrides) -> Config`` writes an
                   ``accounting.yml`` in the test's tmp dir (warehouse there too), gives every
                   source a database name unique to the test, and sets the sources' URI
                   environment variables to the module's server (undone after the test).
``config_doc()``   the configuration mapping the factory starts from (the repo's default sources).
"""
from __future__ import annotations

import copy
import hashlib
import itertools
from pathlib import Path
from typing import Any

import pytest
import yaml

from extract.config import Config, load_config
from extract.embedded import EmbeddedMongo, embedded_environment

DEFAULT_SOURCES: list[dict[str, Any]] = [
    {"name": "storage_network", "uri_env": "ABACUS_STORAGE_NETWORK_URI", "database": "storage_network",
     "collections": ["contracts", "transfer_reports", "audits", "farmers", "renters"],
     "resources": ["network.storage", "network.download", "network.upload"]},
    {"name": "compute", "uri_env": "ABACUS_COMPUTE_URI", "database": "compute",
     "collections": ["usage_events", "accounts"],
     "resources": ["compute.time_used", "compute.jobs_started"]},
    {"name": "storage", "uri_env": "ABACUS_STORAGE_URI", "database": "storage",
     "collections": ["usage_samples", "accounts"],
     "resources": ["storage.bytes_used", "storage.files"]},
]


def config_doc(**overrides: Any) -> dict[str, Any]:
    """A full configuration mapping; top-level keys in ``overrides`` replace the defaults."""
    doc: dict[str, Any] = {
        "warehouse": {"path": "warehouse.duckdb", "published_dir": "published"},
        "periods": {"grace_hours": 72, "max_adjustment_periods": 3, "gauge_max_gap_hours": 24},
        "extract": {"batch_size": 1000, "lookback_hours": 1, "server_selection_timeout_ms": 1500},
        "sources": copy.deepcopy(DEFAULT_SOURCES),
    }
    doc.update(copy.deepcopy(overrides))
    return doc


def write_config(path: Path, doc: dict[str, Any] | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def mongo_server(tmp_path_factory):
    with EmbeddedMongo(tmp_path_factory.mktemp("secantus")) as server:
        yield server


_counter = itertools.count()


@pytest.fixture
def make_config(request, tmp_path, monkeypatch, mongo_server):
    """Factory for a Config on the module's server with per-test database names."""
    digest = hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:8]

    def factory(**overrides: Any) -> Config:
        doc = config_doc(**overrides)
        suffix = f"{digest}_{next(_counter)}"
        for s in doc["sources"]:
            s["database"] = f"{s['database']}_{suffix}"
        path = write_config(tmp_path / f"accounting_{suffix}.yml", doc)
        monkeypatch.delenv("ABACUS_WAREHOUSE", raising=False)
        cfg = load_config(path, require_env=False)
        for key, value in embedded_environment(cfg, mongo_server.uri).items():
            monkeypatch.setenv(key, value)
        cfg.check_environment()
        return cfg

    return factory
