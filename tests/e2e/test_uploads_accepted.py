"""End to end: multipart uploads into POST /v1/documents and POST /v1/documents/{id}/files.

Every rejected upload must leave nothing behind: no document row, no published blob in the
tenant's blob directory and no leftover in the blob store's staging directory.
"""

from __future__ import annotations

import hashlib
import io
import os
import socket
import time
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx2
import pytest

from tests.helpers import PDF_BYTES, MiB, Part, Server, image_bytes, multipart, post_multipart

PNG_TYPE = "image/png"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


# --------------------------------------------------------------------------- helpers


def docx_bytes() -> bytes:
    """A minimal Office Open XML word document."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/word/document.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
            "</Types>",
        )
        archive.writestr(
            "word/document.xml",
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
            "<w:body><w:p><w:r><w:t>Proof of address</w:t></w:r></w:p></w:body></w:document>",
        )
    return buffer.getvalue()


def plain_zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.md", "just a zip")
    return buffer.getvalue()


TEXT_BYTES = b"Account holder: Jane Doe\nIBAN: DE89 3704 0044 0532 0130 00\n"
CSV_BYTES = b"date,amount,currency\n2024-01-02,100.50,EUR\n2024-01-03,-20.00,EUR\n"


def blobs_root(server: Server) -> Path:
    return server.data_dir / "blobs"


def staging_dir(server: Server) -> Path:
    return blobs_root(server) / ".staging"


def tenant_blob_dir(server: Server, tenant: dict[str, Any]) -> Path:
    return blobs_root(server) / UUID(str(tenant["tenant_id"])).hex


def blob_path(server: Server, tenant: dict[str, Any], file_id: str) -> Path:
    hex_id = UUID(file_id).hex
    return tenant_blob_dir(server, tenant) / hex_id[:2] / hex_id


def tenant_blobs(server: Server, tenant: dict[str, Any]) -> set[Path]:
    root = tenant_blob_dir(server, tenant)
    if not root.exists():
        return set()
    return {path for path in root.rglob("*") if path.is_file()}


def staging_files(server: Server) -> list[str]:
    return sorted(
        entry.name for entry in staging_dir(server).iterdir() if not entry.name.startswith("ready-")
    )


def document_ids(client: httpx2.Client) -> set[str]:
    response = client.get("/v1/documents", params={"limit": 100})
    assert response.status_code == 200, response.text
    return {doc["id"] for doc in response.json()["data"]}


def assert_problem(
    response: httpx2.Response, status: int, code: str | None = None
) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    if code is not None:
        assert body["code"] == code, body
    return body


class Snapshot:
    """What a tenant has stored, to prove that a rejected request added nothing."""

    def __init__(self, server: Server, tenant: dict[str, Any], client: httpx2.Client) -> None:
        self.server, self.tenant, self.client = server, tenant, client
        self.documents = document_ids(client)
        self.blobs = tenant_blobs(server, tenant)
        self.file_counts = {
            doc_id: len(client.get(f"/v1/documents/{doc_id}").json()["files"])
            for doc_id in self.documents
        }

    def assert_unchanged(self) -> None:
        assert document_ids(self.client) == self.documents
        assert tenant_blobs(self.server, self.tenant) == self.blobs
        for doc_id, count in self.file_counts.items():
            assert len(self.client.get(f"/v1/documents/{doc_id}").json()["files"]) == count
        assert_staging_empty(self.server)


def assert_staging_empty(server: Server, timeout: float = 5.0) -> None:
    """Staging must be empty; discarding runs before the response is sent, but allow a short
    grace for a request the client abandoned."""
    deadline = time.monotonic() + timeout
    while staging_files(server) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert staging_files(server) == []


def create(client: httpx2.Client, doc_type: str, *parts: Part, **fields: str) -> httpx2.Response:
    form = [Part("type", doc_type.encode())]
    form += [Part(name, value.encode()) for name, value in fields.items()]
    return post_multipart(client, "/v1/documents", [*form, *parts])


def png_part(name: str = "scan.png", data: bytes | None = None) -> Part:
    return Part("file", data if data is not None else image_bytes("PNG"), name, PNG_TYPE)


def pdf_part(name: str = "doc.pdf", data: bytes = PDF_BYTES) -> Part:
    return Part("file", data, name, "application/pdf")


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


# --------------------------------------------------------------------------- file counts


def test_six_files_in_one_request_is_400(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    before = Snapshot(server, tenant, client)
    response = create(client, "bank_statement", *[png_part(f"p{i}.png") for i in range(6)])
    assert_problem(response, 400, "too_many_files")
    before.assert_unchanged()


def test_six_files_on_files_route_is_400(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    created = create(client, "bank_statement", pdf_part())
    assert created.status_code == 201, created.text
    doc_id = created.json()["id"]
    before = Snapshot(server, tenant, client)
    response = post_multipart(
        client, f"/v1/documents/{doc_id}/files", [png_part(f"p{i}.png") for i in range(6)]
    )
    assert_problem(response, 400, "too_many_files")
    before.assert_unchanged()


def test_eleventh_file_on_a_document_is_409(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    created = create(client, "bank_statement", *[png_part(f"a{i}.png") for i in range(5)])
    assert created.status_code == 201, created.text
    doc_id = created.json()["id"]
    more = post_multipart(
        client, f"/v1/documents/{doc_id}/files", [png_part(f"b{i}.png") for i in range(5)]
    )
    assert more.status_code == 201, more.text
    assert len(client.get(f"/v1/documents/{doc_id}").json()["files"]) == 10
    assert len(tenant_blobs(server, tenant)) == 10

    before = Snapshot(server, tenant, client)
    response = post_multipart(client, f"/v1/documents/{doc_id}/files", [png_part("c.png")])
    assert_problem(response, 409, "too_many_files")
    before.assert_unchanged()


def test_files_overflowing_the_document_limit_are_all_rejected(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    """9 files stored, 2 more sent: the pre-check passes (9 < 10) but the batch would make 11,
    so both new files are refused and their (already published) blobs removed."""
    created = create(client, "bank_statement", *[png_part(f"a{i}.png") for i in range(5)])
    doc_id = created.json()["id"]
    more = post_multipart(
        client, f"/v1/documents/{doc_id}/files", [png_part(f"b{i}.png") for i in range(4)]
    )
    assert more.status_code == 201, more.text
    before = Snapshot(server, tenant, client)
    response = post_multipart(
        client, f"/v1/documents/{doc_id}/files", [png_part("c1.png"), png_part("c2.png")]
    )
    assert_problem(response, 409, "too_many_files")
    before.assert_unchanged()
    assert len(client.get(f"/v1/documents/{doc_id}").json()["files"]) == 9


def test_concurrent_adds_never_exceed_the_document_limit(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    created = create(client, "bank_statement", *[png_part(f"a{i}.png") for i in range(5)])
    doc_id = created.json()["id"]
    more = post_multipart(
        client, f"/v1/documents/{doc_id}/files", [png_part(f"b{i}.png") for i in range(4)]
    )
    assert more.status_code == 201, more.text

    def add(index: int) -> int:
        with server.client(tenant["api_key"]) as own:
            data = b"%PDF-1.7\n" + os.urandom(300_000)
            url = f"/v1/documents/{doc_id}/files"
            return post_multipart(own, url, [pdf_part(f"c{index}.pdf", data)]).status_code

    with ThreadPoolExecutor(6) as pool:
        statuses = list(pool.map(add, range(6)))
    assert sorted(statuses) == [201] + [409] * 5
    files = client.get(f"/v1/documents/{doc_id}").json()["files"]
    assert len(files) == 10
    assert tenant_blobs(server, tenant) == {blob_path(server, tenant, f["id"]) for f in files}
    assert_staging_empty(server)


# --------------------------------------------------------------------------- content checks


EXE_BYTES = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200


@pytest.mark.parametrize(
    ("filename", "data"),
    [
        ("statement.pdf", image_bytes("PNG")),
        ("photo.jpg", EXE_BYTES),
        ("photo.png", image_bytes("JPEG")),
        ("letter.docx", PDF_BYTES),
        ("notes.txt", image_bytes("PNG")),
        ("letter.docx", plain_zip_bytes()),
        ("setup.exe\x00.png", EXE_BYTES),
    ],
    ids=[
        "png-as-pdf",
        "exe-as-jpg",
        "jpeg-as-png",
        "pdf-as-docx",
        "png-as-txt",
        "zip-as-docx",
        "exe-behind-nul",
    ],
)
def test_content_not_matching_extension_is_422(
    server: Server, tenant: dict[str, Any], client: httpx2.Client, filename: str, data: bytes
) -> None:
    before = Snapshot(server, tenant, client)
    response = create(client, "bank_statement", Part("file", data, filename))
    assert_problem(response, 422, "content_mismatch")
    before.assert_unchanged()


@pytest.mark.parametrize(
    ("filename", "data"),
    [
        ("setup.exe", EXE_BYTES),
        ("page.html", b"<!doctype html><html><body>hi</body></html>"),
        ("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg"></svg>'),
        ("SCAN.EXE", EXE_BYTES),
        ("scan.png.html", b"<html></html>"),
        ("setup.exe. . ", EXE_BYTES),
        ("archive.zip", plain_zip_bytes()),
    ],
)
def test_extension_not_allowed_is_415(
    server: Server, tenant: dict[str, Any], client: httpx2.Client, filename: str, data: bytes
) -> None:
    before = Snapshot(server, tenant, client)
    response = create(client, "bank_statement", Part("file", data, filename))
    assert_problem(response, 415, "extension_not_allowed")
    before.assert_unchanged()


@pytest.mark.parametrize(
    "data",
    [
        b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>',
        b"<!DOCTYPE html>\n<html><body>hello</body></html>",
        b'<?xml version="1.0"?><root/>',
        b"Dear customer,\nplease see <script>alert(document.cookie)</script>\n",
        b"   <html><head><title>x</title></head></html>",
    ],
    ids=["svg", "html-doctype", "xml", "script-inside-text", "leading-space-html"],
)
def test_markup_in_text_file_is_415(
    server: Server, tenant: dict[str, Any], client: httpx2.Client, data: bytes
) -> None:
    before = Snapshot(server, tenant, client)
    response = create(client, "bank_statement", Part("file", data, "notes.txt", "text/plain"))
    assert_problem(response, 415, "markup_not_allowed")
    before.assert_unchanged()


def test_markup_in_text_file_on_files_route_is_415(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    created = create(client, "bank_statement", pdf_part())
    doc_id = created.json()["id"]
    before = Snapshot(server, tenant, client)
    response = post_multipart(
        client,
        f"/v1/documents/{doc_id}/files",
        [Part("file", b"<svg><script>alert(1)</script></svg>", "ledger.csv")],
    )
    assert_problem(response, 415, "markup_not_allowed")
    before.assert_unchanged()


def test_no_extension_unknown_binary_is_415(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    before = Snapshot(server, tenant, client)
    data = bytes(range(256)) * 8
    response = create(client, "bank_statement", Part("file", data, "blob"))
    assert_problem(response, 415, "unsupported_media_type")
    before.assert_unchanged()


def test_no_extension_known_content_takes_the_detected_type(client: httpx2.Client) -> None:
    response = create(client, "bank_statement", Part("file", image_bytes("PNG"), "scan"))
    assert response.status_code == 201, response.text
    [stored] = response.json()["files"]
    assert stored["filename"] == "scan"
    assert stored["content_type"] == "image/png"


def test_empty_file_is_422(server: Server, tenant: dict[str, Any], client: httpx2.Client) -> None:
    before = Snapshot(server, tenant, client)
    response = create(client, "bank_statement", Part("file", b"", "empty.pdf"))
    assert_problem(response, 422, "empty_file")
    before.assert_unchanged()


def test_empty_second_file_rejects_the_first_too(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    before = Snapshot(server, tenant, client)
    response = create(
        client, "bank_statement", pdf_part(), Part("file", b"", "empty.png"), png_part()
    )
    assert_problem(response, 422, "empty_file")
    before.assert_unchanged()


def test_text_head_ending_mid_character_is_still_text(client: httpx2.Client) -> None:
    """The sniffer sees the first 8 KiB; a 3-byte character split there is not binary."""
    data = ("€" * 3000).encode()
    assert len(data) > 8192 and 8192 % 3 != 0
    response = create(client, "bank_statement", Part("file", data, "euros.txt"))
    assert response.status_code == 201, response.text
    assert response.json()["files"][0]["content_type"] == "text/plain"


def test_upper_case_extension_is_accepted(client: httpx2.Client) -> None:
    response = create(client, "bank_statement", png_part("SCAN.PNG"))
    assert response.status_code == 201, response.text
    [stored] = response.json()["files"]
    assert (stored["filename"], stored["content_type"]) == ("SCAN.PNG", "image/png")


@pytest.mark.parametrize(
    "second",
    [
        Part("file", EXE_BYTES, "second.exe"),
        Part("file", b"x", "a" * 1100 + ".png"),
        Part("file", b"<html></html>", "second.txt"),
        Part("file", image_bytes("PNG"), "second.pdf"),
    ],
    ids=["extension", "filename-too-long", "markup", "mismatch"],
)
def test_bad_second_file_discards_the_good_first(
    server: Server, tenant: dict[str, Any], client: httpx2.Client, second: Part
) -> None:
    before = Snapshot(server, tenant, client)
    big_first = b"%PDF-1.7\n" + os.urandom(int(1.2 * MiB))  # over one frame: really staged
    response = create(client, "bank_statement", pdf_part("first.pdf", big_first), second)
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    before.assert_unchanged()


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


# --------------------------------------------------------------------------- filenames


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("../../etc/passwd.png", "passwd.png"),
        ("/etc/passwd.png", "passwd.png"),
        ("C:\\x\\scan.png", "scan.png"),
        ("..\\..\\windows\\scan.png", "scan.png"),
        ("sc\x01an\x1b\x7f.png", "scan.png"),
        ("sc\nan.png", "scan.png"),
        ("invoice\u202egnp.exe.png", "invoicegnp.exe.png"),
        ("zero\u200bwidth.png", "zerowidth.png"),
        ("tab\tname.png", "tab name.png"),
        ("trailing.png. . ", "trailing.png"),
        ("паспорт.png", "паспорт.png"),
    ],
    ids=[
        "traversal",
        "absolute",
        "windows-path",
        "windows-traversal",
        "controls",
        "newline",
        "rtl-override",
        "zero-width",
        "tab",
        "trailing-dots",
        "unicode",
    ],
)
def test_filenames_are_sanitised(
    server: Server, tenant: dict[str, Any], client: httpx2.Client, raw: str, stored: str
) -> None:
    response = create(client, "bank_statement", png_part(raw))
    assert response.status_code == 201, response.text
    [file] = response.json()["files"]
    assert file["filename"] == stored
    # The blob lives under the server's own id, whatever the name said.
    assert tenant_blobs(server, tenant) == {blob_path(server, tenant, file["id"])}
    assert not (server.root / "etc").exists()
    assert not (server.data_dir / "etc").exists()


def test_filename_too_long_is_400(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    before = Snapshot(server, tenant, client)
    response = create(client, "bank_statement", png_part("a" * 1996 + ".png"))
    assert len(("a" * 1996 + ".png").encode()) == 2000
    body = assert_problem(response, 400, "filename_too_long")
    assert body["errors"][0]["field"] == "files.0"
    before.assert_unchanged()


def test_long_filename_is_capped_keeping_extension(client: httpx2.Client) -> None:
    response = create(client, "bank_statement", png_part("b" * 600 + ".png"))
    assert response.status_code == 201, response.text
    name = response.json()["files"][0]["filename"]
    assert name.endswith(".png")
    assert len(name.encode()) <= 255
    assert name == "b" * 251 + ".png"


def test_filename_that_sanitises_to_nothing_is_stored_without_name(client: httpx2.Client) -> None:
    response = create(client, "bank_statement", png_part("../.."))
    assert response.status_code == 201, response.text
    file = response.json()["files"][0]
    assert file["filename"] is None
    assert file["content_type"] == "image/png"


# --------------------------------------------------------------------------- abandoned uploads


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


def _status_and_body(raw: bytes) -> tuple[int, bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0]
    return int(status_line.split()[1]), body


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
