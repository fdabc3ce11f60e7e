"""Shared helpers of the legal hold tests (``test_legal_holds*.py``)."""

from __future__ import annotations

from typing import Any

import httpx2

from tests.e2e.documents_support import new_subject
from tests.helpers import Part, image_bytes, post_multipart

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
