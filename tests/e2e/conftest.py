"""Settings shared by the end-to-end test modules."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest

from tests.helpers import WORKER_INSIDE, Server, server_on

# The helper modules hold assertions of their own: have pytest rewrite them too, so that a
# failing check explains itself as it did when the helpers lived in the test modules.
pytest.register_assert_rewrite(
    "tests.e2e.argyle.support",
    "tests.e2e.bad_input_support",
    "tests.e2e.documents_support",
    "tests.e2e.downloads_support",
    "tests.e2e.kycgenie_support",
    "tests.e2e.problem_support",
    "tests.e2e.processing_support",
    "tests.e2e.scopes_support",
    "tests.e2e.subject_keys_support",
    "tests.e2e.sila.support",
    "tests.e2e.subjects_support",
    "tests.e2e.uploads_support",
)


@pytest.fixture(scope="module")
def processing_server(tmp_path_factory: pytest.TempPathFactory, backend: str) -> Iterator[Server]:
    with server_on(
        tmp_path_factory.mktemp(f"processing-{backend}"), backend, **WORKER_INSIDE
    ) as srv:
        yield srv


@pytest.fixture
def pclient(processing_server: Server) -> Iterator[httpx2.Client]:
    with processing_server.client(processing_server.create_tenant()["api_key"]) as c:
        yield c
