"""End to end: large files of several cipher frames read whole, streamed and by byte
range; sizes on frame boundaries; and tampered frames, which must never be served."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from tests.e2e.downloads_support import assert_problem, content_url, upload
from tests.e2e.uploads_support import blob_path
from tests.helpers import MiB, Server, image_bytes

# Every answer is checked against the OpenAPI documents (tests/spec_conformance.py).
pytestmark = pytest.mark.usefixtures("responses_conform")

# --------------------------------------------------------------------------- fixtures


BIG_SIZE = int(2.5 * MiB) + 12345


@pytest.fixture(scope="module")
def big_tenant(server: Server) -> dict[str, Any]:
    return server.create_tenant()


@pytest.fixture(scope="module")
def big_client(server: Server, big_tenant: dict[str, Any]) -> Iterator[httpx2.Client]:
    with server.client(big_tenant["api_key"]) as c:
        yield c


@pytest.fixture(scope="module")
def big_file(big_client: httpx2.Client) -> tuple[bytes, str]:
    """A ~2.5 MiB PDF (three cipher frames) and its content URL, uploaded once."""
    data = b"%PDF-1.7\n" + os.urandom(BIG_SIZE - 9)
    doc = upload(big_client, ("big.pdf", data))
    return data, content_url(doc)


# --------------------------------------------------------------------------- large files


def test_large_file_round_trips_exactly(
    big_client: httpx2.Client, big_file: tuple[bytes, str]
) -> None:
    data, url = big_file
    response = big_client.get(url)
    assert response.status_code == 200
    assert response.headers["content-length"] == str(len(data))
    assert len(response.content) == len(data)
    assert hashlib.sha256(response.content).hexdigest() == hashlib.sha256(data).hexdigest()
    assert response.headers["etag"] == f'"{hashlib.sha256(data).hexdigest()}"'


def test_streamed_download_of_large_file(
    big_client: httpx2.Client, big_file: tuple[bytes, str]
) -> None:
    data, url = big_file
    digest = hashlib.sha256()
    with big_client.stream("GET", url) as response:
        assert response.status_code == 200
        for chunk in response.iter_bytes():
            digest.update(chunk)
    assert digest.hexdigest() == hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------- ranges


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-9", 0, 9),
        ("bytes=10-", 10, BIG_SIZE - 1),
        ("bytes=-5", BIG_SIZE - 5, BIG_SIZE - 1),
        ("bytes=1048570-1048585", MiB - 6, MiB + 9),  # across the first frame boundary
        ("bytes=1048576-1048576", MiB, MiB),  # first byte of the second frame
        ("bytes=1048575-2097152", MiB - 1, 2 * MiB),  # spans a whole frame
        ("bytes=0-", 0, BIG_SIZE - 1),
        (f"bytes={BIG_SIZE - 3}-{BIG_SIZE + 1000}", BIG_SIZE - 3, BIG_SIZE - 1),  # clamped
        (f"bytes=-{BIG_SIZE + 50}", 0, BIG_SIZE - 1),  # suffix longer than the file
        (f"bytes={BIG_SIZE - 1}-", BIG_SIZE - 1, BIG_SIZE - 1),
    ],
)
def test_single_range_is_206(
    big_client: httpx2.Client, big_file: tuple[bytes, str], header: str, start: int, end: int
) -> None:
    data, url = big_file
    response = big_client.get(url, headers={"Range": header})
    assert response.status_code == 206, response.text
    assert response.headers["content-range"] == f"bytes {start}-{end}/{len(data)}"
    assert response.headers["content-length"] == str(end - start + 1)
    assert response.content == data[start : end + 1]
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["etag"] == f'"{hashlib.sha256(data).hexdigest()}"'


def test_small_file_ranges(client: httpx2.Client) -> None:
    data = image_bytes("PNG")
    doc = upload(client, ("scan.png", data))
    url = content_url(doc)
    first = client.get(url, headers={"Range": "bytes=0-9"})
    assert first.status_code == 206
    assert first.content == data[:10]
    assert first.headers["content-range"] == f"bytes 0-9/{len(data)}"
    tail = client.get(url, headers={"Range": "bytes=-5"})
    assert tail.content == data[-5:]
    assert tail.headers["content-range"] == f"bytes {len(data) - 5}-{len(data) - 1}/{len(data)}"
    rest = client.get(url, headers={"Range": "bytes=10-"})
    assert rest.content == data[10:]


@pytest.mark.parametrize(
    "header",
    ["bytes={size}-", "bytes={size}-{beyond}", "bytes=-0"],
)
def test_unsatisfiable_range_is_416(
    big_client: httpx2.Client, big_file: tuple[bytes, str], header: str
) -> None:
    data, url = big_file
    value = header.format(size=len(data), beyond=len(data) + 10)
    response = big_client.get(url, headers={"Range": value})
    assert_problem(response, 416, "range_not_satisfiable")
    assert response.headers["content-range"] == f"bytes */{len(data)}"


@pytest.mark.parametrize(
    "header",
    ["bytes=abc", "items=0-5", "bytes=0-5,10-20", "bytes=-", "0-5", "bytes 0-5", "bytes=5"],
)
def test_malformed_or_multi_range_serves_whole_file(
    big_client: httpx2.Client, big_file: tuple[bytes, str], header: str
) -> None:
    data, url = big_file
    response = big_client.get(url, headers={"Range": header})
    assert response.status_code == 200
    assert "content-range" not in response.headers
    assert response.headers["content-length"] == str(len(data))
    assert response.content == data


def test_if_range_with_current_etag_honours_range(
    big_client: httpx2.Client, big_file: tuple[bytes, str]
) -> None:
    data, url = big_file
    etag = f'"{hashlib.sha256(data).hexdigest()}"'
    hit = big_client.get(url, headers={"Range": "bytes=0-99", "If-Range": etag})
    assert hit.status_code == 206
    assert hit.content == data[:100]
    stale = big_client.get(url, headers={"Range": "bytes=0-99", "If-Range": f'"{"0" * 64}"'})
    assert stale.status_code == 200
    assert stale.content == data


# ------------------------------------------------------------------ frame edges and integrity


@pytest.mark.parametrize("size", [MiB, 2 * MiB, MiB + 1])
def test_sizes_on_frame_boundaries_round_trip(client: httpx2.Client, size: int) -> None:
    data = b"%PDF-1.7\n" + os.urandom(size - 9)
    doc = upload(client, ("edge.pdf", data))
    url = content_url(doc)
    assert client.get(url).content == data
    last = client.get(url, headers={"Range": f"bytes={size - 1}-"})
    assert last.status_code == 206
    assert last.content == data[-1:]
    second_frame = client.get(url, headers={"Range": f"bytes={MiB - 1}-"})
    assert second_frame.content == data[MiB - 1 :]


def test_tampered_first_frame_is_a_clean_500(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    data = b"%PDF-1.7\n" + b"confidential " * 1000
    doc = upload(client, ("secret.pdf", data))
    blob = blob_path(server, tenant, doc["files"][0]["id"])
    raw = bytearray(blob.read_bytes())
    raw[16 + 100] ^= 0x01  # inside the first (only) frame, after the 16-byte header
    blob.write_bytes(bytes(raw))
    response = client.get(content_url(doc))
    assert_problem(response, 500, "integrity_error")
    assert b"confidential" not in response.content


def test_tampered_later_frame_never_completes_the_download(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    data = b"%PDF-1.7\n" + os.urandom(int(2.5 * MiB))
    doc = upload(client, ("big.pdf", data))
    blob = blob_path(server, tenant, doc["files"][0]["id"])
    raw = bytearray(blob.read_bytes())
    raw[-100] ^= 0x01  # inside the third (last) frame
    blob.write_bytes(bytes(raw))
    url = content_url(doc)

    # A range inside the intact first frame is still served.
    head = client.get(url, headers={"Range": "bytes=0-1023"})
    assert head.status_code == 206
    assert head.content == data[:1024]

    # The whole file starts streaming but must be cut off before the unverified frame.
    received = bytearray()

    def download() -> None:
        with client.stream("GET", url) as response:
            assert response.status_code == 200
            for chunk in response.iter_bytes():
                received.extend(chunk)

    with pytest.raises(httpx2.TransportError):
        download()
    assert len(received) < len(data)
    assert received == data[: len(received)]
    assert len(received) <= 2 * MiB
