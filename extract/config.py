"""Load and validate ``accounting.yml``.

Every problem is a :class:`ConfigError` whose message is one line naming the field
(``sources[1].collections[0]: unknown collection 'usage_event' ...``). Source URIs are read from
the environment variable each source names and never appear in messages or logs.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit, urlunsplit

import yaml

from extract.schemas import COLLECTIONS

CONFIG_ENV = "ABACUS_CONFIG"
WAREHOUSE_ENV = "ABACUS_WAREHOUSE"
DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "accounting.yml"

KNOWN_RESOURCES = (
    "network.storage", "network.download", "network.upload",
    "compute.time_used", "compute.jobs_started",
    "storage.bytes_used", "storage.files",
)
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_ENV = re.compile(r"^[A-Z_][A-Z0-9_]*$")
_MEMORY = re.compile(r"^[0-9]+(\.[0-9]+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$")


class ConfigError(ValueError):
    """A configuration problem, described in one line that names the offending field."""


@dataclass(frozen=True)
class SourceConfig:
    name: str
    uri_env: str
    database: str
    collections: tuple[str, ...]
    resources: tuple[str, ...]

    def uri(self, environ: Mapping[str, str] | None = None) -> str:
        env = os.environ if environ is None else environ
        value = env.get(self.uri_env, "").strip()
        if not value:
            raise ConfigError(
                f"sources.{self.name}.uri_env: environment variable {self.uri_env} is not set"
            )
        return value

    @property
    def masked_uri(self) -> str:
        """What logs may show: the URI with credentials and query string removed."""
        try:
            return mask_uri(self.uri())
        except ConfigError:
            return f"${self.uri_env} (unset)"


@dataclass(frozen=True)
class Config:
    path: Path
    warehouse_path: Path
    published_dir: Path
    grace_hours: int
    max_adjustment_periods: int
    gauge_max_gap_hours: int
    batch_size: int
    lookback_hours: float
    sources: tuple[SourceConfig, ...]
    raw: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)
    # How long a client waits for an unreachable source before the extraction fails.
    server_selection_timeout_ms: int = 5000
    # DuckDB memory_limit for extraction's own writer connection: bounds the buffer pool an
    # extraction caches written blocks in, so its peak memory does not follow collection size.
    duckdb_memory_limit: str = "256MB"

    def source(self, name: str) -> SourceConfig:
        for s in self.sources:
            if s.name == name:
                return s
        raise ConfigError(f"sources: no source named {name!r} (configured: {', '.join(s.name for s in self.sources)})")

    def collections(self) -> list[tuple[SourceConfig, str]]:
        return [(s, c) for s in self.sources for c in s.collections]

    def check_environment(self, environ: Mapping[str, str] | None = None) -> None:
        for s in self.sources:
            s.uri(environ)

    @property
    def config_hash(self) -> str:
        """SHA-256 of the canonical configuration (no secrets: only env var names are in it)."""
        return hashlib.sha256(json.dumps(self.raw, sort_keys=True, default=str).encode()).hexdigest()

    def dbt_vars(self) -> dict[str, Any]:
        return {
            "grace_hours": self.grace_hours,
            "max_adjustment_periods": self.max_adjustment_periods,
            "gauge_max_gap_hours": self.gauge_max_gap_hours,
        }


def mask_uri(uri: str) -> str:
    """``mongodb://user:pw@host:27017/db?x=y`` -> ``mongodb://***@host:27017/db``."""
    try:
        parts = urlsplit(uri)
        host = parts.hostname or ""
        netloc = host + (f":{parts.port}" if parts.port else "")
        if parts.username or parts.password:
            netloc = "***@" + netloc
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    except ValueError:
        return "<unparseable uri>"


def redact(text: str, sources: tuple[SourceConfig, ...] | list[SourceConfig]) -> str:
    """Remove every configured URI (and its credentials) from a message before it is logged."""
    for s in sources:
        value = os.environ.get(s.uri_env)
        if not value:
            continue
        text = text.replace(value, mask_uri(value))
        parts = urlsplit(value)
        for secret in (parts.password, parts.username):
            if secret:
                text = text.replace(secret, "***")
    return text


def _require(mapping: Any, key: str, where: str, kind: type | tuple[type, ...]) -> Any:
    if not isinstance(mapping, dict) or key not in mapping:
        raise ConfigError(f"{where}.{key}: missing")
    value = mapping[key]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise ConfigError(f"{where}.{key}: expected {getattr(kind, '__name__', kind)}, got {value!r}")
    return value


def _check_keys(mapping: dict, allowed: set[str], where: str) -> None:
    for key in mapping:
        if key not in allowed:
            raise ConfigError(f"{where}.{key}: unknown setting (allowed: {', '.join(sorted(allowed))})")


def config_path(path: str | os.PathLike | None = None) -> Path:
    return Path(path or os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG).resolve()


def load_config(path: str | os.PathLike | None = None, *, require_env: bool = True,
                environ: Mapping[str, str] | None = None) -> Config:
    """Load the configuration. ``require_env`` also checks every source's URI variable is set."""
    p = config_path(path)
    if not p.is_file():
        raise ConfigError(f"{CONFIG_ENV}: configuration file {p} does not exist")
    try:
        doc = yaml.safe_load(p.read_text()) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{p.name}{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"{p.name}: expected a mapping at the top level")
    _check_keys(doc, {"warehouse", "periods", "extract", "sources"}, "config")

    wh = doc.get("warehouse") or {}
    _check_keys(wh, {"path", "published_dir"}, "warehouse")
    base = p.parent
    env = os.environ if environ is None else environ
    wh_path = Path(env.get(WAREHOUSE_ENV) or wh.get("path", "data/abacus.duckdb"))
    wh_path = wh_path if wh_path.is_absolute() else base / wh_path
    pub = Path(wh.get("published_dir", "data/published"))
    pub = pub if pub.is_absolute() else base / pub

    periods = doc.get("periods") or {}
    _check_keys(periods, {"grace_hours", "max_adjustment_periods", "gauge_max_gap_hours"}, "periods")
    ext = doc.get("extract") or {}
    _check_keys(ext, {"batch_size", "lookback_hours", "server_selection_timeout_ms", "duckdb_memory_limit"},
                "extract")
    memory_limit = ext.get("duckdb_memory_limit", "256MB")
    if not isinstance(memory_limit, str) or not _MEMORY.match(memory_limit):
        raise ConfigError(f"extract.duckdb_memory_limit: expected a size such as '256MB' or '2GB', "
                          f"got {memory_limit!r}")

    def positive(section: dict, key: str, where: str, default: Any, minimum: float = 0) -> Any:
        value = section.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
            raise ConfigError(f"{where}.{key}: expected a number >= {minimum}, got {value!r}")
        return value

    raw_sources = doc.get("sources")
    if not isinstance(raw_sources, list) or not raw_sources:
        raise ConfigError("sources: expected a non-empty list of sources")
    sources: list[SourceConfig] = []
    for i, s in enumerate(raw_sources):
        where = f"sources[{i}]"
        if not isinstance(s, dict):
            raise ConfigError(f"{where}: expected a mapping")
        _check_keys(s, {"name", "uri_env", "database", "collections", "resources"}, where)
        name = _require(s, "name", where, str)
        if not _NAME.match(name):
            raise ConfigError(f"{where}.name: {name!r} must be lower_snake_case")
        if any(o.name == name for o in sources):
            raise ConfigError(f"{where}.name: duplicate source name {name!r}")
        uri_env = _require(s, "uri_env", where, str)
        if not _ENV.match(uri_env):
            # Never echo a URI someone pasted here: it may carry a password.
            shown = ("<value not shown: it looks like a URI>"
                     if any(ch in uri_env for ch in ":/@") else repr(uri_env))
            raise ConfigError(f"{where}.uri_env: {shown} is not an environment variable name "
                              "(put the URI in the environment, not in this file)")
        database = _require(s, "database", where, str)
        collections = _require(s, "collections", where, list)
        if not collections:
            raise ConfigError(f"{where}.collections: empty")
        for j, c in enumerate(collections):
            if c not in COLLECTIONS:
                raise ConfigError(f"{where}.collections[{j}]: unknown collection {c!r} "
                                  f"(known: {', '.join(COLLECTIONS)})")
        if len(set(collections)) != len(collections):
            raise ConfigError(f"{where}.collections: listed twice")
        resources = s.get("resources", [])
        if not isinstance(resources, list):
            raise ConfigError(f"{where}.resources: expected a list")
        for j, r in enumerate(resources):
            if r not in KNOWN_RESOURCES:
                raise ConfigError(f"{where}.resources[{j}]: unknown resource {r!r} "
                                  f"(known: {', '.join(KNOWN_RESOURCES)})")
        sources.append(SourceConfig(name, uri_env, database, tuple(collections), tuple(resources)))

    cfg = Config(
        path=p,
        warehouse_path=wh_path,
        published_dir=pub,
        grace_hours=int(positive(periods, "grace_hours", "periods", 72)),
        max_adjustment_periods=int(positive(periods, "max_adjustment_periods", "periods", 3)),
        gauge_max_gap_hours=int(positive(periods, "gauge_max_gap_hours", "periods", 24, 1)),
        batch_size=int(positive(ext, "batch_size", "extract", 10000, 1)),
        lookback_hours=float(positive(ext, "lookback_hours", "extract", 1)),
        sources=tuple(sources),
        raw=doc,
        server_selection_timeout_ms=int(positive(ext, "server_selection_timeout_ms", "extract", 5000, 1)),
        duckdb_memory_limit=memory_limit,
    )
    if require_env:
        cfg.check_environment(environ)
    return cfg
