"""End to end: multipart uploads into POST /v1/documents and POST /v1/documents/{id}/files
that are accepted: every allowed format, several files with metadata, files added to a
document; per-file roles and client SHA-256 digests, and their refusal when they do not fit.

Every rejected upload must leave nothing behind: no document row, no published blob in the
tenant's blob directory and no leftover in the blob store's staging directory.
"""

from __future__ import annotations

import hashlib
from typing import Any

import httpx2
import pytest

from tests.e2e.uploads_support import (
    CSV_BYTES,
    DOCX_TYPE,
    TEXT_BYTES,
    Snapshot,
    assert_problem,
    assert_staging_empty,
    blob_path,
    create,
    document_ids,
    docx_bytes,
    pdf_part,
    png_part,
    tenant_blobs,
)
from tests.helpers import PDF_BYTES, Part, Server, image_bytes, post_multipart

# Every answer is checked against the OpenAPI documents (tests/spec_conformance.py).
pytestmark = pytest.mark.usefixtures("responses_conform")

# --------------------------------------------------------------------------- accepted uploads


FORMATS = [
    ("scan.png", lambda: image_bytes("PNG"), "image/png"),
    ("photo.jpg", lambda: image_bytes("JPEG"), "image/jpeg"),
    ("photo.jpeg", lambda: image_bytes("JPEG"), "image/jpeg"),
    ("statement.pdf", lambda: PDF_BYTES, "application/pdf"),
    ("notes.txt", lambda: TEXT_BYTES, "text/plain"),
    ("ledger.csv", lambda: CSV_BYTES, "text/csv"),
    ("letter.docx", docx_bytes, DOCX_TYPE),
]


@pytest.mark.parametrize(("filename", "make", "media_type"), FORMATS, ids=[f[0] for f in FORMATS])
def test_each_allowed_format_is_stored_encrypted(
    server: Server,
    tenant: dict[str, Any],
    client: httpx2.Client,
    filename: str,
    make: Any,
    media_type: str,
) -> None:
    data: bytes = make()
    response = create(
        client, "bank_statement", Part("file", data, filename, "application/octet-stream")
    )
    assert response.status_code == 201, response.text
    doc = response.json()
    assert response.headers["location"] == f"/v1/documents/{doc['id']}"
    assert doc["type"] == "bank_statement"
    assert doc["name"] == filename  # defaults to the first file's name
    [stored] = doc["files"]
    assert stored["filename"] == filename
    assert stored["content_type"] == media_type
    assert stored["size"] == len(data)
    assert stored["sha256"] == hashlib.sha256(data).hexdigest()
    assert stored["document_id"] == doc["id"]
    assert stored["role"] is None

    blob = blob_path(server, tenant, stored["id"])
    assert tenant_blobs(server, tenant) == {blob}
    ciphertext = blob.read_bytes()
    assert len(ciphertext) > len(data)
    assert data[:32] not in ciphertext  # encrypted at rest, not a copy
    assert_staging_empty(server)

    content = client.get(f"/v1/documents/{doc['id']}/files/{stored['id']}/content")
    assert content.status_code == 200
    assert content.content == data


def test_five_mixed_files_with_metadata_in_one_request(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    uploads = [
        ("front.png", image_bytes("PNG")),
        ("back.jpg", image_bytes("JPEG")),
        ("statement.pdf", PDF_BYTES),
        ("notes.txt", TEXT_BYTES),
        ("ledger.csv", CSV_BYTES),
    ]
    response = create(
        client,
        "bank_statement",
        *[Part("file", data, name) for name, data in uploads],
        name="January statement",
        id_number="ST-0001",
        issuing_country="de",
        issue_date="2024-01-31",
        expiry_date="2030-12-31",
        authenticity="COPY",
        metadata='{"bank": "Example Bank", "pages": 3}',
    )
    assert response.status_code == 201, response.text
    doc = response.json()
    assert doc["name"] == "January statement"
    assert doc["id_number"] == "ST-0001"
    assert doc["issuing_country"] == "DE"
    assert doc["issue_date"] == "2024-01-31"
    assert doc["expiry_date"] == "2030-12-31"
    assert doc["authenticity"] == "COPY"
    assert doc["metadata"] == {"bank": "Example Bank", "pages": 3}
    assert [f["filename"] for f in doc["files"]] == [name for name, _ in uploads]
    assert [f["content_type"] for f in doc["files"]] == [
        "image/png",
        "image/jpeg",
        "application/pdf",
        "text/plain",
        "text/csv",
    ]
    assert [f["sha256"] for f in doc["files"]] == [
        hashlib.sha256(data).hexdigest() for _, data in uploads
    ]
    assert len({f["id"] for f in doc["files"]}) == 5
    assert tenant_blobs(server, tenant) == {
        blob_path(server, tenant, f["id"]) for f in doc["files"]
    }
    # The document as read back holds the same files (order: see the test below).
    again = client.get(f"/v1/documents/{doc['id']}").json()
    assert {f["id"] for f in again["files"]} == {f["id"] for f in doc["files"]}
    assert document_ids(client) == {doc["id"]}


def test_files_read_back_in_upload_order(client: httpx2.Client) -> None:
    """Files are "in order" (roles and digests are matched to them by position), so a read
    must list them in the order they were uploaded, as the creation response does."""
    names = [f"page{i}.png" for i in range(1, 6)]
    response = create(client, "bank_statement", *[png_part(name) for name in names])
    assert response.status_code == 201, response.text
    doc = response.json()
    assert [f["filename"] for f in doc["files"]] == names
    again = client.get(f"/v1/documents/{doc['id']}").json()
    assert [f["filename"] for f in again["files"]] == names
    listed = client.get(f"/v1/documents/{doc['id']}/files").json()["data"]
    assert [f["filename"] for f in listed] == names


def test_add_files_to_existing_document(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    first = create(client, "bank_statement", pdf_part("page1.pdf"))
    assert first.status_code == 201, first.text
    doc_id = first.json()["id"]

    extra = [("page2.png", image_bytes("PNG")), ("letter.docx", docx_bytes())]
    response = post_multipart(
        client, f"/v1/documents/{doc_id}/files", [Part("file", d, n) for n, d in extra]
    )
    assert response.status_code == 201, response.text
    added = response.json()["data"]
    assert [f["filename"] for f in added] == ["page2.png", "letter.docx"]
    assert [f["content_type"] for f in added] == ["image/png", DOCX_TYPE]
    assert all(f["document_id"] == doc_id for f in added)

    doc = client.get(f"/v1/documents/{doc_id}").json()
    assert doc["files"][0]["filename"] == "page1.pdf"
    assert sorted(f["filename"] for f in doc["files"]) == ["letter.docx", "page1.pdf", "page2.png"]
    listed = client.get(f"/v1/documents/{doc_id}/files").json()["data"]
    assert {f["id"] for f in listed} == {f["id"] for f in doc["files"]}
    assert len(tenant_blobs(server, tenant)) == 3
    for name, data in extra:
        [stored] = [f for f in added if f["filename"] == name]
        got = client.get(f"/v1/documents/{doc_id}/files/{stored['id']}/content")
        assert got.content == data


def test_add_files_to_unknown_document_is_404(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    before = Snapshot(server, tenant, client)
    missing = "00000000-0000-4000-8000-000000000000"
    response = post_multipart(client, f"/v1/documents/{missing}/files", [png_part()])
    assert_problem(response, 404, "document_not_found")
    before.assert_unchanged()


def test_add_files_to_another_tenants_document_is_404(
    server: Server, tenant: dict[str, Any], client: httpx2.Client, other_client: httpx2.Client
) -> None:
    created = create(client, "bank_statement", pdf_part())
    assert created.status_code == 201, created.text
    doc_id = created.json()["id"]
    before = Snapshot(server, tenant, client)
    response = post_multipart(other_client, f"/v1/documents/{doc_id}/files", [png_part()])
    assert_problem(response, 404, "document_not_found")
    before.assert_unchanged()


# --------------------------------------------------------------------------- roles


@pytest.mark.parametrize(
    ("doc_type", "roles"),
    [("passport", ["PAGE1", "PAGE2"]), ("national_id", ["FRONT", "BACK"])],
)
def test_roles_allowed_by_the_type_are_stored_in_order(
    client: httpx2.Client, doc_type: str, roles: list[str]
) -> None:
    parts = [png_part("a.png"), Part("role", roles[0].encode()), png_part("b.png")]
    parts.append(Part("role", roles[1].encode()))
    response = create(client, doc_type, *parts)
    assert response.status_code == 201, response.text
    files = response.json()["files"]
    assert [(f["filename"], f["role"]) for f in files] == [("a.png", roles[0]), ("b.png", roles[1])]


@pytest.mark.parametrize(
    ("doc_type", "role"),
    [("passport", "FRONT"), ("national_id", "PAGE1"), ("bank_statement", "PAGE1")],
)
def test_role_not_allowed_for_type_stores_nothing(
    server: Server, tenant: dict[str, Any], client: httpx2.Client, doc_type: str, role: str
) -> None:
    before = Snapshot(server, tenant, client)
    response = create(client, doc_type, png_part(), Part("role", role.encode()))
    body = assert_problem(response, 400, "role_not_allowed")
    assert body["errors"][0]["field"] == "role"
    before.assert_unchanged()


def test_role_checked_on_files_route(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    created = create(client, "national_id", png_part(), Part("role", b"FRONT"))
    assert created.status_code == 201, created.text
    doc_id = created.json()["id"]
    before = Snapshot(server, tenant, client)

    bad = post_multipart(
        client, f"/v1/documents/{doc_id}/files", [png_part(), Part("role", b"PAGE2")]
    )
    assert_problem(bad, 400, "role_not_allowed")
    before.assert_unchanged()

    good = post_multipart(
        client, f"/v1/documents/{doc_id}/files", [png_part("back.png"), Part("role", b"BACK")]
    )
    assert good.status_code == 201, good.text
    assert good.json()["data"][0]["role"] == "BACK"


def test_role_count_must_match_file_count(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    before = Snapshot(server, tenant, client)
    response = create(client, "passport", png_part(), png_part(), Part("role", b"PAGE1"))
    assert_problem(response, 400, "count_mismatch")
    before.assert_unchanged()


def test_unknown_role_value_is_400(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    before = Snapshot(server, tenant, client)
    response = create(client, "passport", png_part(), Part("role", b"SIDEWAYS"))
    assert_problem(response, 400)
    before.assert_unchanged()


# --------------------------------------------------------------------------- client digests


def test_matching_sha256_is_accepted(client: httpx2.Client) -> None:
    first, second = image_bytes("PNG"), PDF_BYTES
    response = create(
        client,
        "bank_statement",
        png_part("a.png", first),
        Part("sha256", hashlib.sha256(first).hexdigest().upper().encode()),
        pdf_part("b.pdf", second),
        Part("sha256", hashlib.sha256(second).hexdigest().encode()),
    )
    assert response.status_code == 201, response.text
    assert [f["sha256"] for f in response.json()["files"]] == [
        hashlib.sha256(first).hexdigest(),
        hashlib.sha256(second).hexdigest(),
    ]


def test_sha256_mismatch_stores_nothing(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    before = Snapshot(server, tenant, client)
    data = image_bytes("PNG")
    wrong = hashlib.sha256(data + b"x").hexdigest()
    response = create(client, "passport", png_part("a.png", data), Part("sha256", wrong.encode()))
    body = assert_problem(response, 422, "checksum_mismatch")
    assert body["errors"][0]["field"] == "sha256"
    before.assert_unchanged()
    assert document_ids(client) == set()
    assert tenant_blobs(server, tenant) == set()


def test_sha256_mismatch_on_second_file_stores_neither(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    before = Snapshot(server, tenant, client)
    first, second = image_bytes("PNG"), PDF_BYTES
    response = create(
        client,
        "bank_statement",
        png_part("a.png", first),
        Part("sha256", hashlib.sha256(first).hexdigest().encode()),
        pdf_part("b.pdf", second),
        Part("sha256", ("0" * 64).encode()),
    )
    body = assert_problem(response, 422, "checksum_mismatch")
    assert body["errors"][0]["field"] == "sha256.1"
    before.assert_unchanged()


def test_sha256_mismatch_on_files_route_stores_nothing(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    created = create(client, "bank_statement", pdf_part())
    assert created.status_code == 201, created.text
    doc_id = created.json()["id"]
    before = Snapshot(server, tenant, client)
    response = post_multipart(
        client,
        f"/v1/documents/{doc_id}/files",
        [png_part(), Part("sha256", hashlib.sha256(b"other").hexdigest().encode())],
    )
    assert_problem(response, 422, "checksum_mismatch")
    before.assert_unchanged()


def test_sha256_count_mismatch_is_400(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    before = Snapshot(server, tenant, client)
    data = image_bytes("PNG")
    response = create(
        client,
        "bank_statement",
        png_part("a.png", data),
        png_part("b.png"),
        Part("sha256", hashlib.sha256(data).hexdigest().encode()),
    )
    assert_problem(response, 400, "count_mismatch")
    before.assert_unchanged()
