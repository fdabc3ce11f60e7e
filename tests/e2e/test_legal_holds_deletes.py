"""A legal hold blocks every way of deleting what it holds, on the native API and in each
dialect that deletes (409 ``legal_hold``, in the dialect's envelope), and the refusal is
audited; lifting the hold lets the deletion through. (Argyle's and Sila's dialects delete
nothing.)"""

from __future__ import annotations

import concurrent.futures
import json
import threading
from typing import Any

import httpx2
import pytest

from tests.e2e.documents_support import new_doc, new_subject
from tests.e2e.holds_support import (
    DIALECT_DELETES,
    audit_events,
    dialect_target,
    error_code,
    hold,
    lift,
    passport,
)
from tests.e2e.kycgenie_support import answer_upload, entity, response_of
from tests.e2e.problem_support import problem
from tests.e2e.scopes_support import Call
from tests.helpers import Server, image_bytes

# Every answer is checked against the OpenAPI documents (tests/spec_conformance.py).
pytestmark = pytest.mark.usefixtures("responses_conform")


def _refused_event(client: httpx2.Client, action: str, target_id: str) -> dict[str, Any]:
    events = [e for e in audit_events(client, action) if e["target_id"] == target_id]
    assert events, f"no {action} event for {target_id}"
    event = events[0]
    assert event["outcome"] == "refused"
    assert event["details"]["reason"] == "legal_hold"
    return event


def test_a_held_document_and_its_files_stay_until_lifted(client: httpx2.Client) -> None:
    doc = passport(client)
    file_url = f"/v1/documents/{doc['id']}/files/{doc['files'][0]['id']}"
    placed = hold(client, document_id=doc["id"])

    problem(client.delete(f"/v1/documents/{doc['id']}"), 409, "legal_hold")
    problem(client.delete(file_url), 409, "legal_hold")
    keyed = client.delete(f"/v1/documents/{doc['id']}", headers={"Idempotency-Key": "del-1"})
    problem(keyed, 409, "legal_hold")
    assert client.get(f"/v1/documents/{doc['id']}").json()["files"] == doc["files"]
    assert client.get(file_url + "/content").status_code == 200

    event = _refused_event(client, "document.delete_refused", doc["id"])
    assert event["document_id"] == doc["id"]
    assert event["subject_id"] == doc["subject_id"]
    assert event["details"]["holds"] == [placed["id"]]
    assert len(audit_events(client, "document.delete_refused")) == 2  # with and without a key
    event = _refused_event(client, "file.delete_refused", doc["files"][0]["id"])
    assert event["document_id"] == doc["id"]
    assert audit_events(client, "document.deleted") == []

    lift(client, placed["id"])
    assert client.delete(file_url).status_code == 204
    assert client.delete(f"/v1/documents/{doc['id']}").status_code == 204
    assert client.get(f"/v1/documents/{doc['id']}").status_code == 404


def test_every_hold_must_be_lifted(client: httpx2.Client) -> None:
    doc = new_doc(client)
    first, second = (hold(client, document_id=doc["id"]) for _ in range(2))
    lift(client, first["id"])
    problem(client.delete(f"/v1/documents/{doc['id']}"), 409, "legal_hold")
    lift(client, second["id"])
    assert client.delete(f"/v1/documents/{doc['id']}").status_code == 204
    # The holds outlive the document, as evidence.
    listed = client.get("/v1/legal-holds", params={"include_lifted": "true"}).json()["data"]
    assert {h["id"] for h in listed} == {first["id"], second["id"]}


def test_a_subject_hold_covers_the_subject_and_its_documents(client: httpx2.Client) -> None:
    subject = new_subject(client)
    doc = passport(client, subject["id"])
    unrelated = new_doc(client)
    placed = hold(client, subject_id=subject["id"])

    problem(client.delete(f"/v1/documents/{doc['id']}"), 409, "legal_hold")
    file_url = f"/v1/documents/{doc['id']}/files/{doc['files'][0]['id']}"
    problem(client.delete(file_url), 409, "legal_hold")
    assert client.delete(f"/v1/documents/{unrelated['id']}").status_code == 204

    lift(client, placed["id"])
    assert client.delete(f"/v1/documents/{doc['id']}").status_code == 204
    placed = hold(client, subject_id=subject["id"])
    problem(client.delete(f"/v1/subjects/{subject['id']}"), 409, "legal_hold")
    event = _refused_event(client, "subject.delete_refused", subject["id"])
    assert event["subject_id"] == subject["id"]
    lift(client, placed["id"])
    assert client.delete(f"/v1/subjects/{subject['id']}").status_code == 204


def test_a_subject_with_a_held_document_stays(client: httpx2.Client) -> None:
    subject = new_subject(client)
    doc = new_doc(client, subject_id=subject["id"])
    hold(client, document_id=doc["id"])
    problem(client.delete(f"/v1/subjects/{subject['id']}"), 409, "legal_hold")


def test_a_company_hold_does_not_reach_its_members(client: httpx2.Client) -> None:
    company = new_subject(client, type="company")
    member = new_subject(client, parent_id=company["id"])
    doc = new_doc(client, subject_id=member["id"])
    hold(client, subject_id=company["id"])
    assert client.delete(f"/v1/documents/{doc['id']}").status_code == 204
    assert client.delete(f"/v1/subjects/{member['id']}").status_code == 204


@pytest.fixture
def held(server: Server) -> tuple[dict[str, Any], dict[str, str]]:
    """A tenant with a subject whose passport (one page) is under a hold: the tenant, and
    the ids the dialect calls name."""
    tenant, ids = dialect_target(server)
    with server.client(tenant["api_key"]) as admin:
        ids["hold"] = hold(admin, document_id=ids["doc"])["id"]
    return tenant, ids


@pytest.mark.parametrize("call", DIALECT_DELETES, ids=lambda c: c.path)
def test_dialect_deletes_are_refused(
    server: Server, held: tuple[dict[str, Any], dict[str, str]], call: Call
) -> None:
    tenant, ids = held
    with server.client(tenant["api_key"]) as admin:
        refused = call.send(admin, ids)
        assert refused.status_code == 409, refused.text
        assert error_code(refused) == "legal_hold"
        assert admin.get(f"/v1/documents/{ids['doc']}").json()["files"] != []
        lift(admin, ids["hold"])
        allowed = call.send(admin, ids)
        assert allowed.status_code in (200, 204), allowed.text


def test_a_questionnaire_answer_keeps_its_held_document(server: Server) -> None:
    """Deleting a KYC Genie file answer deletes the document it uploaded: not while held."""
    tenant = server.create_tenant()
    company = entity(server, tenant["api_key"])
    with server.client(tenant["api_key"]) as kg:
        response = response_of(kg, company["id"])
        doc_id, answer_url = answer_upload(kg, response["id"])
        placed = hold(kg, subject_id=company["id"])
        refused = kg.delete(answer_url)
        assert (refused.status_code, error_code(refused)) == (409, "legal_hold")
        _refused_event(kg, "response.file_answer_delete_refused", response["id"])
        assert kg.get(f"/v1/documents/{doc_id}").status_code == 200
        lift(kg, placed["id"])
        assert kg.delete(answer_url).status_code == 204
        assert kg.get(f"/v1/documents/{doc_id}").status_code == 404


def test_replacing_a_held_documents_file_is_refused(
    server: Server, held: tuple[dict[str, Any], dict[str, str]]
) -> None:
    """Cynopsis' update replaces the sides it is sent, deleting the files they replace."""
    tenant, ids = held
    url = f"/compat/cynopsis/api/customer/{ids['subject_number']}/document/{ids['doc_number']}"
    document = json.dumps({"type": "PASSPORT"})
    front = ("front", ("front.png", image_bytes("PNG", (32, 32)), "image/png"))
    with server.client(tenant["api_key"], headers={"X-Domain-ID": ids["domain"]}) as cyn:
        refused = cyn.put(url, data={"document": document}, files=[front])
        assert (refused.status_code, error_code(refused)) == (409, "legal_hold")
        _refused_event(cyn, "document.update_refused", ids["doc"])
        files = cyn.get(f"/v1/documents/{ids['doc']}").json()["files"]
        assert [f["id"] for f in files] == [ids["file"]]
        lift(cyn, ids["hold"])
        replaced = cyn.put(url, data={"document": document}, files=[front])
        assert replaced.status_code == 200, replaced.text
        files = cyn.get(f"/v1/documents/{ids['doc']}").json()["files"]
        assert [f["id"] for f in files] != [ids["file"]]


def test_a_hold_placed_during_a_deletion_is_never_skipped(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    """A hold and a deletion of one document, sent at once: either the hold wins (the delete
    is refused) or the deletion does (the hold finds no document), never both."""
    for _ in range(8):
        subject = new_subject(client)
        doc = passport(client, subject["id"])
        barrier = threading.Barrier(3)
        requests: list[tuple[str, str, dict[str, Any] | None]] = [
            ("POST", "/v1/legal-holds", {"subject_id": subject["id"], "reason": "race"}),
            ("POST", "/v1/legal-holds", {"document_id": doc["id"], "reason": "race"}),
            ("DELETE", f"/v1/documents/{doc['id']}", None),
        ]

        def send(
            request: tuple[str, str, dict[str, Any] | None],
            barrier: threading.Barrier = barrier,
        ) -> httpx2.Response:
            method, path, body = request
            with server.client(tenant["api_key"]) as own:
                barrier.wait(timeout=60)
                return own.request(method, path, json=body)

        with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
            on_subject, on_doc, deleted = list(pool.map(send, requests))
        assert on_subject.status_code == 201, on_subject.text
        if deleted.status_code == 204:
            assert on_doc.status_code == 404, on_doc.text
            assert [f["document_id"] for f in client.get("/v1/legal-holds").json()["data"]] == [
                None
            ]
        else:
            problem(deleted, 409, "legal_hold")
            assert client.get(f"/v1/documents/{doc['id']}").status_code == 200
        for placed in client.get("/v1/legal-holds").json()["data"]:
            lift(client, placed["id"])
