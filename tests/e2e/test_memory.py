"""Uploads stream: the server's memory does not grow with the size of a file (measured as the
peak resident set of the server process, reset before each upload)."""

from __future__ import annotations

import pytest

from tests.helpers import MiB, Part, Server, peak_rss_reset, post_multipart, rss_kib, zeros

pytestmark = pytest.mark.slow


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


def test_memory_stays_bounded_for_128_mib(fresh_server: Server) -> None:
    api_key = fresh_server.create_tenant()["api_key"]
    # Warm up code paths and allocator pools first.
    assert _upload(fresh_server, api_key, 2 * MiB)[0] == 201

    status_small, growth_small = _upload(fresh_server, api_key, 16 * MiB)
    status_full, growth_full = _upload(fresh_server, api_key, 128 * MiB)
    status_over, growth_over = _upload(fresh_server, api_key, 128 * MiB + 1)
    status_chunked, growth_chunked = _upload(
        fresh_server, api_key, 128 * MiB + 1, send_length=False
    )

    assert (status_small, status_full, status_over, status_chunked) == (201, 201, 413, 413)
    for growth in (growth_small, growth_full, growth_over, growth_chunked):
        assert growth < 32 * 1024, f"peak RSS grew by {growth} KiB"
    # No growth with file size: 128 MiB costs about what 16 MiB costs.
    assert growth_full - growth_small < 8 * 1024
