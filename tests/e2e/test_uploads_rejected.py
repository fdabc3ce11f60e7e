"""End to end: uploads refused for what they carry: too many files for the request or the
document, and content that does not match its extension, is not allowed, holds markup or
is empty.

Every rejected upload must leave nothing behind: no document row, no published blob in the
tenant's blob directory and no leftover in the blob store's staging directory.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx2
import pytest

from tests.e2e.uploads_support import (
    Snapshot,
    assert_problem,
    assert_staging_empty,
    blob_path,
    create,
    pdf_part,
    plain_zip_bytes,
    png_part,
    tenant_blobs,
)
from tests.helpers import PDF_BYTES, MiB, Part, Server, image_bytes, post_multipart

# Every answer is checked against the OpenAPI documents (tests/spec_conformance.py).
pytestmark = pytest.mark.usefixtures("responses_conform")

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


@pytest.mark.parametrize(
    ("name", "data"),
    [
        (
            "padded.txt",
            b" " * 9000
            + b"<!doctype html><html><body><script>alert(document.domain)</script></body></html>",
        ),
        # The tag straddles the first 1 MiB batch and the second.
        ("ledger.csv", b"date,amount\n" * (MiB // 12) + b"a" * (MiB % 12 - 3) + b"<script>x"),
    ],
    ids=["past-the-sniffing-window", "split-between-batches"],
)
def test_markup_anywhere_in_a_text_file_is_415(
    server: Server, tenant: dict[str, Any], client: httpx2.Client, name: str, data: bytes
) -> None:
    before = Snapshot(server, tenant, client)
    response = create(client, "bank_statement", Part("file", data, name))
    assert_problem(response, 415, "markup_not_allowed")
    before.assert_unchanged()


def test_large_text_with_angle_brackets_is_accepted(client: httpx2.Client) -> None:
    data = b"a < b, c<d, x <= y <3 <scripts>\n" * (3 * MiB // 32)
    response = create(client, "bank_statement", Part("file", data, "notes.txt"))
    assert response.status_code == 201, response.text
    assert response.json()["files"][0]["content_type"] == "text/plain"


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
