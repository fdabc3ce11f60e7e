"""End to end: reading stored files back (content, headers, ranges, HEAD), file metadata,
and deleting files and documents (their blobs must leave the disk)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote
from uuid import UUID

import httpx2
import pytest

from tests.helpers import PDF_BYTES, MiB, Part, Server, image_bytes, post_multipart

# --------------------------------------------------------------------------- helpers


def blob_path(server: Server, tenant: dict[str, Any], file_id: str) -> Path:
    hex_id = UUID(file_id).hex
    return server.data_dir / "blobs" / UUID(str(tenant["tenant_id"])).hex / hex_id[:2] / hex_id


def tenant_blobs(server: Server, tenant: dict[str, Any]) -> set[Path]:
    root = server.data_dir / "blobs" / UUID(str(tenant["tenant_id"])).hex
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def upload(
    client: httpx2.Client,
    *files: tuple[str, bytes] | tuple[str, bytes, str],
    doc_type: str = "bank_statement",
) -> dict[str, Any]:
    parts = [Part("type", doc_type.encode())]
    for item in files:
        name, data = item[0], item[1]
        content_type = item[2] if len(item) > 2 else "application/octet-stream"
        parts.append(Part("file", data, name, content_type))
    response = post_multipart(client, "/v1/documents", parts)
    assert response.status_code == 201, response.text
    doc: dict[str, Any] = response.json()
    return doc


def content_url(doc: dict[str, Any], index: int = 0) -> str:
    return f"/v1/documents/{doc['id']}/files/{doc['files'][index]['id']}/content"


def disposition_params(header: str) -> dict[str, str]:
    kind, *params = [p.strip() for p in header.split(";")]
    values = {"": kind}
    for param in params:
        key, _, value = param.partition("=")
        values[key.strip().lower()] = value.strip()
    return values


def assert_problem(response: httpx2.Response, status: int, code: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    if code is not None:
        assert response.json()["code"] == code


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


# --------------------------------------------------------------------------- content and headers


def test_content_is_exact_bytes_with_safe_headers(client: httpx2.Client) -> None:
    data = image_bytes("PNG")
    # The client claims text/html: the stored type comes from the content, not the part header.
    doc = upload(client, ("x.png", data, "text/html"))
    stored = doc["files"][0]
    assert stored["content_type"] == "image/png"
    assert stored["sha256"] == hashlib.sha256(data).hexdigest()
    assert stored["size"] == len(data)

    response = client.get(content_url(doc))
    assert response.status_code == 200
    assert response.content == data
    headers = response.headers
    assert headers["content-type"] == "image/png"
    assert headers["content-length"] == str(len(data))
    assert headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in headers["content-security-policy"]
    assert "default-src 'none'" in headers["content-security-policy"]
    assert headers["cache-control"] == "private, no-store"
    assert headers["etag"] == f'"{hashlib.sha256(data).hexdigest()}"'
    assert headers["accept-ranges"] == "bytes"
    assert headers["cross-origin-resource-policy"] == "same-origin"
    params = disposition_params(headers["content-disposition"])
    assert params[""] == "attachment"
    assert params["filename"] == '"x.png"'
    assert params["filename*"] == "UTF-8''x.png"


def test_inline_disposition_on_request(client: httpx2.Client) -> None:
    doc = upload(client, ("scan.pdf", PDF_BYTES))
    inline = client.get(content_url(doc), params={"disposition": "inline"})
    assert inline.status_code == 200
    assert inline.headers["content-disposition"].startswith("inline;")
    assert "sandbox" in inline.headers["content-security-policy"]
    assert inline.headers["content-type"] == "application/pdf"
    assert inline.content == PDF_BYTES
    attachment = client.get(content_url(doc), params={"disposition": "attachment"})
    assert attachment.headers["content-disposition"].startswith("attachment;")


def test_unknown_disposition_is_400(client: httpx2.Client) -> None:
    doc = upload(client, ("scan.pdf", PDF_BYTES))
    assert_problem(client.get(content_url(doc), params={"disposition": "render"}), 400)


def test_non_ascii_filename_uses_rfc6266_extended_parameter(client: httpx2.Client) -> None:
    name = "пасп орт.png"
    doc = upload(client, (name, image_bytes("PNG")))
    assert doc["files"][0]["filename"] == name
    header = client.get(content_url(doc)).headers["content-disposition"]
    header.encode("ascii")  # a header value must be plain ASCII
    params = disposition_params(header)
    assert params[""] == "attachment"
    fallback = params["filename"]
    assert fallback.startswith('"') and fallback.endswith('"')
    assert fallback.strip('"').endswith(".png")
    assert all(32 <= ord(ch) < 127 for ch in fallback)
    encoded = params["filename*"]
    assert encoded.startswith("UTF-8''")
    assert " " not in encoded
    assert unquote(encoded[len("UTF-8''") :], encoding="utf-8") == name


def test_quotes_and_semicolons_in_filename_cannot_break_the_header(
    client: httpx2.Client,
) -> None:
    # Sent as filename="we\"ird;name.png" (the multipart quoted-string escape).
    doc = upload(client, ('we\\"ird;name.png', image_bytes("PNG")))
    name = doc["files"][0]["filename"]
    assert name == 'we"ird;name.png'
    header = client.get(content_url(doc)).headers["content-disposition"]
    params = disposition_params(header)
    # Exactly the three expected parameters: nothing injected by the name.
    assert set(params) == {"", "filename", "filename*"}
    assert params["filename"] == '"we_ird_name.png"'
    assert unquote(params["filename*"].removeprefix("UTF-8''")) == name


def test_file_without_name_gets_id_based_download_name(client: httpx2.Client) -> None:
    doc = upload(client, ("../..", PDF_BYTES))
    file = doc["files"][0]
    assert file["filename"] is None
    params = disposition_params(client.get(content_url(doc)).headers["content-disposition"])
    assert params["filename"] == f'"{file["id"]}.pdf"'


@pytest.mark.parametrize(
    ("name", "data", "media_type"),
    [
        ("notes.txt", b"hello <b>bold</b> & welcome\n", "text/plain; charset=utf-8"),
        ("table.csv", b"a,b\n1,2\n", "text/csv; charset=utf-8"),
    ],
)
def test_text_is_served_as_text_never_html(
    client: httpx2.Client, name: str, data: bytes, media_type: str
) -> None:
    doc = upload(client, (name, data, "text/html"))
    response = client.get(content_url(doc), params={"disposition": "inline"})
    assert response.status_code == 200
    assert response.content == data
    assert response.headers["content-type"] == media_type
    assert "html" not in response.headers["content-type"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in response.headers["content-security-policy"]


def test_stored_sha256_matches_content_of_every_file(client: httpx2.Client) -> None:
    files = [("a.png", image_bytes("PNG")), ("b.jpg", image_bytes("JPEG")), ("c.pdf", PDF_BYTES)]
    doc = upload(client, *files)
    by_name = {f["filename"]: f for f in doc["files"]}
    for name, data in files:
        stored = by_name[name]
        got = client.get(f"/v1/documents/{doc['id']}/files/{stored['id']}/content").content
        assert got == data
        assert stored["sha256"] == hashlib.sha256(got).hexdigest()


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


# --------------------------------------------------------------------------- HEAD


def test_head_gives_headers_without_body(client: httpx2.Client) -> None:
    data = image_bytes("JPEG")
    doc = upload(client, ("photo.jpg", data))
    url = content_url(doc)
    get = client.get(url)
    head = client.head(url)
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == str(len(data))
    for name in (
        "content-type",
        "content-disposition",
        "etag",
        "x-content-type-options",
        "content-security-policy",
        "cache-control",
        "accept-ranges",
    ):
        assert head.headers[name] == get.headers[name], name
    assert head.headers["content-type"] == "image/jpeg"
    inline = client.head(url, params={"disposition": "inline"})
    assert inline.headers["content-disposition"].startswith("inline;")


def test_head_of_missing_file_is_404(client: httpx2.Client) -> None:
    doc = upload(client, ("photo.jpg", image_bytes("JPEG")))
    response = client.head(f"/v1/documents/{doc['id']}/files/{UUID(int=7)}/content")
    assert response.status_code == 404
    assert response.content == b""


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
