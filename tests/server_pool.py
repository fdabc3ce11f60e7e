"""The servers the route-level tests share: per backend pair, the application served in the
test process and, made only when a test needs one, a real server process. Each is made once
per session (per worker under pytest-xdist) and kept until the session ends, whatever order
the tests of the two backend pairs come in."""

from __future__ import annotations

from contextlib import ExitStack

import pytest

from tests.backends import Backend
from tests.helpers import Server
from tests.inprocess import InProcessServer


class ServerPool:
    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self.tmp_path_factory = tmp_path_factory
        self.made: dict[tuple[str, str], Server] = {}
        self.cleanup = ExitStack()

    def inprocess(self, backend: str) -> InProcessServer:
        made = self._get("inprocess", backend, InProcessServer)
        assert isinstance(made, InProcessServer)
        return made

    def process(self, backend: str) -> Server:
        return self._get("server", backend, Server)

    def _get(self, kind: str, backend: str, make: type[Server]) -> Server:
        key = (kind, backend)
        if key not in self.made:
            store = Backend.create(backend)
            self.cleanup.callback(store.drop)
            srv = make(self.tmp_path_factory.mktemp(f"{kind}-{backend}"), backend=store)
            self.cleanup.callback(srv.stop)
            self.made[key] = srv.start()
        return self.made[key]

    def close(self) -> None:
        self.cleanup.close()
