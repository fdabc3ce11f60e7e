"""End-to-end tests of /v1/legal-holds: placing, listing, reading and lifting holds, their
validation, scopes, idempotency and audit events. What a hold blocks is in
``test_legal_holds_deletes.py``."""

from __future__ import annotations

import uuid
from typing import Any

import httpx2
import pytest

from kycvault.domain.scopes import Scope
from tests.e2e.documents_support import new_doc, new_subject
from tests.e2e.holds_support import REASON, audit_events, hold, lift
from tests.e2e.problem_support import problem
from tests.e2e.scopes_support import make_key
from tests.helpers import Server

# Every answer is checked against the OpenAPI documents (tests/spec_conformance.py).
pytestmark = pytest.mark.usefixtures("responses_conform")


def test_place_get_list_and_lift(client: httpx2.Client, tenant: dict[str, Any]) -> None:
    doc = new_doc(client)
    response = client.post("/v1/legal-holds", json={"document_id": doc["id"], "reason": REASON})
    assert response.status_code == 201, response.text
    placed = response.json()
    assert response.headers["location"] == f"/v1/legal-holds/{placed['id']}"
    assert placed["document_id"] == doc["id"]
    assert placed["subject_id"] is None
    assert placed["reason"] == REASON
    assert placed["placed_by"] == tenant["key_id"]
    assert placed["placed_at"]
    assert placed["lifted_at"] is None

    assert client.get(f"/v1/legal-holds/{placed['id']}").json() == placed
    active = client.get("/v1/legal-holds").json()
    assert [h["id"] for h in active["data"]] == [placed["id"]]

    lifted = lift(client, placed["id"])
    assert lifted["lifted_at"] is not None
    assert lifted["lifted_by"] == tenant["key_id"]
    assert {k: v for k, v in lifted.items() if not k.startswith("lifted")} == {
        k: v for k, v in placed.items() if not k.startswith("lifted")
    }
    # The row stays, as evidence: read by id and listed with include_lifted.
    assert client.get(f"/v1/legal-holds/{placed['id']}").json() == lifted
    assert client.get("/v1/legal-holds").json()["data"] == []
    everything = client.get("/v1/legal-holds", params={"include_lifted": "true"}).json()
    assert everything["data"] == [lifted]
    problem(client.delete(f"/v1/legal-holds/{placed['id']}"), 409, "legal_hold_lifted")


def test_a_subject_hold(client: httpx2.Client) -> None:
    subject = new_subject(client)
    placed = hold(client, subject_id=subject["id"])
    assert (placed["subject_id"], placed["document_id"]) == (subject["id"], None)


def test_placing_and_lifting_are_audited_without_the_reason(client: httpx2.Client) -> None:
    doc = new_doc(client, subject_id=new_subject(client)["id"])
    placed = hold(client, document_id=doc["id"])
    lift(client, placed["id"])
    for action in ("legal_hold.placed", "legal_hold.lifted"):
        events = [e for e in audit_events(client, action) if e["target_id"] == placed["id"]]
        assert len(events) == 1, action
        event = events[0]
        assert event["outcome"] == "success"
        assert event["target_type"] == "legal_hold"
        assert event["document_id"] == doc["id"]
        assert event["subject_id"] == doc["subject_id"]
        assert "Subpoena" not in str(event)


def test_invalid_holds_are_refused(client: httpx2.Client, other_client: httpx2.Client) -> None:
    doc, subject = new_doc(client), new_subject(client)
    both = {"document_id": doc["id"], "subject_id": subject["id"], "reason": REASON}
    problem(client.post("/v1/legal-holds", json=both), 400, "invalid_target")
    problem(client.post("/v1/legal-holds", json={"reason": REASON}), 400, "invalid_target")
    for reason in ("", "   ", "x" * 501):
        body = {"document_id": doc["id"], "reason": reason}
        problem(client.post("/v1/legal-holds", json=body), 400, None)
    problem(client.post("/v1/legal-holds", json={"document_id": doc["id"]}), 400, None)
    problem(
        client.post("/v1/legal-holds", json={"document_id": doc["id"], "reason": "a\x07b"}),
        400,
        "control_characters",
    )
    extra = {"document_id": doc["id"], "reason": REASON, "until": "2030-01-01"}
    problem(client.post("/v1/legal-holds", json=extra), 400, None)
    nowhere = str(uuid.uuid4())
    unknown = {"document_id": nowhere, "reason": REASON}
    problem(client.post("/v1/legal-holds", json=unknown), 404, "document_not_found")
    unknown = {"subject_id": nowhere, "reason": REASON}
    problem(client.post("/v1/legal-holds", json=unknown), 404, "subject_not_found")
    # Another tenant's document and subject are as unknown as any.
    theirs = {"document_id": doc["id"], "reason": REASON}
    problem(other_client.post("/v1/legal-holds", json=theirs), 404, "document_not_found")
    theirs = {"subject_id": subject["id"], "reason": REASON}
    problem(other_client.post("/v1/legal-holds", json=theirs), 404, "subject_not_found")
    assert client.get("/v1/legal-holds").json()["data"] == []
    # ... and so is another tenant's hold.
    placed = hold(client, document_id=doc["id"])
    problem(other_client.get(f"/v1/legal-holds/{placed['id']}"), 404, "legal_hold_not_found")
    problem(other_client.delete(f"/v1/legal-holds/{placed['id']}"), 404, "legal_hold_not_found")
    assert other_client.get("/v1/legal-holds").json()["data"] == []
    problem(client.get(f"/v1/legal-holds/{nowhere}"), 404, "legal_hold_not_found")


def test_unknown_list_parameters_are_refused(client: httpx2.Client) -> None:
    body = problem(client.get("/v1/legal-holds", params={"document_id": "x"}), 400, None)
    assert body["code"] == "unknown_parameter"
    problem(client.get("/v1/legal-holds", params={"include_lifted": "maybe"}), 400, None)


def test_the_list_pages_with_cursors(client: httpx2.Client) -> None:
    placed = [hold(client, document_id=new_doc(client)["id"]) for _ in range(5)]
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 2}
    while True:
        page = client.get("/v1/legal-holds", params=params)
        assert page.status_code == 200, page.text
        body = page.json()
        seen += [h["id"] for h in body["data"]]
        if not body["has_more"]:
            break
        params = {"limit": 2, "cursor": body["next_cursor"]}
    assert sorted(seen) == sorted(h["id"] for h in placed)
    assert len(seen) == 5
    # Newest first.
    assert seen == [h["id"] for h in sorted(placed, key=lambda h: (h["placed_at"], h["id"]))][::-1]


def test_an_idempotent_place_is_made_once(client: httpx2.Client) -> None:
    doc = new_doc(client)
    body = {"document_id": doc["id"], "reason": REASON}
    headers = {"Idempotency-Key": f"hold-{uuid.uuid4()}"}
    first = client.post("/v1/legal-holds", json=body, headers=headers)
    again = client.post("/v1/legal-holds", json=body, headers=headers)
    assert first.status_code == again.status_code == 201, again.text
    assert first.json() == again.json()
    assert len(client.get("/v1/legal-holds").json()["data"]) == 1


def test_scopes(server: Server, client: httpx2.Client, tenant: dict[str, Any]) -> None:
    doc = new_doc(client)
    placed = hold(client, document_id=doc["id"])
    reader = make_key(server, tenant["tenant_id"], [Scope.DOCUMENTS_READ])
    writer = make_key(server, tenant["tenant_id"], [Scope.DOCUMENTS_WRITE, Scope.DOCUMENTS_DELETE])
    with server.client(reader.api_key) as read_only:
        body = {"document_id": doc["id"], "reason": REASON}
        refused = problem(read_only.post("/v1/legal-holds", json=body), 403, "insufficient_scope")
        assert refused["required_scope"] == "admin"
        refused = problem(
            read_only.delete(f"/v1/legal-holds/{placed['id']}"), 403, "insufficient_scope"
        )
        assert refused["required_scope"] == "admin"
        assert read_only.get(f"/v1/legal-holds/{placed['id']}").status_code == 200
        assert read_only.get("/v1/legal-holds").status_code == 200
    with server.client(writer.api_key) as write_only:
        refused = problem(write_only.get("/v1/legal-holds"), 403, "insufficient_scope")
        assert refused["required_scope"] == "documents:read"
        problem(write_only.delete(f"/v1/legal-holds/{placed['id']}"), 403, "insufficient_scope")
    assert client.get(f"/v1/legal-holds/{placed['id']}").json()["lifted_at"] is None
    refusals = audit_events(client, "auth.scope_refused")
    mine = [e for e in refusals if e["actor"] == reader.key.key_id]
    assert any(e["target_type"] == "legal_hold" for e in mine)
