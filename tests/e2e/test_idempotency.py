"""End to end: ``Idempotency-Key`` on write requests.

The first request with a key runs and its response is stored; a retry with the same key and
the same payload gets that response again (``Idempotent-Replayed: true``) without a second
side effect; the same key with another payload or on another path is a 422; keys are per
tenant; a failed request frees its key; concurrent retries never run twice.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from uuid import UUID, uuid4

import httpx2
import pytest

from kycvault.api.idempotency import fingerprint, json_payload
from kycvault.bootstrap import build_container, open_vault
from kycvault.services import idempotency
from kycvault.services.context import Actor
from tests.e2e.documents_support import new_doc, new_subject
from tests.e2e.problem_support import problem
from tests.e2e.uploads_support import assert_staging_empty, document_ids, tenant_blobs
from tests.helpers import PDF_BYTES, Part, Server, image_bytes, multipart

# Every answer is checked against the OpenAPI documents (tests/spec_conformance.py).
pytestmark = pytest.mark.usefixtures("responses_conform")

REPLAYED = "idempotent-replayed"


def key() -> str:
    return f"idem-{uuid4()}"


def with_key(value: str | bytes) -> dict[bytes, bytes]:
    """The header; bytes may carry what a ``str`` header cannot (non-ASCII)."""
    return {b"Idempotency-Key": value if isinstance(value, bytes) else value.encode("latin-1")}


def post_json(client: httpx2.Client, path: str, body: Any, idem: str) -> httpx2.Response:
    return client.post(path, json=body, headers=with_key(idem))


def post_raw_json(client: httpx2.Client, path: str, raw: str, idem: str) -> httpx2.Response:
    return client.post(
        path,
        content=raw.encode(),
        headers={"Content-Type": "application/json", "Idempotency-Key": idem},
    )


def post_form(
    client: httpx2.Client, parts: list[Part], idem: str, boundary: str | None = None
) -> httpx2.Response:
    content_type, body, length = multipart(parts, boundary)
    headers = {"Content-Type": content_type, "Idempotency-Key": idem}
    if length is not None:
        headers["Content-Length"] = str(length)
    return client.post("/v1/documents", content=b"".join(body), headers=headers)


def subject_ids(client: httpx2.Client) -> list[str]:
    response = client.get("/v1/subjects", params={"limit": 100})
    assert response.status_code == 200, response.text
    return [s["id"] for s in response.json()["data"]]


def audit_actions(client: httpx2.Client) -> list[str]:
    response = client.get("/v1/audit-events", params={"limit": 500})
    assert response.status_code == 200, response.text
    return [e["action"] for e in response.json()["data"]]


def assert_replay(first: httpx2.Response, again: httpx2.Response) -> None:
    assert REPLAYED not in first.headers
    assert again.status_code == first.status_code, again.text
    assert again.headers.get(REPLAYED) == "true"
    assert again.content == first.content
    if first.content:
        assert again.headers["content-type"] == first.headers["content-type"]
        assert again.json() == first.json()
    assert again.headers.get("location") == first.headers.get("location")


def passport_form(data: bytes, **fields: str) -> list[Part]:
    parts = [Part("type", b"passport")]
    parts += [Part(name, value.encode()) for name, value in fields.items()]
    parts.append(Part("file", data, "page1.png", "image/png"))
    return parts


# --------------------------------------------------------------------------- replays


def test_create_subject_replays(client: httpx2.Client) -> None:
    idem = key()
    body = {"display_name": "Ada Lovelace", "metadata": {"crm": 7}}
    first = post_json(client, "/v1/subjects", body, idem)
    assert first.status_code == 201, first.text
    assert first.headers["location"] == f"/v1/subjects/{first.json()['id']}"
    for _ in range(3):
        assert_replay(first, post_json(client, "/v1/subjects", body, idem))
    assert subject_ids(client) == [first.json()["id"]]
    assert audit_actions(client).count("subject.created") == 1


def test_json_key_order_and_whitespace_do_not_matter(client: httpx2.Client) -> None:
    idem = key()
    first = post_raw_json(
        client,
        "/v1/subjects",
        '{"type":"company","display_name":"Acme Ltd","metadata":{"a":1,"b":[1,2]}}',
        idem,
    )
    assert first.status_code == 201, first.text
    again = post_raw_json(
        client,
        "/v1/subjects",
        '\n{ "metadata" : { "b" : [ 1, 2 ], "a" : 1 },\n\t"display_name": "Acme Ltd",'
        '  "type": "company" }\n',
        idem,
    )
    assert_replay(first, again)
    assert subject_ids(client) == [first.json()["id"]]


def test_patch_subject_replays(client: httpx2.Client) -> None:
    subject = new_subject(client, display_name="Before")
    idem, path = key(), f"/v1/subjects/{subject['id']}"
    body = {"display_name": "After", "metadata": {"step": 1}}
    first = client.patch(path, json=body, headers=with_key(idem))
    assert first.status_code == 200, first.text
    assert first.json()["display_name"] == "After"
    # Someone else changes the subject in between: the replay still shows the stored answer
    # and does not apply the change a second time.
    other = client.patch(path, json={"display_name": "Changed meanwhile"})
    assert other.status_code == 200
    again = client.patch(path, json=body, headers=with_key(idem))
    assert_replay(first, again)
    assert client.get(path).json()["display_name"] == "Changed meanwhile"
    assert audit_actions(client).count("subject.updated") == 2
    problem(
        client.patch(path, json={"display_name": "Other"}, headers=with_key(idem)),
        422,
        "idempotency_key_reused",
    )


def test_delete_document_replays(client: httpx2.Client) -> None:
    doc = new_doc(client, type="passport")
    keep = new_doc(client, type="passport")
    idem, path = key(), f"/v1/documents/{doc['id']}"
    first = client.delete(path, headers=with_key(idem))
    assert first.status_code == 204, first.text
    again = client.delete(path, headers=with_key(idem))
    assert_replay(first, again)
    assert again.content == b""
    assert document_ids(client) == {keep["id"]}
    assert audit_actions(client).count("document.deleted") == 1
    # Without the key the document is simply gone.
    problem(client.delete(path), 404, "document_not_found")


def test_create_document_json_replays(client: httpx2.Client) -> None:
    subject = new_subject(client)
    idem = key()
    body = {"type": "PASSPORT", "subject_id": subject["id"], "id_number": "X1234567"}
    first = post_json(client, "/v1/documents", body, idem)
    assert first.status_code == 201, first.text
    assert first.json()["type"] == "passport"
    assert_replay(first, post_json(client, "/v1/documents", body, idem))
    assert_replay(first, post_json(client, "/v1/documents", dict(reversed(body.items())), idem))
    assert document_ids(client) == {first.json()["id"]}
    assert audit_actions(client).count("document.created") == 1


def test_header_name_is_case_insensitive(client: httpx2.Client) -> None:
    idem = key()
    first = client.post("/v1/subjects", json={}, headers={"idempotency-key": idem})
    assert first.status_code == 201
    again = client.post("/v1/subjects", json={}, headers={"IDEMPOTENCY-KEY": idem})
    assert_replay(first, again)


def test_without_a_key_every_request_runs(client: httpx2.Client) -> None:
    first = client.post("/v1/subjects", json={"display_name": "Twin"})
    second = client.post("/v1/subjects", json={"display_name": "Twin"})
    assert first.status_code == second.status_code == 201
    assert REPLAYED not in first.headers and REPLAYED not in second.headers
    assert first.json()["id"] != second.json()["id"]
    assert len(subject_ids(client)) == 2


# --------------------------------------------------------------------------- key reuse


def test_same_key_different_body_is_422(client: httpx2.Client) -> None:
    idem = key()
    first = post_json(client, "/v1/subjects", {"display_name": "One"}, idem)
    assert first.status_code == 201
    for other in ({"display_name": "Two"}, {"display_name": "One", "type": "company"}, {}):
        problem(post_json(client, "/v1/subjects", other, idem), 422, "idempotency_key_reused")
    # The stored response is still there for the real retry.
    assert_replay(first, post_json(client, "/v1/subjects", {"display_name": "One"}, idem))
    assert subject_ids(client) == [first.json()["id"]]


def test_same_key_on_another_path_is_422(client: httpx2.Client) -> None:
    idem = key()
    first = post_json(client, "/v1/subjects", {}, idem)
    assert first.status_code == 201
    problem(
        post_json(client, "/v1/documents", {"type": "passport"}, idem),
        422,
        "idempotency_key_reused",
    )
    assert document_ids(client) == set()
    # The same body sent to another subject's URL is another request too.
    a, b = new_subject(client), new_subject(client)
    idem = key()
    patch = {"display_name": "Same"}
    assert client.patch(f"/v1/subjects/{a['id']}", json=patch, headers=with_key(idem)).is_success
    problem(
        client.patch(f"/v1/subjects/{b['id']}", json=patch, headers=with_key(idem)),
        422,
        "idempotency_key_reused",
    )
    assert client.get(f"/v1/subjects/{b['id']}").json()["display_name"] is None
    problem(
        client.delete(f"/v1/subjects/{a['id']}", headers=with_key(idem)),
        422,
        "idempotency_key_reused",
    )
    assert client.get(f"/v1/subjects/{a['id']}").status_code == 200


def test_keys_are_per_tenant(client: httpx2.Client, other_client: httpx2.Client) -> None:
    idem = key()
    body = {"display_name": "Shared key"}
    mine = post_json(client, "/v1/subjects", body, idem)
    theirs = post_json(other_client, "/v1/subjects", body, idem)
    assert mine.status_code == theirs.status_code == 201, theirs.text
    assert REPLAYED not in theirs.headers
    assert theirs.json()["id"] != mine.json()["id"]
    assert subject_ids(client) == [mine.json()["id"]]
    assert subject_ids(other_client) == [theirs.json()["id"]]
    # Each tenant replays its own answer; a different body from the other tenant is no
    # conflict with the first tenant's use of the key.
    assert_replay(theirs, post_json(other_client, "/v1/subjects", body, idem))
    assert_replay(mine, post_json(client, "/v1/subjects", body, idem))
    idem2 = key()
    assert post_json(client, "/v1/subjects", {"display_name": "A"}, idem2).status_code == 201
    other = post_json(other_client, "/v1/subjects", {"display_name": "B"}, idem2)
    assert other.status_code == 201


# --------------------------------------------------------------------------- key syntax


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param("", id="empty"),
        pytest.param("k" * 256, id="256-chars"),
        pytest.param("clé-ünïcode".encode(), id="non-ascii"),
        pytest.param("two words", id="space"),
        pytest.param("tab\there", id="tab"),
    ],
)
def test_invalid_keys_are_400(client: httpx2.Client, bad: str | bytes) -> None:
    response = client.post("/v1/subjects", json={}, headers=with_key(bad))
    body = problem(response, 400, "invalid_idempotency_key")
    assert body["errors"][0]["field"] == "Idempotency-Key"
    response = client.post("/v1/documents", json={"type": "passport"}, headers=with_key(bad))
    problem(response, 400, "invalid_idempotency_key")
    assert subject_ids(client) == []
    assert document_ids(client) == set()


@pytest.mark.parametrize(
    "good",
    [
        pytest.param("k" * 255, id="255-chars"),
        pytest.param("x", id="1-char"),
        pytest.param("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", id="punctuation"),
    ],
)
def test_boundary_keys_are_accepted(client: httpx2.Client, good: str) -> None:
    first = post_json(client, "/v1/subjects", {}, good)
    assert first.status_code == 201, first.text
    assert_replay(first, post_json(client, "/v1/subjects", {}, good))
    assert len(subject_ids(client)) == 1


# --------------------------------------------------------------------------- failures free keys


def test_failed_request_releases_its_key(client: httpx2.Client) -> None:
    idem = key()
    for _ in range(2):  # the failure is not stored and replayed: it runs (and fails) again
        failed = post_json(client, "/v1/documents", {"type": "no_such_type"}, idem)
        problem(failed, 400, "unknown_document_type")
        assert REPLAYED not in failed.headers
    fixed = post_json(client, "/v1/documents", {"type": "passport"}, idem)
    assert fixed.status_code == 201, fixed.text
    assert REPLAYED not in fixed.headers
    assert_replay(fixed, post_json(client, "/v1/documents", {"type": "passport"}, idem))
    assert document_ids(client) == {fixed.json()["id"]}


def test_failed_patch_and_delete_release_their_keys(client: httpx2.Client) -> None:
    subject = new_subject(client, external_id="taken-1")
    target = new_subject(client)
    idem = key()
    path = f"/v1/subjects/{target['id']}"
    problem(client.patch(path, json={"external_id": "taken-1"}, headers=with_key(idem)), 409, None)
    fixed = client.patch(path, json={"external_id": "free-1"}, headers=with_key(idem))
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["external_id"] == "free-1"
    assert subject["id"] != target["id"]

    idem = key()
    missing = f"/v1/documents/{uuid4()}"
    problem(client.delete(missing, headers=with_key(idem)), 404, "document_not_found")
    doc = new_doc(client)
    done = post_json(client, "/v1/documents", {"type": "visa"}, idem)
    assert done.status_code == 201, done.text
    assert document_ids(client) == {doc["id"], done.json()["id"]}


def test_failed_upload_releases_its_key(server: Server, client: httpx2.Client) -> None:
    idem = key()
    data = image_bytes("PNG")
    bad = [Part("type", b"no_such_type"), Part("file", data, "page1.png", "image/png")]
    problem(post_form(client, bad, idem), 400, "unknown_document_type")
    good = post_form(client, passport_form(data), idem)
    assert good.status_code == 201, good.text
    assert REPLAYED not in good.headers
    assert document_ids(client) == {good.json()["id"]}
    assert_staging_empty(server)


# --------------------------------------------------------------------------- multipart


def test_upload_retry_with_new_boundary_replays(
    server: Server, client: httpx2.Client, tenant: dict[str, Any]
) -> None:
    idem, data = key(), image_bytes("PNG", (200, 120))
    parts = passport_form(data, name="Jane's passport", id_number="P-991")
    first = post_form(client, parts, idem, boundary="firstboundary0001")
    assert first.status_code == 201, first.text
    doc = first.json()
    assert len(doc["files"]) == 1
    blobs = tenant_blobs(server, tenant)
    assert len(blobs) == 1
    for boundary in ("anotherBoundary-XYZ", "----WebKitFormBoundary7MA4YWxkTrZu0gW"):
        again = post_form(client, parts, idem, boundary=boundary)
        assert_replay(first, again)
    assert document_ids(client) == {doc["id"]}
    # The replays' own copies of the file were staged and thrown away, never published.
    assert tenant_blobs(server, tenant) == blobs
    assert_staging_empty(server)
    content = client.get(f"/v1/documents/{doc['id']}/files/{doc['files'][0]['id']}/content")
    assert content.content == data


def test_upload_with_other_file_same_key_is_422(
    server: Server, client: httpx2.Client, tenant: dict[str, Any]
) -> None:
    idem = key()
    first = post_form(client, passport_form(image_bytes("PNG")), idem)
    assert first.status_code == 201, first.text
    blobs = tenant_blobs(server, tenant)
    problem(
        post_form(client, passport_form(image_bytes("PNG")), idem), 422, "idempotency_key_reused"
    )
    renamed = [
        Part("type", b"passport"),
        Part("file", PDF_BYTES, "renamed.pdf", "application/pdf"),
    ]
    problem(post_form(client, renamed, idem), 422, "idempotency_key_reused")
    assert document_ids(client) == {first.json()["id"]}
    assert tenant_blobs(server, tenant) == blobs
    assert_staging_empty(server)


def test_upload_and_json_create_share_the_key_space(client: httpx2.Client) -> None:
    idem = key()
    first = post_form(client, passport_form(image_bytes("PNG")), idem)
    assert first.status_code == 201
    problem(
        post_json(client, "/v1/documents", {"type": "passport"}, idem),
        422,
        "idempotency_key_reused",
    )
    assert document_ids(client) == {first.json()["id"]}


def test_concurrent_uploads_with_one_key(
    server: Server, client: httpx2.Client, tenant: dict[str, Any]
) -> None:
    idem, data = key(), image_bytes("PNG", (320, 240))
    parts = passport_form(data, name="race")
    workers = 20
    barrier = threading.Barrier(workers)

    def send(_: int) -> httpx2.Response:
        with server.client(tenant["api_key"]) as own:
            content_type, body, length = multipart(parts)
            payload = b"".join(body)
            barrier.wait(timeout=60)
            response = own.post(
                "/v1/documents",
                content=payload,
                headers={
                    "Content-Type": content_type,
                    "Content-Length": str(length),
                    "Idempotency-Key": idem,
                },
            )
            response.read()
            return response

    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        responses = list(pool.map(send, range(workers)))

    statuses = [r.status_code for r in responses]
    unexpected = [r.text for r in responses if r.status_code not in (201, 409)]
    assert set(statuses) <= {201, 409}, unexpected
    created = [r for r in responses if r.status_code == 201]
    assert created, statuses
    assert len({r.json()["id"] for r in created}) == 1
    assert len([r for r in created if REPLAYED not in r.headers]) == 1
    for r in responses:
        if r.status_code == 409:
            problem(r, 409, "idempotency_in_progress")
    (doc_id,) = document_ids(client)
    assert doc_id == created[0].json()["id"]
    assert len(tenant_blobs(server, tenant)) == 1
    assert audit_actions(client).count("document.created") == 1
    assert_staging_empty(server)
    # After the race the key holds the one stored answer.
    last = post_form(client, parts, idem)
    assert last.status_code == 201
    assert last.headers[REPLAYED] == "true"
    assert last.json()["id"] == doc_id


def test_concurrent_json_creates_with_one_key(server: Server, tenant: dict[str, Any]) -> None:
    idem = key()
    workers = 20
    barrier = threading.Barrier(workers)

    def send(_: int) -> httpx2.Response:
        with server.client(tenant["api_key"]) as own:
            barrier.wait(timeout=60)
            return post_json(own, "/v1/subjects", {"display_name": "Racer"}, idem)

    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        responses = list(pool.map(send, range(workers)))
    assert {r.status_code for r in responses} <= {201, 409}, [r.text for r in responses]
    created = [r for r in responses if r.status_code == 201]
    assert len({r.json()["id"] for r in created}) == 1
    for r in responses:
        if r.status_code == 409:
            problem(r, 409, "idempotency_in_progress")
    with server.client(tenant["api_key"]) as c:
        assert subject_ids(c) == [created[0].json()["id"]]


# --------------------------------------------------------------------------- lifetime


def test_deleting_a_document_forgets_its_stored_create_response(client: httpx2.Client) -> None:
    """The stored response shows the document (its metadata), so it goes with the document;
    the key may then create afresh."""
    idem = key()
    body = {"type": "passport", "id_number": "SECRET-123"}
    first = post_json(client, "/v1/documents", body, idem)
    assert first.status_code == 201
    assert client.delete(f"/v1/documents/{first.json()['id']}").status_code == 204
    again = post_json(client, "/v1/documents", body, idem)
    assert again.status_code == 201, again.text
    assert REPLAYED not in again.headers
    assert again.json()["id"] != first.json()["id"]
    assert document_ids(client) == {again.json()["id"]}


@pytest.fixture
def short_lease_server(tmp_path: Path) -> Iterator[Server]:
    srv = Server(tmp_path, env_extra={"KYCVAULT_IDEMPOTENCY_LEASE_SECONDS": "2"}).start()
    yield srv
    srv.stop()


def _claim_without_finishing(
    srv: Server, tenant: dict[str, Any], idem: str, method: str, path: str, body: Any
) -> None:
    """What a request leaves behind when its process dies mid-way: an in-progress claim for
    exactly that request (made through the service layer, on the server's own database)."""
    # The dead request ran with the server's settings: its claim's lease is the server's.
    settings = srv.settings().model_copy(update={"idempotency_lease_seconds": 2})
    request: Any = SimpleNamespace(method=method, url=SimpleNamespace(path=path))
    digest = fingerprint(request, json_payload(json.dumps(body).encode()))

    async def go() -> None:
        container = build_container(settings)
        try:
            await open_vault(container)
            actor = Actor(tenant_id=UUID(tenant["tenant_id"]), key_id=str(tenant["key_id"]))
            claim = await idempotency.begin(container.ctx, actor, idem, digest)
            assert isinstance(claim, idempotency.Claim)
        finally:
            await container.close()

    asyncio.run(go())


def test_abandoned_claim_is_taken_over_after_the_lease(short_lease_server: Server) -> None:
    srv = short_lease_server
    tenant = srv.create_tenant()
    idem = key()
    body = {"display_name": "After a crash"}
    _claim_without_finishing(srv, tenant, idem, "POST", "/v1/subjects", body)
    claimed_at = time.monotonic()
    with srv.client(tenant["api_key"]) as c:
        # While the claim is fresh: the same request waits, another one is refused.
        problem(post_json(c, "/v1/subjects", body, idem), 409, "idempotency_in_progress")
        problem(
            post_json(c, "/v1/subjects", {"display_name": "x"}, idem), 422, "idempotency_key_reused"
        )
        assert subject_ids(c) == []
        time.sleep(max(0.0, 2.5 - (time.monotonic() - claimed_at)))
        # Past the lease the claim counts as abandoned and the retry runs.
        taken = post_json(c, "/v1/subjects", body, idem)
        assert taken.status_code == 201, taken.text
        assert REPLAYED not in taken.headers
        assert_replay(taken, post_json(c, "/v1/subjects", body, idem))
        problem(
            post_json(c, "/v1/subjects", {"display_name": "x"}, idem), 422, "idempotency_key_reused"
        )
        assert subject_ids(c) == [taken.json()["id"]]
        # A completed request is never "abandoned", however old.
        time.sleep(2.5)
        assert_replay(taken, post_json(c, "/v1/subjects", body, idem))
        assert subject_ids(c) == [taken.json()["id"]]


def test_replay_body_is_byte_identical_json(client: httpx2.Client) -> None:
    idem = key()
    first = post_json(client, "/v1/documents", {"type": "national_id"}, idem)
    again = post_json(client, "/v1/documents", {"type": "national_id"}, idem)
    assert_replay(first, again)
    assert json.loads(again.content)["type"] == "national_id"
    assert again.headers["content-type"].startswith("application/json")
    assert again.headers["content-length"] == str(len(first.content))
