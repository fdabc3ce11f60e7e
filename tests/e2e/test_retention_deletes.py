"""A document within its retention period cannot be deleted through the API: not by the
native DELETE, nor by deleting one of its files or its subject, nor by any dialect route that
deletes (409 ``retention_active``, naming the day it may go); the refusal is audited. After
the period, or without a rule, deletion works as before."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime
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
    passport,
)
from tests.e2e.problem_support import problem
from tests.e2e.retention_support import end_relationship, set_rule
from tests.e2e.scopes_support import Call
from tests.helpers import Server

# Every answer is checked against the OpenAPI documents (tests/spec_conformance.py).
pytestmark = pytest.mark.usefixtures("responses_conform")


def _years_after(day: date, years: int) -> date:
    """``day`` ``years`` later in the calendar (29 February becomes the 28th)."""
    year = day.year + years
    return day.replace(year=year, day=min(day.day, calendar.monthrange(year, day.month)[1]))


def _uploaded_on(doc: dict[str, Any]) -> date:
    return datetime.fromisoformat(doc["created_at"]).astimezone(UTC).date()


def test_a_document_in_its_period_stays_with_its_files_and_subject(
    client: httpx2.Client,
) -> None:
    subject = new_subject(client)
    doc = passport(client, subject["id"])
    set_rule(client, "passport", "upload", "P5Y")
    until = _years_after(_uploaded_on(doc), 5).isoformat()

    body = problem(client.delete(f"/v1/documents/{doc['id']}"), 409, "retention_active")
    assert body["retain_until"] == until
    assert until in body["detail"]
    assert (body["basis"], body["period"], body["document_id"]) == ("upload", "P5Y", doc["id"])
    file_url = f"/v1/documents/{doc['id']}/files/{doc['files'][0]['id']}"
    assert problem(client.delete(file_url), 409, "retention_active")["retain_until"] == until
    refused = client.delete(f"/v1/subjects/{subject['id']}")
    assert problem(refused, 409, "retention_active")["retain_until"] == until
    keyed = client.delete(f"/v1/documents/{doc['id']}", headers={"Idempotency-Key": "r-1"})
    problem(keyed, 409, "retention_active")
    assert client.get(f"/v1/documents/{doc['id']}").json()["files"] == doc["files"]

    events = audit_events(client, "document.delete_refused")
    assert len(events) == 2  # with and without an idempotency key
    event = events[0]
    assert (event["outcome"], event["target_id"]) == ("refused", doc["id"])
    assert event["subject_id"] == subject["id"]
    assert event["details"]["reason"] == "retention_active"
    assert event["details"]["retain_until"] == until
    assert (event["details"]["basis"], event["details"]["period"]) == ("upload", "P5Y")
    assert audit_events(client, "file.delete_refused")[0]["details"]["reason"] == (
        "retention_active"
    )
    assert audit_events(client, "subject.delete_refused")[0]["target_id"] == subject["id"]
    assert audit_events(client, "document.deleted") == []

    set_rule(client, "passport", "upload", "P0D")  # the period is over today
    assert client.delete(file_url).status_code == 204
    assert client.delete(f"/v1/documents/{doc['id']}").status_code == 204
    assert client.delete(f"/v1/subjects/{subject['id']}").status_code == 204


def test_a_relationship_not_ended_keeps_the_document_without_a_date(
    client: httpx2.Client,
) -> None:
    subject = new_subject(client)
    doc = passport(client, subject["id"])
    set_rule(client, "passport", "relationship_end", "P5Y")
    body = problem(client.delete(f"/v1/documents/{doc['id']}"), 409, "retention_active")
    assert body["retain_until"] is None
    assert "relationship_end" in body["detail"]

    end_relationship(client, subject["id"], "2024-02-29")
    body = problem(client.delete(f"/v1/documents/{doc['id']}"), 409, "retention_active")
    assert body["retain_until"] == "2029-02-28"
    end_relationship(client, subject["id"], "2001-01-31")  # the period ended in 2006
    assert client.delete(f"/v1/documents/{doc['id']}").status_code == 204


def test_documents_without_a_rule_or_past_their_period_go(client: httpx2.Client) -> None:
    set_rule(client, "passport", "expiry", "P1Y")
    expired = new_doc(client, type="passport", expiry_date="2020-01-31")
    bill = new_doc(client, type="utility_bill")
    assert client.delete(f"/v1/documents/{expired['id']}").status_code == 204
    assert client.delete(f"/v1/documents/{bill['id']}").status_code == 204
    undated = new_doc(client, type="passport")  # no expiry date: kept, no date to name
    body = problem(client.delete(f"/v1/documents/{undated['id']}"), 409, "retention_active")
    assert body["retain_until"] is None


def test_a_hold_is_named_before_retention(client: httpx2.Client) -> None:
    doc = passport(client)
    set_rule(client, "passport", "upload", "P5Y")
    hold(client, document_id=doc["id"])
    problem(client.delete(f"/v1/documents/{doc['id']}"), 409, "legal_hold")


@pytest.mark.parametrize("call", DIALECT_DELETES, ids=lambda c: c.path)
def test_dialect_deletes_are_refused_in_the_period(server: Server, call: Call) -> None:
    tenant, ids = dialect_target(server)
    with server.client(tenant["api_key"]) as admin:
        set_rule(admin, "passport", "upload", "P10Y")
        refused = call.send(admin, ids)
        assert refused.status_code == 409, refused.text
        assert error_code(refused) == "retention_active"
        assert admin.get(f"/v1/documents/{ids['doc']}").json()["files"] != []
        events = audit_events(admin, "document.delete_refused") + audit_events(
            admin, "file.delete_refused"
        )
        assert [e["details"]["reason"] for e in events] == ["retention_active"]
        assert admin.delete("/v1/retention-rules/passport").status_code == 204
        allowed = call.send(admin, ids)
        assert allowed.status_code in (200, 204), allowed.text
