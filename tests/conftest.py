from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from hypothesis import settings

from tests import backends
from tests.helpers import CHEAP_PASSWORDS, Server
from tests.inprocess import InProcessServer
from tests.server_pool import ServerPool
from tests.spec_conformance import Conformance, conforming

# Property tests repeat exactly in CI: the "ci" profile derandomizes (the same examples on every
# run) and keeps no example database. Elsewhere examples vary from run to run, to find more;
# HYPOTHESIS_PROFILE=ci reproduces a CI run anywhere.
# Settings made in the test process (unit tests' containers, the in-process servers) read it.
os.environ.update(CHEAP_PASSWORDS)

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
        "embedded: runs on the embedded backend only: inspects its own files (SQLite file, "
        "blob directory), or checks what storage cannot change (reading a document's text)",
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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist (``--dist loadgroup``, as scripts/test runs it): a module whose
    tests share a module-scoped fixture of their own (a server with settings of its own, a
    shared data set) runs on one worker, so that the fixture is built once, and its tests
    are handed out first, since those are the long ones, after only the tests marked slow
    that share nothing (the crash loop, a minute each); every other test goes to whichever
    worker is free. Without xdist only the order changes, and it stays deterministic, as
    each worker's collection must be."""
    slow: list[pytest.Item] = []
    grouped: list[pytest.Item] = []
    free: list[pytest.Item] = []
    for item in items:
        if item.get_closest_marker("slow") is not None and not _shares_a_module_fixture(item):
            slow.append(item)  # long on their own (the crash loop): handed out first of all
        elif _shares_a_module_fixture(item):
            # Per backend pair: the two halves of a module may go to different workers.
            params = getattr(item, "callspec", None)
            pair = params.params.get("backend", "") if params else ""
            item.add_marker(pytest.mark.xdist_group(f"{item.nodeid.split('::')[0]}-{pair}"))
            grouped.append(item)
        else:
            free.append(item)
    items[:] = slow + grouped + free


def _shares_a_module_fixture(item: pytest.Item) -> bool:
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    return any(
        definition.scope == "module" and definition.baseid.startswith("tests") and name != "server"
        for name, definitions in info.name2fixturedefs.items()
        for definition in definitions
    )


@pytest.fixture(scope="session")
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    backends.require(name)
    return name


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


PROCESS = "process"


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerPool]:
    pool = ServerPool(tmp_path_factory)
    yield pool
    pool.close()


@pytest.fixture(scope="module")
def server(request: pytest.FixtureRequest, backend: str, servers: ServerPool) -> Server:
    """The server a route-level test talks to: the application in the test process
    (``inprocess_server``), or for tests marked ``server_process`` a real process
    (``process_server``). Tests isolate themselves by tenant."""
    if getattr(request, "param", None) == PROCESS:
        return servers.process(backend)
    return servers.inprocess(backend)


@pytest.fixture
def inprocess_server(backend: str, servers: ServerPool) -> InProcessServer:
    """The application of a server, served in the test process, one per backend pair for
    the session (with the settings a server process gets: tests/helpers.py ``Server.env``)."""
    return servers.inprocess(backend)


@pytest.fixture
def process_server(backend: str, servers: ServerPool) -> Server:
    """One real server process per backend pair for the session."""
    return servers.process(backend)


@pytest.fixture
def responses_conform(server: Server) -> Iterator[Conformance]:
    """The test's answers from ``server`` conform to its OpenAPI documents."""
    with conforming(server) as conformance:
        yield conformance


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
