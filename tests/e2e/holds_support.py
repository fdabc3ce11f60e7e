"""Shared helpers of the legal hold tests (``test_legal_holds*.py``)."""

from __future__ import annotations

import secrets
from typing import Any

import httpx2

from tests.e2e.documents_support import new_subject
from tests.e2e.scopes_support import CYNOPSIS, DEL, DOMAIN, GENIE, NCORE, Call
from tests.helpers import Part, Server, image_bytes, post_multipart

REASON = "Subpoena 2026-117: preserve every record of this customer"


def hold(client: httpx2.Client, **target: str) -> dict[str, Any]:
    response = client.post("/v1/legal-holds", json={**target, "reason": REASON})
    assert response.status_code == 201, response.text
    placed: dict[str, Any] = response.json()
    return placed


def lift(client: httpx2.Client, hold_id: str) -> dict[str, Any]:
    response = client.delete(f"/v1/legal-holds/{hold_id}")
    assert response.status_code == 200, response.text
    lifted: dict[str, Any] = response.json()
    return lifted


def passport(client: httpx2.Client, subject_id: str | None = None) -> dict[str, Any]:
    """A passport with one page, of ``subject_id`` (or of a new subject)."""
    if subject_id is None:
        subject_id = new_subject(client)["id"]
    parts = [
        Part("type", b"passport"),
        Part("subject_id", subject_id.encode()),
        Part("role", b"PAGE1"),
        Part("file", image_bytes("PNG"), "page.png", "image/png"),
    ]
    response = post_multipart(client, "/v1/documents", parts)
    assert response.status_code == 201, response.text
    made: dict[str, Any] = response.json()
    return made


def audit_events(client: httpx2.Client, action: str) -> list[dict[str, Any]]:
    response = client.get("/v1/audit-events", params={"action": action})
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["data"]
    return found


def error_code(response: httpx2.Response) -> str:
    """Our stable code, from whichever envelope the route words its errors in."""
    body = response.json()
    details = body.get("details")
    if isinstance(details, dict) and "code" in details:
        return str(details["code"])
    return str(body["code"])


# Every dialect route that deletes a document or a file (Argyle's and Sila's delete nothing).
DIALECT_DELETES = [
    Call("DELETE", NCORE + "/{doc}/files/{file}", DEL),
    Call("DELETE", CYNOPSIS + "/{doc_number}", DEL, headers=DOMAIN),
    Call("DELETE", GENIE + "/v1/documents/{doc}/", DEL),
    Call("DELETE", GENIE + "/v2/documents/{doc}/", DEL),
    Call("DELETE", GENIE + "/v1/entities/{subject}/documents/{doc}/", DEL),
    Call("DELETE", GENIE + "/v2/entities/{subject}/documents/{doc}/", DEL),
]


def dialect_target(server: Server) -> tuple[dict[str, Any], dict[str, str]]:
    """A new tenant with a subject (with an external id) and its passport of one page: the
    tenant, and the ids the dialect calls name (``DIALECT_DELETES``)."""
    tenant = server.create_tenant()
    external = f"user-{secrets.token_hex(4)}"
    with server.client(tenant["api_key"]) as admin:
        subject = new_subject(admin, external_id=external)
        doc = passport(admin, subject["id"])
    ids = {
        "external": external,
        "subject": subject["id"],
        "subject_number": str(subject["number"]),
        "domain": str(tenant["domain_id"]),
        "doc": doc["id"],
        "doc_number": str(doc["number"]),
        "file": doc["files"][0]["id"],
    }
    return tenant, ids
