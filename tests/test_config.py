"""Configuration validation: every problem is one line naming the field; URIs never leak."""
from __future__ import annotations

import pytest

from extract.config import ConfigError, load_config, mask_uri, redact
from conftest import config_doc, write_config

SECRET_URI = "mongodb://billing:s3cr3t-pw@db.internal:27017/admin?authSource=admin&tls=true"
ENV = {"ABACUS_STORAGE_NETWORK_URI": SECRET_URI, "ABACUS_COMPUTE_URI": SECRET_URI,
       "ABACUS_STORAGE_URI": SECRET_URI}


def _error(tmp_path, doc, environ=ENV, require_env=True) -> str:
    path = write_config(tmp_path / "accounting.yml", doc)
    with pytest.raises(ConfigError) as info:
        load_config(path, environ=environ, require_env=require_env)
    message = str(info.value)
    assert "\n" not in message
    assert "s3cr3t" not in message and SECRET_URI not in message and "billing" not in message
    return message


def test_valid_config_loads_with_defaults_and_paths_relative_to_the_file(tmp_path):
    doc = config_doc()
    del doc["extract"]
    cfg = load_config(write_config(tmp_path / "accounting.yml", doc), environ=ENV)
    assert [s.name for s in cfg.sources] == ["storage_network", "compute", "storage"]
    assert cfg.source("compute").collections == ("usage_events", "accounts")
    assert (cfg.batch_size, cfg.lookback_hours, cfg.server_selection_timeout_ms, cfg.duckdb_memory_limit) == (
        10000, 1.0, 5000, "256MB")
    assert cfg.warehouse_path == tmp_path / "warehouse.duckdb"
    assert len(cfg.collections()) == 9
    assert "s3cr3t" not in repr(cfg) and "s3cr3t" not in cfg.config_hash


def test_typo_in_a_setting_names_the_field(tmp_path):
    doc = config_doc(extract={"batchsize": 10})
    assert _error(tmp_path, doc) == (
        "extract.batchsize: unknown setting "
        "(allowed: batch_size, duckdb_memory_limit, lookback_hours, server_selection_timeout_ms)")


def test_typo_in_a_source_key_names_the_source(tmp_path):
    doc = config_doc()
    doc["sources"][2]["colections"] = doc["sources"][2].pop("collections")
    assert _error(tmp_path, doc).startswith("sources[2].colections: unknown setting (allowed: ")


def test_unknown_collection_names_its_position(tmp_path):
    doc = config_doc()
    doc["sources"][1]["collections"] = ["usage_event", "accounts"]
    assert _error(tmp_path, doc).startswith(
        "sources[1].collections[0]: unknown collection 'usage_event' (known: contracts, ")


def test_missing_environment_variable_names_source_and_variable(tmp_path):
    env = {k: v for k, v in ENV.items() if k != "ABACUS_COMPUTE_URI"}
    assert _error(tmp_path, config_doc(), environ=env) == (
        "sources.compute.uri_env: environment variable ABACUS_COMPUTE_URI is not set")


def test_missing_environment_is_allowed_when_not_required(tmp_path):
    cfg = load_config(write_config(tmp_path / "a.yml", config_doc()), environ={}, require_env=False)
    with pytest.raises(ConfigError, match=r"^sources.storage.uri_env: environment variable "
                                          r"ABACUS_STORAGE_URI is not set$"):
        cfg.source("storage").uri({})


def test_bad_yaml_names_the_line(tmp_path):
    text = "warehouse:\n  path: x.duckdb\nsources: [\n  - name: a\n"
    message = _error(tmp_path, text)
    assert message.startswith("accounting.yml line ") and "not valid YAML" in message


def test_bad_number_names_the_field(tmp_path):
    assert _error(tmp_path, config_doc(extract={"server_selection_timeout_ms": 0})) == (
        "extract.server_selection_timeout_ms: expected a number >= 1, got 0")
    assert _error(tmp_path, config_doc(extract={"duckdb_memory_limit": "1GB; DROP TABLE x"})) == (
        "extract.duckdb_memory_limit: expected a size such as '256MB' or '2GB', got '1GB; DROP TABLE x'")
    assert _error(tmp_path, config_doc(periods={"grace_hours": "72h"})) == (
        "periods.grace_hours: expected a number >= 0, got '72h'")


def test_uri_pasted_into_the_file_is_not_echoed(tmp_path):
    doc = config_doc()
    doc["sources"][0]["uri_env"] = SECRET_URI
    assert _error(tmp_path, doc) == (
        "sources[0].uri_env: <value not shown: it looks like a URI> is not an environment "
        "variable name (put the URI in the environment, not in this file)")


def test_unknown_source_name(tmp_path):
    cfg = load_config(write_config(tmp_path / "a.yml", config_doc()), environ=ENV)
    with pytest.raises(ConfigError) as info:
        cfg.source("billing")
    assert str(info.value) == "sources: no source named 'billing' (configured: storage_network, compute, storage)"


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match=r"^ABACUS_CONFIG: configuration file .*nope.yml does not exist$"):
        load_config(tmp_path / "nope.yml", environ=ENV)


def test_mask_and_redact(tmp_path, monkeypatch):
    assert mask_uri(SECRET_URI) == "mongodb://***@db.internal:27017/admin"
    cfg = load_config(write_config(tmp_path / "a.yml", config_doc()), environ=ENV)
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    text = redact(f"could not reach {SECRET_URI}; auth failed for billing:s3cr3t-pw", cfg.sources)
    assert text == "could not reach mongodb://***@db.internal:27017/admin; auth failed for ***:***"
    assert cfg.source("compute").masked_uri == "mongodb://***@db.internal:27017/admin"
