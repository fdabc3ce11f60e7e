"""End to end: size limits on uploads: the per-file limit (against a server of its own with
a small limit), and the request-body limits for multipart and JSON bodies, with or
without a Content-Length.

Every rejected upload must leave nothing behind: no document row, no published blob in the
tenant's blob directory and no leftover in the blob store's staging directory.
"""

from __future__ import annotations

import hashlib
import os
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from tests.e2e.uploads_support import (
    Snapshot,
    assert_problem,
    assert_staging_empty,
    blob_path,
    pdf_part,
    tenant_blobs,
)
from tests.helpers import MiB, Part, Server, multipart, post_multipart

# Every answer is checked against the OpenAPI documents (tests/spec_conformance.py).
pytestmark = pytest.mark.usefixtures("responses_conform")

# --------------------------------------------------------------------------- raw requests


def _raw_request(server: Server, head: bytes) -> bytes:
    """Send ``head`` alone and read one response (headers and Content-Length body)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=15) as sock:
        sock.sendall(head)
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
        head_end = received.find(b"\r\n\r\n")
        headers = received[:head_end].decode("latin-1").lower()
        length = 0
        for line in headers.split("\r\n"):
            if line.startswith("content-length:"):
                length = int(line.split(":", 1)[1])
        while len(received) < head_end + 4 + length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
        return received


def _status_and_body(raw: bytes) -> tuple[int, bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0]
    return int(status_line.split()[1]), body


# --------------------------------------------------------------------------- size limits


SMALL_LIMIT = 256 * 1024


@pytest.fixture(scope="module")
def small_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(
        tmp_path_factory.mktemp("small"), env_extra={"KYCVAULT_MAX_FILE_SIZE": str(SMALL_LIMIT)}
    ).start()
    yield srv
    srv.stop()


@pytest.fixture
def small_tenant(small_server: Server) -> dict[str, Any]:
    return small_server.create_tenant()


@pytest.fixture
def small_client(small_server: Server, small_tenant: dict[str, Any]) -> Iterator[httpx2.Client]:
    with small_server.client(small_tenant["api_key"]) as c:
        yield c


def pdf_of(size: int) -> bytes:
    header = b"%PDF-1.7\n"
    return header + os.urandom(size - len(header))


@pytest.mark.parametrize("send_length", [True, False], ids=["content-length", "chunked"])
def test_file_one_byte_over_limit_is_413(
    small_server: Server,
    small_tenant: dict[str, Any],
    small_client: httpx2.Client,
    send_length: bool,
) -> None:
    before = Snapshot(small_server, small_tenant, small_client)
    response = post_multipart(
        small_client,
        "/v1/documents",
        [Part("type", b"bank_statement"), pdf_part("big.pdf", pdf_of(SMALL_LIMIT + 1))],
        send_length=send_length,
    )
    assert_problem(response, 413, "file_too_large")
    before.assert_unchanged()


def test_streamed_generator_over_limit_is_413(
    small_server: Server, small_tenant: dict[str, Any], small_client: httpx2.Client
) -> None:
    """A file part of unknown size, streamed in small chunks with chunked encoding."""
    before = Snapshot(small_server, small_tenant, small_client)

    def pieces() -> Iterator[bytes]:
        yield b"%PDF-1.7\n"
        for _ in range(SMALL_LIMIT // 4096 + 2):
            yield os.urandom(4096)

    content_type, body, length = multipart(
        [Part("type", b"bank_statement"), Part("file", pieces(), "stream.pdf")]
    )
    assert length is None
    response = small_client.post(
        "/v1/documents", content=body, headers={"Content-Type": content_type}
    )
    assert_problem(response, 413, "file_too_large")
    before.assert_unchanged()


@pytest.mark.parametrize("send_length", [True, False], ids=["content-length", "chunked"])
def test_file_exactly_at_limit_is_accepted(
    small_server: Server,
    small_tenant: dict[str, Any],
    small_client: httpx2.Client,
    send_length: bool,
) -> None:
    data = pdf_of(SMALL_LIMIT)
    response = post_multipart(
        small_client,
        "/v1/documents",
        [Part("type", b"bank_statement"), pdf_part("edge.pdf", data)],
        send_length=send_length,
    )
    assert response.status_code == 201, response.text
    [stored] = response.json()["files"]
    assert stored["size"] == SMALL_LIMIT
    assert stored["sha256"] == hashlib.sha256(data).hexdigest()
    assert tenant_blobs(small_server, small_tenant) == {
        blob_path(small_server, small_tenant, stored["id"])
    }
    got = small_client.get(f"/v1/documents/{response.json()['id']}/files/{stored['id']}/content")
    assert got.content == data
    assert_staging_empty(small_server)


def test_second_file_over_limit_rejects_whole_request(
    small_server: Server, small_tenant: dict[str, Any], small_client: httpx2.Client
) -> None:
    before = Snapshot(small_server, small_tenant, small_client)
    response = post_multipart(
        small_client,
        "/v1/documents",
        [
            Part("type", b"bank_statement"),
            pdf_part("ok.pdf", pdf_of(SMALL_LIMIT)),
            pdf_part("big.pdf", pdf_of(SMALL_LIMIT + 10)),
        ],
    )
    assert_problem(response, 413, "file_too_large")
    before.assert_unchanged()


def test_oversize_file_on_files_route_is_413(
    small_server: Server, small_tenant: dict[str, Any], small_client: httpx2.Client
) -> None:
    created = post_multipart(
        small_client, "/v1/documents", [Part("type", b"bank_statement"), pdf_part()]
    )
    doc_id = created.json()["id"]
    before = Snapshot(small_server, small_tenant, small_client)
    response = post_multipart(
        small_client,
        f"/v1/documents/{doc_id}/files",
        [pdf_part("big.pdf", pdf_of(SMALL_LIMIT + 1))],
        send_length=False,
    )
    assert_problem(response, 413, "file_too_large")
    before.assert_unchanged()


def test_chunked_body_over_request_limit_is_413(
    small_server: Server, small_tenant: dict[str, Any], small_client: httpx2.Client
) -> None:
    """Without a Content-Length the limit is enforced on the bytes received: a valid form
    followed by an endless epilogue is cut off at the request limit."""
    before = Snapshot(small_server, small_tenant, small_client)
    limit = 5 * SMALL_LIMIT + 4 * MiB
    content_type, body, _ = multipart([Part("type", b"bank_statement"), pdf_part()])

    def endless() -> Iterator[bytes]:
        yield from body
        block = b"epilogue " * 7000
        for _ in range(limit // len(block) + 10):
            yield block

    response = small_client.post(
        "/v1/documents", content=endless(), headers={"Content-Type": content_type}
    )
    assert_problem(response, 413, "body_too_large")
    before.assert_unchanged()


@pytest.mark.parametrize("route", ["documents", "files"])
def test_content_length_over_request_limit_is_413_before_the_body(
    small_server: Server,
    small_tenant: dict[str, Any],
    small_client: httpx2.Client,
    route: str,
) -> None:
    doc_id = post_multipart(
        small_client, "/v1/documents", [Part("type", b"bank_statement"), pdf_part()]
    ).json()["id"]
    path = "/v1/documents" if route == "documents" else f"/v1/documents/{doc_id}/files"
    before = Snapshot(small_server, small_tenant, small_client)
    # The request limit is 5 files at the cap plus 4 MiB of form overhead.
    limit = 5 * SMALL_LIMIT + 4 * MiB
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {small_tenant['api_key']}\r\n"
        "Content-Type: multipart/form-data; boundary=xyz\r\n"
        f"Content-Length: {limit + 1}\r\n\r\n"
    ).encode()
    started = time.monotonic()
    raw = _raw_request(small_server, head)  # headers only: no body byte is ever sent
    assert time.monotonic() - started < 10
    status, body = _status_and_body(raw)
    assert status == 413, raw[:500]
    assert b'"code":"body_too_large"' in body
    before.assert_unchanged()


@pytest.mark.server_process  # a raw socket
def test_huge_content_length_is_413_on_default_server(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    before = Snapshot(server, tenant, client)
    head = (
        "POST /v1/documents HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {tenant['api_key']}\r\n"
        "Content-Type: multipart/form-data; boundary=xyz\r\n"
        f"Content-Length: {10**13}\r\n\r\n"
    ).encode()
    status, body = _status_and_body(_raw_request(server, head))
    assert status == 413
    assert b'"code":"body_too_large"' in body
    before.assert_unchanged()


@pytest.mark.server_process  # a raw socket
def test_json_body_over_json_limit_is_413(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    before = Snapshot(server, tenant, client)
    head = (
        "POST /v1/documents HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {tenant['api_key']}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {2 * MiB}\r\n\r\n"
    ).encode()
    status, body = _status_and_body(_raw_request(server, head))
    assert status == 413
    assert b'"code":"body_too_large"' in body
    before.assert_unchanged()
