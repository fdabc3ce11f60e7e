"""End to end: the structure of an upload request: its multipart form (file parts, form
fields, their names, counts and values), its content type, and bodies that are
truncated, malformed or abandoned by the client.

Every rejected upload must leave nothing behind: no document row, no published blob in the
tenant's blob directory and no leftover in the blob store's staging directory.
"""

from __future__ import annotations

import os
import socket
import time
from typing import Any

import httpx2
import pytest

from tests.e2e.uploads_support import (
    PNG_TYPE,
    Snapshot,
    assert_problem,
    create,
    document_ids,
    pdf_part,
    png_part,
    staging_files,
)
from tests.helpers import MiB, Part, Server, image_bytes, multipart, post_multipart

# Every answer is checked against the OpenAPI documents (tests/spec_conformance.py).
pytestmark = pytest.mark.usefixtures("responses_conform")

# --------------------------------------------------------------------------- form structure


def test_missing_file_part_is_400(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    before = Snapshot(server, tenant, client)
    response = create(client, "passport", name="No files")
    body = assert_problem(response, 400, "file_required")
    assert body["errors"][0]["field"] == "file"
    before.assert_unchanged()


def test_missing_file_part_on_files_route_is_400(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    doc_id = create(client, "bank_statement", pdf_part()).json()["id"]
    before = Snapshot(server, tenant, client)
    response = post_multipart(client, f"/v1/documents/{doc_id}/files", [Part("role", b"")])
    assert_problem(response, 400, "file_required")
    before.assert_unchanged()


def test_file_field_without_filename_is_not_a_file(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    before = Snapshot(server, tenant, client)
    response = create(client, "passport", Part("file", b"plain text, not a file part"))
    assert_problem(response, 400, "file_required")
    before.assert_unchanged()


def test_too_many_form_fields_is_400(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    before = Snapshot(server, tenant, client)
    response = create(client, "passport", png_part(), *[Part("role", b"") for _ in range(50)])
    assert_problem(response, 400, "too_many_fields")
    before.assert_unchanged()


def test_form_field_too_large_is_400(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    before = Snapshot(server, tenant, client)
    response = create(client, "passport", png_part(), name="n" * (64 * 1024 + 1))
    body = assert_problem(response, 400, "field_too_large")
    assert body["errors"][0]["field"] == "name"
    before.assert_unchanged()


def test_file_part_under_another_name_is_400(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    before = Snapshot(server, tenant, client)
    response = create(
        client, "passport", png_part(), Part("document", image_bytes("PNG"), "b.png", PNG_TYPE)
    )
    body = assert_problem(response, 400, "unexpected_file")
    assert body["errors"][0]["field"] == "document"
    before.assert_unchanged()


def test_unknown_document_type_is_400(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    before = Snapshot(server, tenant, client)
    response = create(client, "library_card", png_part())
    body = assert_problem(response, 400, "unknown_document_type")
    assert body["errors"][0]["field"] == "type"
    before.assert_unchanged()


def test_type_alias_is_resolved(client: httpx2.Client) -> None:
    response = create(client, "id_passport", png_part(), Part("role", b"PAGE1"))
    assert response.status_code == 201, response.text
    assert response.json()["type"] == "passport"


def test_missing_type_is_400(server: Server, tenant: dict[str, Any], client: httpx2.Client) -> None:
    before = Snapshot(server, tenant, client)
    response = post_multipart(client, "/v1/documents", [png_part()])
    assert_problem(response, 400)
    before.assert_unchanged()


@pytest.mark.parametrize("field", ["type", "name"])
def test_duplicate_non_repeatable_field_is_400(
    server: Server, tenant: dict[str, Any], client: httpx2.Client, field: str
) -> None:
    before = Snapshot(server, tenant, client)
    if field == "type":
        parts = [Part("type", b"passport"), Part("type", b"national_id"), png_part()]
    else:
        parts = [Part("type", b"passport"), Part("name", b"one"), Part("name", b"two"), png_part()]
    response = post_multipart(client, "/v1/documents", parts)
    body = assert_problem(response, 400, "duplicate_field")
    assert body["errors"][0]["field"] == field
    before.assert_unchanged()


def test_unknown_form_field_is_400(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    before = Snapshot(server, tenant, client)
    response = create(client, "passport", png_part(), colour="blue")
    assert_problem(response, 400)
    before.assert_unchanged()


def test_invalid_metadata_json_is_400(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    before = Snapshot(server, tenant, client)
    response = create(client, "passport", png_part(), metadata="{not json")
    assert_problem(response, 400, "invalid_json")
    before.assert_unchanged()


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"issue_date": "2024-13-45"}, None),
        ({"issue_date": "2024-05-01", "expiry_date": "2024-04-30"}, "expiry_before_issue"),
        ({"issuing_country": "XX"}, "invalid_country"),
        ({"subject_id": "7d4c9c39-2b1e-4f41-9a58-8a1f6c1f2a10"}, "subject_not_found"),
        ({"authenticity": "FORGED"}, None),
    ],
    ids=["bad-date", "expiry-before-issue", "bad-country", "unknown-subject", "bad-enum"],
)
def test_invalid_metadata_after_the_files_stores_nothing(
    server: Server,
    tenant: dict[str, Any],
    client: httpx2.Client,
    fields: dict[str, str],
    code: str | None,
) -> None:
    """Form fields sent after the file parts are validated once the files are staged; a
    failure must still remove them."""
    before = Snapshot(server, tenant, client)
    big = b"%PDF-1.7\n" + os.urandom(int(1.2 * MiB))
    parts = [Part("type", b"bank_statement"), pdf_part("a.pdf", big), png_part()]
    parts += [Part(name, value.encode()) for name, value in fields.items()]
    response = post_multipart(client, "/v1/documents", parts)
    assert_problem(response, 400, code)
    before.assert_unchanged()


def _truncated_body(parts: list[Part]) -> tuple[str, bytes]:
    content_type, body, _ = multipart(parts)
    chunks = list(body)
    return content_type, b"".join(chunks[:-1])  # everything but the closing boundary


def test_truncated_multipart_is_400_and_cleans_staging(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    before = Snapshot(server, tenant, client)
    # Over one cipher frame, so a staging blob has been written when the body ends.
    big = b"%PDF-1.7\n" + os.urandom(int(1.5 * MiB))
    content_type, body = _truncated_body([Part("type", b"bank_statement"), pdf_part("a.pdf", big)])
    response = client.post("/v1/documents", content=body, headers={"Content-Type": content_type})
    assert_problem(response, 400, "malformed_multipart")
    before.assert_unchanged()


def test_truncated_multipart_after_complete_file_is_400(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    before = Snapshot(server, tenant, client)
    content_type, body = _truncated_body([Part("type", b"passport"), png_part()])
    response = client.post("/v1/documents", content=body, headers={"Content-Type": content_type})
    assert_problem(response, 400, "malformed_multipart")
    before.assert_unchanged()


def test_garbage_multipart_body_is_400(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    before = Snapshot(server, tenant, client)
    response = client.post(
        "/v1/documents",
        content=b"this is not multipart at all",
        headers={"Content-Type": "multipart/form-data; boundary=abc"},
    )
    assert_problem(response, 400, "malformed_multipart")
    before.assert_unchanged()


def test_json_on_files_route_is_415(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    doc_id = create(client, "bank_statement", pdf_part()).json()["id"]
    before = Snapshot(server, tenant, client)
    response = client.post(f"/v1/documents/{doc_id}/files", json={"file": "aGVsbG8="})
    assert_problem(response, 415, "unsupported_content_type")
    before.assert_unchanged()


@pytest.mark.parametrize("route", ["documents", "files"])
def test_multipart_without_boundary_is_415(
    server: Server, tenant: dict[str, Any], client: httpx2.Client, route: str
) -> None:
    doc_id = create(client, "bank_statement", pdf_part()).json()["id"]
    url = "/v1/documents" if route == "documents" else f"/v1/documents/{doc_id}/files"
    before = Snapshot(server, tenant, client)
    _, body, _ = multipart([Part("type", b"passport"), png_part()])
    response = client.post(
        url, content=b"".join(body), headers={"Content-Type": "multipart/form-data"}
    )
    assert_problem(response, 415, "unsupported_content_type")
    before.assert_unchanged()


def test_other_content_type_on_documents_route_is_415(client: httpx2.Client) -> None:
    response = client.post(
        "/v1/documents", content=b"type=passport", headers={"Content-Type": "text/plain"}
    )
    assert_problem(response, 415, "unsupported_content_type")
    assert document_ids(client) == set()


def test_json_document_without_files_is_created(client: httpx2.Client) -> None:
    response = client.post("/v1/documents", json={"type": "passport", "name": "Metadata only"})
    assert response.status_code == 201, response.text
    assert response.json()["files"] == []
    assert response.json()["name"] == "Metadata only"


# --------------------------------------------------------------------------- abandoned uploads


@pytest.mark.server_process  # a raw socket, hung up mid-body
def test_client_disconnect_mid_upload_leaves_nothing(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    before = Snapshot(server, tenant, client)
    big = b"%PDF-1.7\n" + os.urandom(3 * MiB)
    content_type, body, length = multipart([Part("type", b"bank_statement"), pdf_part("a", big)])
    payload = b"".join(body)
    assert length == len(payload)
    head = (
        f"POST /v1/documents HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {tenant['api_key']}\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {length}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=15) as sock:
        # Send a bit more than two cipher frames of the file, then hang up.
        sock.sendall(head + payload[: int(2.5 * MiB)])
        deadline = time.monotonic() + 10
        while not staging_files(server) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert staging_files(server), "the upload never reached the staging area"
    before.assert_unchanged()
