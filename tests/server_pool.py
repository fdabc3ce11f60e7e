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

# The shared servers run no worker, on either backend pair, as a scaled-out API process
# does: the route-level tests that use them do not wait for processing, and reading every
# document they upload (OCR in a sandboxed child) took CPU from the tests that run beside
# them on the two cores. Tests of processing and delivery start servers with a worker.
SHARED_ENV = {"KYCVAULT_IN_PROCESS_WORKER": "false"}


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
            srv = make(
                self.tmp_path_factory.mktemp(f"{kind}-{backend}"),
                backend=store,
                env_extra=dict(SHARED_ENV),
            )
            self.cleanup.callback(srv.stop)
            self.made[key] = srv.start()
        return self.made[key]

    def close(self) -> None:
        self.cleanup.close()
