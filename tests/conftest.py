from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from hypothesis import settings

from tests import backends
from tests.helpers import Server, server_on
from tests.inprocess import InProcessServer

# Property tests repeat exactly in CI: the "ci" profile derandomizes (the same examples on every
# run) and keeps no example database. Elsewhere examples vary from run to run, to find more;
# HYPOTHESIS_PROFILE=ci reproduces a CI run anywhere.
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "default")
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "server_process: the test's ``server`` is a real ``kycvault serve`` process (for what "
        "only a process shows: its memory, sockets, logs of its own, clients that dial its URL)",
    )
    config.addinivalue_line(
        "markers",
        "embedded: inspects the embedded shape's own files (SQLite file, blob directory); runs "
        "on the embedded backend only",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test that uses the shared server runs once per backend pair."""
    if "backend" in metafunc.fixturenames:
        embedded_only = metafunc.definition.get_closest_marker("embedded") is not None
        names = [backends.EMBEDDED] if embedded_only else list(backends.ALL)
        metafunc.parametrize("backend", names, indirect=True, scope="session")
    if "server" in metafunc.fixturenames and metafunc.definition.get_closest_marker(
        "server_process"
    ):
        # The marked tests get the process; the others keep the in-process default.
        metafunc.parametrize("server", [PROCESS], indirect=True, scope="module")


@pytest.fixture(scope="session")
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    backends.require(name)
    return name


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


PROCESS = "process"


@pytest.fixture(scope="module")
def server(request: pytest.FixtureRequest, backend: str) -> Server:
    """The server a route-level test talks to: the application in the test process
    (``inprocess_server``), or for tests marked ``server_process`` a real process
    (``process_server``). Tests isolate themselves by tenant."""
    if getattr(request, "param", None) == PROCESS:
        return request.getfixturevalue("process_server")  # type: ignore[no-any-return]
    return request.getfixturevalue("inprocess_server")  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def inprocess_server(
    tmp_path_factory: pytest.TempPathFactory, backend: str
) -> Iterator[InProcessServer]:
    """The application of a server, served in the test process, per backend pair for the
    session (the settings a server process gets: tests/helpers.py ``Server.env``)."""
    store = backends.Backend.create(backend)
    srv = InProcessServer(tmp_path_factory.mktemp(f"inprocess-{backend}"), backend=store)
    try:
        yield srv.start()
    finally:
        srv.stop()
        store.drop()


@pytest.fixture(scope="session")
def process_server(tmp_path_factory: pytest.TempPathFactory, backend: str) -> Iterator[Server]:
    """One real server process per backend pair for the session."""
    with server_on(tmp_path_factory.mktemp(f"server-{backend}"), backend) as srv:
        yield srv


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
