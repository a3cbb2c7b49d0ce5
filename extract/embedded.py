"""An embedded MongoDB-compatible server (SecantusDB) for the demo and the tests.

It speaks the MongoDB wire protocol on a local socket, so extraction runs exactly the code path
it runs against a real MongoDB: only the URI in the environment differs.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

from secantus import SecantusDBServer

from extract.config import Config


class EmbeddedMongo:
    """``with EmbeddedMongo(data_dir) as mongo: ... mongo.uri``; data persists in ``data_dir``."""

    def __init__(self, data_dir: str | os.PathLike, host: str = "127.0.0.1"):
        self.data_dir = Path(data_dir)
        self.host = host
        self._server: SecantusDBServer | None = None

    def start(self) -> "EmbeddedMongo":
        if self._server is None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            server = SecantusDBServer(host=self.host, port=0, storage_path=str(self.data_dir))
            server.start()
            self._server = server
        return self

    def stop(self) -> None:
        if self._server is not None:
            try:
                self._server.stop()
            finally:
                self._server = None

    @property
    def uri(self) -> str:
        if self._server is None:
            raise RuntimeError("EmbeddedMongo is not running")
        return self._server.uri

    def __enter__(self) -> "EmbeddedMongo":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def embedded_environment(cfg: Config, uri: str) -> dict[str, str]:
    """Env entries pointing every configured source's ``uri_env`` at ``uri``.

    All sources share the one server; each keeps its own database name from the configuration.
    Merge into ``os.environ`` (or a subprocess env) to use it.
    """
    return {s.uri_env: uri for s in cfg.sources}


def environment_with(cfg: Config, uri: str, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """A copy of ``base`` (default ``os.environ``) with :func:`embedded_environment` applied."""
    env = dict(os.environ if base is None else base)
    env.update(embedded_environment(cfg, uri))
    return env
