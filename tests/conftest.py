from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.helpers import Server


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One real server process for the session; tests isolate themselves by tenant."""
    srv = Server(tmp_path_factory.mktemp("server")).start()
    yield srv
    srv.stop()


@pytest.fixture
def tenant(server: Server) -> dict[str, Any]:
    return server.create_tenant()


@pytest.fixture
def client(server: Server, tenant: dict[str, Any]) -> Iterator[httpx2.Client]:
    with server.client(tenant["api_key"]) as c:
        yield c


@pytest.fixture
def other_client(server: Server) -> Iterator[httpx2.Client]:
    """A client of a second tenant, for isolation checks."""
    with server.client(server.create_tenant()["api_key"]) as c:
        yield c


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[Server]:
    """A server of its own, for tests that inspect its process or its files."""
    srv = Server(tmp_path).start()
    yield srv
    srv.stop()
