"""Tenant isolation end to end: another tenant's id is answered exactly like an unknown id,
on every route that takes one, and nothing of tenant A ever shows up for tenant B."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx2
import pytest

from tests.helpers import Part, Server, image_bytes, post_multipart

# Every answer is checked against the OpenAPI documents (tests/spec_conformance.py).
pytestmark = pytest.mark.usefixtures("responses_conform")


@dataclass
class World:
    """Tenant A's objects, and a client for A and for B."""

    a: httpx2.Client
    b: httpx2.Client
    subject: dict[str, Any]
    member: dict[str, Any]
    document: dict[str, Any]
    library_doc: dict[str, Any]
    file: dict[str, Any]
    png: bytes
    b_document: dict[str, Any]


@pytest.fixture(scope="module")
def world(server: Server) -> Iterator[World]:
    with (
        server.client(server.create_tenant()["api_key"]) as a,
        server.client(server.create_tenant()["api_key"]) as b,
    ):
        # A's documents must not change under the test by themselves: no reading stages (the
        # session server's worker would move their processing state along meanwhile).
        stages_off = {"classification": False, "ocr": False, "authenticity": False}
        assert a.patch("/v1/settings/processing", json=stages_off).status_code == 200
        subject = a.post(
            "/v1/subjects",
            json={"type": "company", "external_id": "iso-ext", "display_name": "A Corp"},
        ).json()
        member = a.post("/v1/subjects", json={"parent_id": subject["id"]}).json()
        png = image_bytes("PNG")
        created = post_multipart(
            a,
            "/v1/documents",
            [
                Part("type", b"passport"),
                Part("subject_id", subject["id"].encode()),
                Part("name", b"A passport"),
                Part("file", png, "page1.png", "image/png"),
                Part("role", b"PAGE1"),
            ],
        )
        assert created.status_code == 201, created.text
        document = created.json()
        library = a.post("/v1/documents", json={"type": "bank_statement", "name": "A lib"})
        assert library.status_code == 201, library.text
        b_doc = b.post("/v1/documents", json={"type": "passport", "name": "B own"})
        assert b_doc.status_code == 201, b_doc.text
        yield World(
            a=a,
            b=b,
            subject=subject,
            member=member,
            document=document,
            library_doc=library.json(),
            file=document["files"][0],
            png=png,
            b_document=b_doc.json(),
        )


def stripped(response: httpx2.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    body.pop("request_id", None)
    return body


def assert_a_intact(world: World) -> None:
    a = world.a
    subject = a.get(f"/v1/subjects/{world.subject['id']}")
    assert subject.status_code == 200
    assert subject.json() == world.subject
    member = a.get(f"/v1/subjects/{world.member['id']}")
    assert member.json() == world.member
    doc = a.get(f"/v1/documents/{world.document['id']}")
    assert doc.status_code == 200
    assert doc.json() == world.document
    assert len(doc.json()["files"]) == 1
    assert a.get(f"/v1/documents/{world.library_doc['id']}").json() == world.library_doc
    content = a.get(f"/v1/documents/{world.document['id']}/files/{world.file['id']}/content")
    assert content.status_code == 200
    assert content.content == world.png


def upload_parts() -> list[Part]:
    return [Part("file", image_bytes("PNG"), "intruder.png", "image/png")]


def request(client: httpx2.Client, route: str, sid: str, did: str, fid: str) -> httpx2.Response:
    match route:
        case "get subject":
            return client.get(f"/v1/subjects/{sid}")
        case "patch subject":
            return client.patch(f"/v1/subjects/{sid}", json={"display_name": "pwned"})
        case "delete subject":
            return client.delete(f"/v1/subjects/{sid}")
        case "subject documents":
            return client.get(f"/v1/subjects/{sid}/documents")
        case "get document":
            return client.get(f"/v1/documents/{did}")
        case "patch document":
            return client.patch(f"/v1/documents/{did}", json={"name": "pwned"})
        case "delete document":
            return client.delete(f"/v1/documents/{did}")
        case "list files":
            return client.get(f"/v1/documents/{did}/files")
        case "get file":
            return client.get(f"/v1/documents/{did}/files/{fid}")
        case "delete file":
            return client.delete(f"/v1/documents/{did}/files/{fid}")
        case "get content":
            return client.get(f"/v1/documents/{did}/files/{fid}/content")
        case "head content":
            return client.head(f"/v1/documents/{did}/files/{fid}/content")
        case "add files":
            return post_multipart(client, f"/v1/documents/{did}/files", upload_parts())
    raise AssertionError(route)


ROUTES = [
    ("get subject", "subject_not_found"),
    ("patch subject", "subject_not_found"),
    ("delete subject", "subject_not_found"),
    ("subject documents", "subject_not_found"),
    ("get document", "document_not_found"),
    ("patch document", "document_not_found"),
    ("delete document", "document_not_found"),
    ("list files", "document_not_found"),
    ("get file", "document_not_found"),
    ("delete file", "document_not_found"),
    ("get content", "document_not_found"),
    ("head content", "document_not_found"),
    ("add files", "document_not_found"),
]


def assert_same_404(theirs: httpx2.Response, unknown: httpx2.Response, code: str) -> None:
    assert theirs.status_code == unknown.status_code == 404, theirs.text
    assert theirs.headers["content-type"] == unknown.headers["content-type"]
    assert theirs.headers["content-type"].startswith("application/problem+json")
    if theirs.request.method == "HEAD":
        assert theirs.content == unknown.content == b""
        assert theirs.headers.get("content-length") == unknown.headers.get("content-length")
        return
    body = stripped(theirs)
    assert body == stripped(unknown)
    assert body["code"] == code
    assert body["status"] == 404
    assert theirs.json()["request_id"] == theirs.headers["x-request-id"]
    assert "www-authenticate" not in theirs.headers


@pytest.mark.parametrize(("route", "code"), ROUTES, ids=[r for r, _ in ROUTES])
def test_other_tenants_id_is_an_unknown_id(world: World, route: str, code: str) -> None:
    sid, did, fid = world.subject["id"], world.document["id"], world.file["id"]
    theirs = request(world.b, route, sid, did, fid)
    unknown = request(world.b, route, str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4()))
    assert_same_404(theirs, unknown, code)
    # and tenant A asking for a random id gets that same answer too
    own_unknown = request(world.a, route, str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4()))
    assert_same_404(theirs, own_unknown, code)
    # A's other objects (tenant-private document, member subject) behave alike
    theirs_too = request(world.b, route, world.member["id"], world.library_doc["id"], fid)
    assert_same_404(theirs_too, unknown, code)
    assert_a_intact(world)


@pytest.mark.parametrize("route", ["get file", "delete file", "get content", "head content"])
def test_other_tenants_file_id_on_own_document(world: World, route: str) -> None:
    """B's own document with A's file id: the same 404 as a random file id."""
    did = world.b_document["id"]
    theirs = request(world.b, route, "-", did, world.file["id"])
    unknown = request(world.b, route, "-", did, str(uuid.uuid4()))
    assert_same_404(theirs, unknown, "file_not_found")
    assert_a_intact(world)


def test_listings_never_show_other_tenants_rows(world: World) -> None:
    b = world.b
    a_ids = {
        world.subject["id"],
        world.member["id"],
        world.document["id"],
        world.library_doc["id"],
        world.file["id"],
    }

    subjects = b.get("/v1/subjects")
    assert subjects.status_code == 200
    assert not a_ids & {s["id"] for s in subjects.json()["data"]}
    assert "iso-ext" not in {s["external_id"] for s in subjects.json()["data"]}

    documents = b.get("/v1/documents", params={"limit": 100})
    assert documents.status_code == 200
    listed = {d["id"] for d in documents.json()["data"]}
    assert world.b_document["id"] in listed
    assert not a_ids & listed
    files_listed = {f["id"] for d in documents.json()["data"] for f in d["files"]}
    assert world.file["id"] not in files_listed

    for params in (
        {"type": "passport"},
        {"type": "bank_statement"},
        {"subject_id": world.subject["id"]},
        {"subject_id": world.subject["id"], "type": "passport"},
    ):
        page = b.get("/v1/documents", params=params)
        assert page.status_code == 200, page.text
        assert not a_ids & {d["id"] for d in page.json()["data"]}, params
    by_subject = b.get("/v1/documents", params={"subject_id": world.subject["id"]}).json()
    assert by_subject == {"data": [], "next_cursor": None, "prev_cursor": None, "has_more": False}

    audit = b.get("/v1/audit-events")
    assert audit.status_code == 200
    for event in audit.json()["data"]:
        assert event["target_id"] not in a_ids

    # A's own listing is unaffected and does not include B's document
    a_docs = {d["id"] for d in world.a.get("/v1/documents").json()["data"]}
    assert {world.document["id"], world.library_doc["id"]} <= a_docs
    assert world.b_document["id"] not in a_docs
    assert_a_intact(world)


def test_cursor_of_another_tenant_is_refused(world: World) -> None:
    for _ in range(2):
        assert world.a.post("/v1/subjects", json={"display_name": "paging"}).status_code == 201
    a_page = world.a.get("/v1/subjects", params={"limit": 1}).json()
    assert a_page["next_cursor"]
    response = world.b.get("/v1/subjects", params={"limit": 1, "cursor": a_page["next_cursor"]})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "invalid_cursor"
    assert "data" not in response.json()


def test_cannot_attach_other_tenants_subject(world: World) -> None:
    b = world.b
    theirs = b.post("/v1/documents", json={"type": "passport", "subject_id": world.subject["id"]})
    unknown = b.post("/v1/documents", json={"type": "passport", "subject_id": str(uuid.uuid4())})
    assert theirs.status_code == unknown.status_code == 400, theirs.text
    assert theirs.headers["content-type"].startswith("application/problem+json")
    assert stripped(theirs) == stripped(unknown)
    assert theirs.json()["code"] == "subject_not_found"
    assert theirs.json()["errors"][0]["field"] == "subject_id"

    # nor through a multipart upload
    upload = post_multipart(
        b,
        "/v1/documents",
        [
            Part("type", b"passport"),
            Part("subject_id", world.subject["id"].encode()),
            Part("file", image_bytes("PNG"), "x.png", "image/png"),
        ],
    )
    assert upload.status_code == 400, upload.text
    assert upload.json()["code"] == "subject_not_found"

    # nor by moving one's own document onto it
    moved = b.patch(
        f"/v1/documents/{world.b_document['id']}", json={"subject_id": world.subject["id"]}
    )
    assert moved.status_code == 400
    assert moved.json()["code"] == "subject_not_found"
    assert b.get(f"/v1/documents/{world.b_document['id']}").json()["subject_id"] is None

    # nor make it the parent of one's own subject
    parent = b.post("/v1/subjects", json={"parent_id": world.subject["id"]})
    assert parent.status_code == 400
    assert parent.json()["code"] == "parent_not_found"

    # and the same external_id is B's to use
    same_ext = b.post("/v1/subjects", json={"external_id": "iso-ext"})
    assert same_ext.status_code == 201
    assert same_ext.json()["id"] != world.subject["id"]

    docs = b.get("/v1/documents", params={"limit": 100}).json()["data"]
    assert all(d["subject_id"] != world.subject["id"] for d in docs)
    # A's subject still has only its own document, and still cannot be deleted
    a_docs = world.a.get(f"/v1/subjects/{world.subject['id']}/documents").json()["data"]
    assert [d["id"] for d in a_docs] == [world.document["id"]]
    assert_a_intact(world)


def test_tenant_a_objects_intact_after_everything(world: World) -> None:
    """Run every intrusion once more, then check A in depth."""
    sid, did, fid = world.subject["id"], world.document["id"], world.file["id"]
    for route, _ in ROUTES:
        assert request(world.b, route, sid, did, fid).status_code == 404, route
    assert_a_intact(world)
    a = world.a
    files = a.get(f"/v1/documents/{did}/files")
    assert files.status_code == 200
    assert files.json()["data"] == world.document["files"]
    meta = a.get(f"/v1/documents/{did}/files/{fid}")
    assert meta.json() == world.file
    head = a.head(f"/v1/documents/{did}/files/{fid}/content")
    assert head.status_code == 200
    assert int(head.headers["content-length"]) == len(world.png)
    subject_docs = a.get(f"/v1/subjects/{sid}/documents").json()
    assert [d["id"] for d in subject_docs["data"]] == [did]
    members = a.delete(f"/v1/subjects/{sid}")
    assert members.status_code == 409
    assert members.json()["code"] == "subject_has_documents"
