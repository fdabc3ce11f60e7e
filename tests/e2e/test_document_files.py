"""End to end: the files of a document as resources: their metadata and list, who may read
them, and deleting files and documents (their blobs must leave the disk)."""

from __future__ import annotations

import hashlib
from typing import Any
from uuid import UUID

import httpx2
import pytest

from tests.e2e.downloads_support import assert_problem, content_url, upload
from tests.e2e.uploads_support import blob_path, tenant_blobs
from tests.helpers import PDF_BYTES, Part, Server, image_bytes, post_multipart

# Every answer is checked against the OpenAPI documents (tests/spec_conformance.py).
pytestmark = pytest.mark.usefixtures("responses_conform")

# --------------------------------------------------------------------------- metadata and list


def test_file_metadata_and_list(client: httpx2.Client) -> None:
    front, back = image_bytes("PNG"), image_bytes("JPEG")
    response = post_multipart(
        client,
        "/v1/documents",
        [
            Part("type", b"national_id"),
            Part("file", front, "front.png"),
            Part("role", b"FRONT"),
            Part("file", back, "back.jpg"),
            Part("role", b"BACK"),
        ],
    )
    assert response.status_code == 201, response.text
    doc = response.json()
    listed = client.get(f"/v1/documents/{doc['id']}/files")
    assert listed.status_code == 200
    by_name = {f["filename"]: f for f in listed.json()["data"]}
    assert set(by_name) == {"front.png", "back.jpg"}
    for name, data, role, media in (
        ("front.png", front, "FRONT", "image/png"),
        ("back.jpg", back, "BACK", "image/jpeg"),
    ):
        item = by_name[name]
        one = client.get(f"/v1/documents/{doc['id']}/files/{item['id']}")
        assert one.status_code == 200
        meta = one.json()
        assert meta == item
        assert meta["document_id"] == doc["id"]
        assert meta["role"] == role
        assert meta["content_type"] == media
        assert meta["size"] == len(data)
        assert meta["sha256"] == hashlib.sha256(data).hexdigest()
        assert "blob_key" not in meta and "wrapped_dek" not in meta


def test_unknown_ids_are_404(client: httpx2.Client) -> None:
    doc = upload(client, ("a.pdf", PDF_BYTES))
    other_doc = upload(client, ("b.pdf", PDF_BYTES))
    missing = UUID(int=1)
    assert_problem(client.get(f"/v1/documents/{doc['id']}/files/{missing}"), 404, "file_not_found")
    assert_problem(
        client.get(f"/v1/documents/{doc['id']}/files/{missing}/content"), 404, "file_not_found"
    )
    assert_problem(client.get(f"/v1/documents/{missing}/files"), 404, "document_not_found")
    # A file addressed through the wrong document is not found either.
    wrong = f"/v1/documents/{other_doc['id']}/files/{doc['files'][0]['id']}"
    assert_problem(client.get(wrong), 404, "file_not_found")
    assert_problem(client.get(wrong + "/content"), 404, "file_not_found")


def test_other_tenant_cannot_read(client: httpx2.Client, other_client: httpx2.Client) -> None:
    doc = upload(client, ("a.pdf", PDF_BYTES))
    url = content_url(doc)
    assert client.get(url).status_code == 200
    assert_problem(other_client.get(url), 404, "document_not_found")
    assert_problem(
        other_client.get(f"/v1/documents/{doc['id']}/files/{doc['files'][0]['id']}"),
        404,
        "document_not_found",
    )
    assert other_client.head(url).status_code == 404
    assert other_client.delete(url.removesuffix("/content")).status_code == 404
    assert client.get(url).content == PDF_BYTES


def test_download_requires_authentication(server: Server, client: httpx2.Client) -> None:
    doc = upload(client, ("a.pdf", PDF_BYTES))
    with server.client(None) as anonymous:
        response = anonymous.get(content_url(doc))
    assert_problem(response, 401)
    assert PDF_BYTES not in response.content


# --------------------------------------------------------------------------- deletion


def test_delete_file_removes_row_and_blob(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    keep, drop = image_bytes("PNG"), PDF_BYTES
    doc = upload(client, ("keep.png", keep), ("drop.pdf", drop))
    by_name = {f["filename"]: f for f in doc["files"]}
    dropped, kept = by_name["drop.pdf"], by_name["keep.png"]
    dropped_blob = blob_path(server, tenant, dropped["id"])
    kept_blob = blob_path(server, tenant, kept["id"])
    assert dropped_blob.is_file() and kept_blob.is_file()

    file_url = f"/v1/documents/{doc['id']}/files/{dropped['id']}"
    deleted = client.delete(file_url)
    assert deleted.status_code == 204
    assert deleted.content == b""

    assert_problem(client.get(file_url), 404, "file_not_found")
    assert_problem(client.get(file_url + "/content"), 404, "file_not_found")
    assert client.head(file_url + "/content").status_code == 404
    assert_problem(client.delete(file_url), 404, "file_not_found")
    assert not dropped_blob.exists()
    assert tenant_blobs(server, tenant) == {kept_blob}

    remaining = client.get(f"/v1/documents/{doc['id']}/files").json()["data"]
    assert [f["id"] for f in remaining] == [kept["id"]]
    assert [f["id"] for f in client.get(f"/v1/documents/{doc['id']}").json()["files"]] == [
        kept["id"]
    ]
    got = client.get(f"/v1/documents/{doc['id']}/files/{kept['id']}/content")
    assert got.content == keep


def test_deleted_file_frees_a_slot(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    doc = upload(client, *[(f"a{i}.png", image_bytes("PNG")) for i in range(5)])
    more = post_multipart(
        client,
        f"/v1/documents/{doc['id']}/files",
        [Part("file", image_bytes("PNG"), f"b{i}.png") for i in range(5)],
    )
    assert more.status_code == 201, more.text
    full = post_multipart(
        client, f"/v1/documents/{doc['id']}/files", [Part("file", PDF_BYTES, "c.pdf")]
    )
    assert_problem(full, 409, "too_many_files")
    victim = doc["files"][0]["id"]
    assert client.delete(f"/v1/documents/{doc['id']}/files/{victim}").status_code == 204
    again = post_multipart(
        client, f"/v1/documents/{doc['id']}/files", [Part("file", PDF_BYTES, "c.pdf")]
    )
    assert again.status_code == 201, again.text
    assert len(tenant_blobs(server, tenant)) == 10


def test_delete_document_removes_all_its_blobs(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    doc = upload(
        client,
        ("a.png", image_bytes("PNG")),
        ("b.jpg", image_bytes("JPEG")),
        ("c.pdf", PDF_BYTES),
    )
    added = post_multipart(
        client, f"/v1/documents/{doc['id']}/files", [Part("file", b"plain text\n", "d.txt")]
    )
    assert added.status_code == 201, added.text
    survivor = upload(client, ("other.pdf", PDF_BYTES))
    survivor_blob = blob_path(server, tenant, survivor["files"][0]["id"])

    file_ids = [f["id"] for f in doc["files"]] + [added.json()["data"][0]["id"]]
    blobs = {blob_path(server, tenant, fid) for fid in file_ids}
    assert all(path.is_file() for path in blobs)
    assert tenant_blobs(server, tenant) == blobs | {survivor_blob}

    deleted = client.delete(f"/v1/documents/{doc['id']}")
    assert deleted.status_code == 204
    assert not any(path.exists() for path in blobs)
    assert tenant_blobs(server, tenant) == {survivor_blob}
    assert_problem(client.get(f"/v1/documents/{doc['id']}"), 404, "document_not_found")
    assert_problem(client.get(f"/v1/documents/{doc['id']}/files"), 404, "document_not_found")
    assert_problem(
        client.get(f"/v1/documents/{doc['id']}/files/{file_ids[0]}/content"),
        404,
        "document_not_found",
    )
    assert_problem(client.delete(f"/v1/documents/{doc['id']}"), 404, "document_not_found")
    listed = client.get("/v1/documents").json()["data"]
    assert [d["id"] for d in listed] == [survivor["id"]]
    assert client.get(content_url(survivor)).content == PDF_BYTES
