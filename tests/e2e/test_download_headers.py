"""End to end: reading stored files back: exact content, safe response headers, the
Content-Disposition filename, and HEAD."""

from __future__ import annotations

import hashlib
from urllib.parse import unquote
from uuid import UUID

import httpx2
import pytest

from tests.e2e.downloads_support import assert_problem, content_url, upload
from tests.helpers import PDF_BYTES, image_bytes

# Every answer is checked against the OpenAPI documents (tests/spec_conformance.py).
pytestmark = pytest.mark.usefixtures("responses_conform")

# --------------------------------------------------------------------------- helpers


def disposition_params(header: str) -> dict[str, str]:
    kind, *params = [p.strip() for p in header.split(";")]
    values = {"": kind}
    for param in params:
        key, _, value = param.partition("=")
        values[key.strip().lower()] = value.strip()
    return values


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
