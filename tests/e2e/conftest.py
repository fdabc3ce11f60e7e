"""Settings shared by the end-to-end test modules."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest

from tests.backends import Backend
from tests.helpers import Server

# The helper modules hold assertions of their own: have pytest rewrite them too, so that a
# failing check explains itself as it did when the helpers lived in the test modules.
pytest.register_assert_rewrite(
    "tests.e2e.argyle.support",
    "tests.e2e.documents_support",
    "tests.e2e.downloads_support",
    "tests.e2e.kycgenie_support",
    "tests.e2e.problem_support",
    "tests.e2e.processing_support",
    "tests.e2e.sila.support",
    "tests.e2e.subjects_support",
    "tests.e2e.uploads_support",
)


@pytest.fixture(scope="module")
def processing_server(tmp_path_factory: pytest.TempPathFactory, backend: str) -> Iterator[Server]:
    """A server with its worker inside, polling often (on PostgreSQL too, where the
    scaled-out shape would run ``kycvault worker`` processes instead)."""
    store = Backend.create(backend)
    srv = Server(
        tmp_path_factory.mktemp(f"processing-{backend}"),
        backend=store,
        env_extra={"KYCVAULT_IN_PROCESS_WORKER": "true", "KYCVAULT_WORKER_POLL_SECONDS": "0.1"},
    )
    try:
        yield srv.start()
    finally:
        srv.stop()
        store.drop()


@pytest.fixture
def pclient(processing_server: Server) -> Iterator[httpx2.Client]:
    with processing_server.client(processing_server.create_tenant()["api_key"]) as c:
        yield c
