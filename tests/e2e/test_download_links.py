"""End to end: single-use download links (POST .../files/{id}/download-link, then GET or
HEAD /v1/downloads/{token} without authentication).

A link serves its file exactly once, for a limited time, to whoever holds it; HEAD shows the
headers without using it up; every wrong, used or expired token is a clean 4xx problem, and
the token itself never reaches the server's log.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import os
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx2
import pytest

from tests.e2e.downloads_support import upload
from tests.e2e.problem_support import problem
from tests.helpers import PDF_BYTES, Server, image_bytes

# Every answer is checked against the OpenAPI documents (tests/spec_conformance.py).
pytestmark = pytest.mark.usefixtures("responses_conform")

TOKEN_ALPHABET = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
# Headers that describe the file itself, and must be the same however it is fetched.
FILE_HEADERS = ("content-type", "content-disposition", "content-length", "etag")


def big_pdf(size: int = 256 * 1024) -> bytes:
    return b"%PDF-1.7\n" + os.urandom(size) + b"\n%%EOF\n"


def link_url(doc: dict[str, Any], index: int = 0) -> str:
    return f"/v1/documents/{doc['id']}/files/{doc['files'][index]['id']}/download-link"


def create_link(client: httpx2.Client, doc: dict[str, Any], index: int = 0) -> dict[str, Any]:
    response = client.post(link_url(doc, index))
    assert response.status_code == 201, response.text
    link: dict[str, Any] = response.json()
    return link


def token_of(link: dict[str, Any]) -> str:
    return str(link["download_url"]).rsplit("/", 1)[1]


def path_of(link: dict[str, Any]) -> str:
    return urlsplit(str(link["download_url"])).path


@pytest.fixture
def anonymous(server: Server) -> Iterator[httpx2.Client]:
    """A client with no credentials at all: a link is its own authorisation."""
    with server.client(None) as c:
        yield c


@pytest.fixture
def short_ttl_server(tmp_path: Path) -> Iterator[Server]:
    srv = Server(tmp_path, env_extra={"KYCVAULT_DOWNLOAD_LINK_TTL_SECONDS": "2"}).start()
    yield srv
    srv.stop()


@pytest.fixture
def info_log_server(tmp_path: Path) -> Iterator[Server]:
    srv = Server(tmp_path, env_extra={"KYCVAULT_LOG_LEVEL": "INFO"}).start()
    yield srv
    srv.stop()


# --------------------------------------------------------------------------- creating a link


def test_create_link_fields(server: Server, client: httpx2.Client) -> None:
    data = big_pdf(4096)
    doc = upload(client, ("statement-2024.pdf", data, "application/pdf"))
    before = datetime.now(UTC)
    response = client.post(link_url(doc))
    after = datetime.now(UTC)
    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith("application/json")
    link = response.json()
    assert set(link) == {"download_url", "expires_at", "filename", "content_type", "size"}
    assert link["filename"] == "statement-2024.pdf"
    assert link["content_type"] == "application/pdf"
    assert link["size"] == len(data)

    url = urlsplit(link["download_url"])
    assert f"{url.scheme}://{url.netloc}" == server.url
    prefix, _, token = url.path.rpartition("/")
    assert prefix == "/v1/downloads"
    assert token.startswith("dl_")
    assert len(token) >= 3 + 43  # 256 random bits, base64url
    assert set(token[3:]) <= TOKEN_ALPHABET
    assert not url.query and not url.fragment

    expires = datetime.fromisoformat(link["expires_at"])
    assert expires.tzinfo is not None
    ttl = timedelta(minutes=15)
    assert before + ttl - timedelta(seconds=5) <= expires <= after + ttl + timedelta(seconds=5)


def test_each_link_has_its_own_token(client: httpx2.Client) -> None:
    doc = upload(client, ("a.pdf", PDF_BYTES, "application/pdf"))
    tokens = {token_of(create_link(client, doc)) for _ in range(5)}
    assert len(tokens) == 5


def test_creating_a_link_needs_authentication(server: Server, client: httpx2.Client) -> None:
    doc = upload(client, ("a.pdf", PDF_BYTES, "application/pdf"))
    with server.client(None) as nobody:
        problem(nobody.post(link_url(doc)), 401, "unauthenticated")
    with server.client("kvk_0000000000000000.not-a-real-secret") as forged:
        problem(forged.post(link_url(doc)), 401, "unauthenticated")


def test_link_for_unknown_file_or_document(client: httpx2.Client) -> None:
    doc = upload(client, ("a.pdf", PDF_BYTES, "application/pdf"))
    other = upload(client, ("b.pdf", PDF_BYTES, "application/pdf"))
    missing = "00000000-0000-0000-0000-000000000001"
    problem(
        client.post(f"/v1/documents/{doc['id']}/files/{missing}/download-link"),
        404,
        "file_not_found",
    )
    problem(
        client.post(f"/v1/documents/{missing}/files/{doc['files'][0]['id']}/download-link"),
        404,
        None,
    )
    # A file addressed through the wrong document of the same tenant.
    problem(
        client.post(f"/v1/documents/{other['id']}/files/{doc['files'][0]['id']}/download-link"),
        404,
        "file_not_found",
    )


# --------------------------------------------------------------------------- redeeming a link


def test_get_serves_the_file_once_without_auth(
    client: httpx2.Client, anonymous: httpx2.Client
) -> None:
    data = big_pdf()
    doc = upload(client, ("statement.pdf", data, "application/pdf"))
    authed = client.get(f"/v1/documents/{doc['id']}/files/{doc['files'][0]['id']}/content")
    assert authed.status_code == 200
    link = create_link(client, doc)

    first = anonymous.get(path_of(link))
    assert first.status_code == 200, first.text
    assert first.content == data
    assert hashlib.sha256(first.content).hexdigest() == doc["files"][0]["sha256"]
    for name in FILE_HEADERS:
        assert first.headers[name] == authed.headers[name], name
    assert first.headers["content-type"] == "application/pdf"
    assert first.headers["content-length"] == str(len(data))
    assert first.headers["content-disposition"].startswith("attachment;")
    assert 'filename="statement.pdf"' in first.headers["content-disposition"]
    assert "no-store" in first.headers["cache-control"]
    assert first.headers["referrer-policy"] == "no-referrer"
    assert first.headers["x-content-type-options"] == "nosniff"

    second = anonymous.get(path_of(link))
    body = problem(second, 410, "link_used")
    assert "no-store" in second.headers["cache-control"]
    assert data[:64] not in second.content
    assert "dl_" not in body["detail"]
    # The absolute URL the API handed out is the one that works.
    assert anonymous.get(link["download_url"], timeout=30).status_code == 410


def test_head_does_not_consume(client: httpx2.Client, anonymous: httpx2.Client) -> None:
    data = image_bytes("PNG", (120, 80))
    doc = upload(client, ("scan.png", data, "image/png"), doc_type="passport")
    link = create_link(client, doc)

    for _ in range(3):
        head = anonymous.head(path_of(link))
        assert head.status_code == 200, head.text
        assert head.content == b""
        assert head.headers["content-type"] == "image/png"
        assert head.headers["content-length"] == str(len(data))
        assert head.headers["etag"] == f'"{hashlib.sha256(data).hexdigest()}"'
        assert head.headers["content-disposition"].startswith("attachment;")
        assert "no-store" in head.headers["cache-control"]
        assert head.headers["referrer-policy"] == "no-referrer"

    got = anonymous.get(path_of(link))
    assert got.status_code == 200, got.text
    assert got.content == data
    for name in FILE_HEADERS:
        assert got.headers[name] == head.headers[name], name

    after = anonymous.head(path_of(link))
    assert after.status_code == 410
    assert after.content == b""
    problem(anonymous.get(path_of(link)), 410, "link_used")


def test_each_link_is_independent(client: httpx2.Client, anonymous: httpx2.Client) -> None:
    doc = upload(
        client,
        ("one.pdf", PDF_BYTES, "application/pdf"),
        ("two.pdf", big_pdf(1000), "application/pdf"),
    )
    first, again = create_link(client, doc, 0), create_link(client, doc, 0)
    second = create_link(client, doc, 1)
    assert anonymous.get(path_of(first)).content == PDF_BYTES
    # Using one link leaves the others of the same file, and of other files, usable.
    got = anonymous.get(path_of(again))
    assert got.status_code == 200
    assert got.content == PDF_BYTES
    got = anonymous.get(path_of(second))
    assert got.status_code == 200
    assert got.headers["content-length"] == str(second["size"])
    assert 'filename="two.pdf"' in got.headers["content-disposition"]
    for link in (first, again, second):
        problem(anonymous.get(path_of(link)), 410, "link_used")
    # The file itself is untouched by its links being used.
    content = client.get(f"/v1/documents/{doc['id']}/files/{doc['files'][0]['id']}/content")
    assert content.content == PDF_BYTES


def test_expired_link_is_gone(short_ttl_server: Server) -> None:
    tenant = short_ttl_server.create_tenant()
    with short_ttl_server.client(tenant["api_key"]) as c, short_ttl_server.client(None) as anon:
        doc = upload(c, ("a.pdf", PDF_BYTES, "application/pdf"))
        before = datetime.now(UTC)
        fresh, stale = create_link(c, doc), create_link(c, doc)
        expires = datetime.fromisoformat(stale["expires_at"])
        assert before < expires <= datetime.now(UTC) + timedelta(seconds=3)
        # A link used in time works on this server ...
        used = anon.get(path_of(fresh))
        assert used.status_code == 200, used.text
        assert used.content == PDF_BYTES
        # ... the other one, left alone past its lifetime, is gone for GET and HEAD alike.
        time.sleep(max(0.0, (expires - datetime.now(UTC)).total_seconds()) + 1.0)
        head = anon.head(path_of(stale))
        assert head.status_code == 410
        assert head.content == b""
        problem(anon.get(path_of(stale)), 410, "link_expired")
        problem(anon.get(path_of(stale)), 410, "link_expired")
        # A used link stays "used", not "expired".
        problem(anon.get(path_of(fresh)), 410, "link_used")


# --------------------------------------------------------------------------- bad tokens


def _flip(token: str, index: int) -> str:
    char = token[index]
    replacement = "A" if char != "A" else "B"
    return token[:index] + replacement + token[index + 1 :]


def test_unknown_and_tampered_tokens_are_404(
    client: httpx2.Client, anonymous: httpx2.Client
) -> None:
    doc = upload(client, ("a.pdf", PDF_BYTES, "application/pdf"))
    link = create_link(client, doc)
    token = token_of(link)
    bad = [
        "dl_" + "A" * 43,  # forged, well-formed
        "dl_" + os.urandom(32).hex()[:43],  # unknown
        token[:-1],  # truncated by one
        token[: len(token) // 2],  # truncated by half
        token[:3],  # just the prefix
        "dl_",
        token + "A",  # extended
        _flip(token, 3),  # first random character changed
        _flip(token, len(token) - 1),  # last character changed
        _flip(token, len(token) // 2),
        token.upper(),
        token.swapcase(),
        token[3:],  # without the prefix
        "xx_" + token[3:],
        "DL_" + token[3:],
        "dl_" + "A" * 200,  # too long
        "dl_" + "%00" * 30,  # NUL bytes once decoded
        "dl_" + "%C3%A9" * 30,  # non-ASCII once decoded
        "dl_%27%20OR%201%3D1%20--%20" + "A" * 30,  # SQL-looking
        "a",
    ]
    for candidate in bad:
        response = anonymous.get(f"/v1/downloads/{candidate}")
        problem(response, 404, "link_not_found")
        head = anonymous.head(f"/v1/downloads/{candidate}")
        assert head.status_code == 404, candidate
        assert head.content == b""
    # A much longer token never reaches anything but a clean 4xx.
    huge = anonymous.get("/v1/downloads/dl_" + "A" * 5000)
    assert 400 <= huge.status_code < 500, huge.text
    # None of the probes used the real link up.
    real = anonymous.get(path_of(link))
    assert real.status_code == 200
    assert real.content == PDF_BYTES


def test_download_prefix_without_token(anonymous: httpx2.Client) -> None:
    for path in ("/v1/downloads", "/v1/downloads/"):
        response = anonymous.get(path)
        assert response.status_code in (404, 405), response.text
        assert response.headers["content-type"].startswith("application/problem+json")


# --------------------------------------------------------------------------- tenants


def test_other_tenant_cannot_create_a_link(
    server: Server, client: httpx2.Client, other_client: httpx2.Client, anonymous: httpx2.Client
) -> None:
    doc = upload(client, ("a.pdf", PDF_BYTES, "application/pdf"))
    problem(other_client.post(link_url(doc)), 404, None)
    # Tenant A's link works whoever redeems it: another tenant's key, or a bogus one.
    link = create_link(client, doc)
    got = other_client.get(path_of(link))
    assert got.status_code == 200, got.text
    assert got.content == PDF_BYTES
    problem(anonymous.get(path_of(link)), 410, "link_used")

    link = create_link(client, doc)
    with server.client(None, headers={"Authorization": "Bearer nonsense"}, timeout=30) as bogus:
        head = bogus.head(path_of(link))
        assert head.status_code == 200
        got = bogus.get(path_of(link))
        assert got.status_code == 200, got.text
        assert got.content == PDF_BYTES
    # The other tenant's own documents are unaffected by the link being used.
    assert other_client.get("/v1/documents").json()["data"] == []


def test_link_to_deleted_file(client: httpx2.Client, anonymous: httpx2.Client) -> None:
    doc = upload(
        client,
        ("keep.pdf", PDF_BYTES, "application/pdf"),
        ("drop.pdf", big_pdf(2000), "application/pdf"),
    )
    keep, drop = create_link(client, doc, 0), create_link(client, doc, 1)
    deleted = client.delete(f"/v1/documents/{doc['id']}/files/{doc['files'][1]['id']}")
    assert deleted.status_code == 204, deleted.text
    assert anonymous.head(path_of(drop)).status_code == 404
    problem(anonymous.get(path_of(drop)), 404, None)
    problem(anonymous.get(path_of(drop)), 404, None)
    # The other file's link is untouched.
    got = anonymous.get(path_of(keep))
    assert got.status_code == 200
    assert got.content == PDF_BYTES


def test_link_to_deleted_document(client: httpx2.Client, anonymous: httpx2.Client) -> None:
    doc = upload(client, ("a.pdf", PDF_BYTES, "application/pdf"))
    link = create_link(client, doc)
    assert client.delete(f"/v1/documents/{doc['id']}").status_code == 204
    assert anonymous.head(path_of(link)).status_code == 404
    problem(anonymous.get(path_of(link)), 404, None)
    problem(client.post(link_url(doc)), 404, None)


# --------------------------------------------------------------------------- concurrency


def test_concurrent_redemptions_serve_once(server: Server, client: httpx2.Client) -> None:
    data = big_pdf(128 * 1024)
    doc = upload(client, ("race.pdf", data, "application/pdf"))
    path = path_of(create_link(client, doc))
    workers = 50
    barrier = threading.Barrier(workers)

    def redeem(_: int) -> tuple[int, bytes, str]:
        with server.client(None) as own:
            barrier.wait(timeout=60)
            response = own.get(path)
            return response.status_code, response.content, response.headers["content-type"]

    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(redeem, range(workers)))

    statuses = sorted(status for status, _, _ in results)
    assert statuses == [200] + [410] * (workers - 1), statuses
    (winner,) = [body for status, body, _ in results if status == 200]
    assert winner == data
    for status, body, content_type in results:
        if status == 410:
            assert content_type.startswith("application/problem+json")
            assert httpx2.Response(410, content=body).json()["code"] == "link_used"


# --------------------------------------------------------------------------- logs and audit


def _database_bytes(server: Server) -> bytes:
    """The embedded database as it is on disk (the main file and its write-ahead log)."""
    return b"".join(path.read_bytes() for path in sorted(server.data_dir.glob("kycvault.db*")))


@pytest.mark.embedded
# Read from a process of its own: opening and closing the SQLite files in the process that
# serves them would drop that process's POSIX locks on them (SQLite's documented hazard), and
# the next connection from another process would reset a WAL still in use ("disk I/O error").
@pytest.mark.server_process
@pytest.mark.parametrize("idempotency_key", [None, "link-key"], ids=["plain", "idempotency-key"])
def test_token_is_stored_only_as_its_hash(
    server: Server, client: httpx2.Client, idempotency_key: str | None
) -> None:
    """The token is the only credential for the file: the database holds its SHA-256, never
    the token, however the link was asked for (a stored idempotent response included)."""
    doc = upload(client, ("a.pdf", PDF_BYTES, "application/pdf"))
    headers = {"Idempotency-Key": f"{idempotency_key}-{doc['id']}"} if idempotency_key else {}
    response = client.post(link_url(doc), headers=headers)
    assert response.status_code == 201, response.text
    token = token_of(response.json())
    stored = _database_bytes(server)
    assert hashlib.sha256(token.encode()).digest() in stored
    assert token.encode() not in stored
    assert token[3:].encode() not in stored


def test_token_never_logged(info_log_server: Server) -> None:
    srv = info_log_server
    tenant = srv.create_tenant()
    with srv.client(tenant["api_key"]) as c, srv.client(None) as anon:
        doc = upload(c, ("a.pdf", PDF_BYTES, "application/pdf"))
        link = create_link(c, doc)
        token = token_of(link)
        assert anon.head(path_of(link)).status_code == 200
        assert anon.get(path_of(link)).status_code == 200
        assert anon.get(path_of(link)).status_code == 410
        # A query string is logged by no path either (an unknown parameter is a 400 here).
        assert anon.get(f"{path_of(link)}?x=1").status_code == 400
        deleted = create_link(c, doc)
        assert c.delete(f"/v1/documents/{doc['id']}").status_code == 204
        assert anon.get(path_of(deleted)).status_code == 404
        assert anon.get("/v1/downloads/" + _flip(token, 5)).status_code == 404

    deadline = time.monotonic() + 5
    output = srv.output()
    while '"/v1/downloads/{token}"' not in output and time.monotonic() < deadline:
        time.sleep(0.1)
        output = srv.output()
    # The access log is on, and names the route template ...
    assert "/v1/downloads/{token}" in output, output[-2000:]
    # ... but no token, or any recognisable piece of one, was written.
    for secret in (token, token_of(deleted)):
        assert secret not in output
        assert secret[3:] not in output
        assert secret[3:24] not in output
        assert secret[-20:] not in output
    assert _flip(token, 5)[3:] not in output


def test_audit_log_records_link_creation_and_use(
    client: httpx2.Client, anonymous: httpx2.Client, tenant: dict[str, Any]
) -> None:
    doc = upload(client, ("a.pdf", PDF_BYTES, "application/pdf"))
    file_id = doc["files"][0]["id"]
    link = create_link(client, doc)
    token = token_of(link)
    assert anonymous.head(path_of(link)).status_code == 200
    assert anonymous.get(path_of(link)).status_code == 200
    assert anonymous.get(path_of(link)).status_code == 410

    response = client.get("/v1/audit-events")
    assert response.status_code == 200, response.text
    events = response.json()["data"]
    assert token not in response.text
    assert token[3:] not in response.text

    created = [e for e in events if e["action"] == "file.link_created"]
    read = [e for e in events if e["action"] == "file.read_by_link"]
    assert len(created) == 1, events
    assert len(read) == 1, events  # HEAD and the refused GET are not reads
    for event in (created[0], read[0]):
        assert event["target_type"] == "file"
        assert event["target_id"] == file_id
        assert event["document_id"] == doc["id"]
        assert event["outcome"]
    assert created[0]["actor"] == tenant["key_id"]
    link_id = created[0]["details"]["link_id"]
    assert read[0]["actor"] != tenant["key_id"]
    assert read[0]["actor"] == f"link:{link_id.replace('-', '')}"
    assert datetime.fromisoformat(read[0]["at"]) >= datetime.fromisoformat(created[0]["at"])
