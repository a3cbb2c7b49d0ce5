"""The ``abacus`` CLI entry point: demo (extraction part), extract, report build refusals, hints.

The full demo (every closed period built by dbt) is the same code path as the period builds of
``test_orchestration.py``; here ``demo --extract-only`` runs the embedded server, the generated
network and the Dagster extraction job, twice (the second run reuses the loaded network and
inserts nothing new).
"""
from __future__ import annotations

import os
import re
import socket
from pathlib import Path

import pytest

from conftest import config_doc, write_config
from orchestration import cli


@pytest.fixture
def clean_env():
    """The demo sets process environment variables (config, Dagster home, source URIs): restore them."""
    saved = dict(os.environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _raw_counts(text: str) -> dict[str, int]:
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"raw\.(\w+): (\d+)", text)}


def test_demo_extract_only_loads_once_and_extracts_idempotently(tmp_path, capsys, clean_env):
    from extract.config import load_config
    from extract.generate import NetworkSpec, generate_documents
    os.environ["DBT_TARGET_PATH"] = str(tmp_path / "dbt_target")
    data = tmp_path / "data"
    assert cli.main(["demo", "--data-dir", str(data), "--size", "tiny", "--extract-only"]) == 0
    out = capsys.readouterr().out
    assert "loading the generated tiny network (seed 7)" in out
    cfg = load_config(data / "accounting.yml", require_env=False)
    expected = {f"{s}__{c}": len(docs) for (s, c), docs in
                generate_documents(NetworkSpec.tiny(), cfg, final_only=True).items()}
    assert len(expected) == 9
    assert _raw_counts(out) == expected
    assert cfg.warehouse_path == data / "abacus.duckdb" and cfg.warehouse_path.exists()
    assert (data / "dagster").is_dir()
    # again: the network is already there, extraction re-reads only the look-back and inserts nothing
    assert cli.main(["demo", "--data-dir", str(data), "--size", "tiny", "--extract-only"]) == 0
    out = capsys.readouterr().out
    assert "already holds the demo network" in out
    assert _raw_counts(out) == expected


@pytest.fixture
def cli_config(tmp_path, monkeypatch, mongo_server):
    doc = config_doc(warehouse={"path": str(tmp_path / "w.duckdb"), "published_dir": str(tmp_path / "pub")})
    for s in doc["sources"]:
        s["database"] = f"{s['database']}_cli_{tmp_path.name}"
    monkeypatch.setenv("ABACUS_CONFIG", str(write_config(tmp_path / "accounting.yml", doc)))
    monkeypatch.delenv("ABACUS_WAREHOUSE", raising=False)
    for s in doc["sources"]:
        monkeypatch.setenv(s["uri_env"], mongo_server.uri)
    return tmp_path


def test_report_build_bad_period_is_exit_2(cli_config, capsys):
    assert cli.main(["report", "build", "--period", "2026-1"]) == 2
    assert "--period: period '2026-1' is not a calendar month written YYYY-MM" in capsys.readouterr().err
    assert cli.main(["report", "build"]) == 2


def test_report_build_refused_before_any_extraction_is_exit_3(cli_config, capsys):
    assert cli.main(["report", "build", "--period", "2026-10"]) == 3
    err = capsys.readouterr().err.strip()
    assert err == ("error: period 2026-10 cannot be built: "
                   "storage_network: not extracted past close 2026-11-04T00:00Z (never extracted); "
                   "compute: not extracted past close 2026-11-04T00:00Z (never extracted); "
                   "storage: not extracted past close 2026-11-04T00:00Z (never extracted)")


def test_extract_command(cli_config, capsys, monkeypatch):
    assert cli.main(["extract", "--start", "2026-10-01"]) == 2
    assert "--start and --end go together" in capsys.readouterr().err
    assert cli.main(["extract", "--start", "2026-10-02", "--end", "2026-10-01"]) == 2
    assert cli.main(["extract", "--source", "nope"]) == 2
    assert "no source named 'nope'" in capsys.readouterr().err
    assert cli.main(["extract", "--start", "2026-10-01", "--end", "2026-10-02T00:00:00Z", "--source", "compute"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == ["compute.usage_events: read 0, inserted 0 [2026-10-01T00:00:00Z, 2026-10-02T00:00:00Z)",
                   "compute.accounts: read 0, inserted 0 [2026-10-01T00:00:00Z, 2026-10-02T00:00:00Z)"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"mongodb://user:secret@127.0.0.1:{s.getsockname()[1]}/?serverSelectionTimeoutMS=300"
    monkeypatch.setenv("ABACUS_STORAGE_URI", dead)
    assert cli.main(["extract", "--source", "storage"]) == 1
    err = capsys.readouterr().err
    assert "storage.usage_samples" in err and "secret" not in err


def test_dagster_hint_and_generate(cli_config, capsys, tmp_path):
    assert cli.main(["dagster"]) == 0
    out = capsys.readouterr().out
    assert ".venv/bin/dagster dev" in out and "ABACUS_COMPUTE_URI=<mongodb uri>" in out
    assert cli.main(["generate", "--size", "tiny", "--to", "duckdb", "--out", str(tmp_path / "g.duckdb")]) == 0
    assert (tmp_path / "g.duckdb").exists()
    assert cli.main(["generate", "--size", "huge"]) == 2


def test_help_lists_every_subcommand(capsys):
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in ("demo", "extract", "generate", "report", "dagster"):
        assert name in out
    assert cli.main(["report", "--help"]) == 0
    assert "build" in capsys.readouterr().out
