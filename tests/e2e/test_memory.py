"""Uploads stream: the server's memory does not grow with the size of a file (measured as the
peak resident set of the server process, reset before each upload). The server runs no job
worker inside: processing an earlier upload would share the process and its measurement."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import MiB, Part, Server, peak_rss_reset, post_multipart, rss_kib, zeros

pytestmark = pytest.mark.slow


@pytest.fixture
def uploads_only(tmp_path: Path) -> Iterator[Server]:
    srv = Server(tmp_path, env_extra={"KYCVAULT_IN_PROCESS_WORKER": "false"}).start()
    yield srv
    srv.stop()


def _upload(
    server: Server, api_key: str, size: int, *, send_length: bool = True
) -> tuple[int, int]:
    """(status, peak RSS growth in KiB) of one streamed upload of ``size`` bytes."""
    baseline = rss_kib(server.pid, "VmRSS")
    peak_rss_reset(server.pid)
    with server.client(api_key) as client:
        response = post_multipart(
            client,
            "/v1/documents",
            [Part("type", b"bank_statement"), Part("file", zeros(size), "big.pdf", size=size)],
            send_length=send_length,
        )
    return response.status_code, rss_kib(server.pid, "VmHWM") - baseline


def test_memory_stays_bounded_for_128_mib(uploads_only: Server) -> None:
    api_key = uploads_only.create_tenant()["api_key"]
    # Warm up code paths and allocator pools first.
    assert _upload(uploads_only, api_key, 2 * MiB)[0] == 201

    status_small, growth_small = _upload(uploads_only, api_key, 16 * MiB)
    status_full, growth_full = _upload(uploads_only, api_key, 128 * MiB)
    status_over, growth_over = _upload(uploads_only, api_key, 128 * MiB + 1)
    status_chunked, growth_chunked = _upload(
        uploads_only, api_key, 128 * MiB + 1, send_length=False
    )

    assert (status_small, status_full, status_over, status_chunked) == (201, 201, 413, 413)
    for growth in (growth_small, growth_full, growth_over, growth_chunked):
        assert growth < 32 * 1024, f"peak RSS grew by {growth} KiB"
    # No growth with file size: 128 MiB costs about what 16 MiB costs.
    assert growth_full - growth_small < 8 * 1024
