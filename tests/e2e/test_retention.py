"""Retention rules and a subject's relationship end over the API: validation, the tenant
catalog's types, listing, removal, scopes and the audit trail."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from tests.e2e.documents_support import new_subject
from tests.e2e.holds_support import audit_events
from tests.e2e.problem_support import problem
from tests.e2e.retention_support import end_relationship, set_rule

# Every answer is checked against the OpenAPI documents (tests/spec_conformance.py).
pytestmark = pytest.mark.usefixtures("responses_conform")


def test_rules_are_set_listed_replaced_and_removed(
    client: httpx2.Client, other_client: httpx2.Client
) -> None:
    assert client.get("/v1/retention-rules").json() == []
    rule = set_rule(client, "passport", "relationship_end", "P5Y")
    assert rule["document_type"] == "passport"
    assert (rule["basis"], rule["period"]) == ("relationship_end", "P5Y")
    set_rule(client, "utility_bill", "upload", "p6m")
    replaced = set_rule(client, "passport", "expiry", "P10Y")
    listed = client.get("/v1/retention-rules").json()
    assert [(r["document_type"], r["basis"], r["period"]) for r in listed] == [
        ("passport", "expiry", "P10Y"),
        ("utility_bill", "upload", "P6M"),
    ]
    assert listed[0] == replaced
    assert other_client.get("/v1/retention-rules").json() == []  # another tenant's

    assert client.delete("/v1/retention-rules/passport").status_code == 204
    problem(client.delete("/v1/retention-rules/passport"), 404, "retention_rule_not_found")
    assert [r["document_type"] for r in client.get("/v1/retention-rules").json()] == [
        "utility_bill"
    ]

    set_events = audit_events(client, "retention_rule.set")
    assert len(set_events) == 3
    assert set_events[0]["details"]["period"] == "P10Y"
    assert set_events[0]["details"]["basis"] == "expiry"
    removed = audit_events(client, "retention_rule.removed")
    assert [e["details"]["document_type"] for e in removed] == ["passport"]


@pytest.mark.parametrize(
    "body",
    [
        {"basis": "upload", "period": "PT5H"},
        {"basis": "upload", "period": "P1W"},
        {"basis": "upload", "period": "5Y"},
        {"basis": "upload", "period": "P1.5Y"},
        {"basis": "forever", "period": "P5Y"},
        {"basis": "upload"},
        {"basis": "upload", "period": "P5Y", "extra": 1},
    ],
)
def test_bad_rules_are_refused(client: httpx2.Client, body: dict[str, Any]) -> None:
    response = client.put("/v1/retention-rules/passport", json=body)
    assert response.status_code in (400, 422), response.text
    assert client.get("/v1/retention-rules").json() == []


def test_an_unknown_document_type_is_404(client: httpx2.Client) -> None:
    body = {"basis": "upload", "period": "P5Y"}
    problem(client.put("/v1/retention-rules/spaceship", json=body), 404, "document_type_not_found")
    problem(client.delete("/v1/retention-rules/spaceship"), 404, "document_type_not_found")


def test_a_relationship_end_is_set_and_cleared(client: httpx2.Client) -> None:
    subject = new_subject(client)
    end_relationship(client, subject["id"], "2024-03-31")
    end_relationship(client, subject["id"], None)
    for wrong in ("31/03/2024", 0, 1711843200, True, ["2024-03-31"]):
        response = client.post(
            f"/v1/subjects/{subject['id']}/relationship-end", json={"ended_on": wrong}
        )
        assert response.status_code == 400, (wrong, response.text)
    nowhere = "00000000-0000-4000-8000-000000000000"
    response = client.post(f"/v1/subjects/{nowhere}/relationship-end", json={"ended_on": None})
    problem(response, 404, "subject_not_found")
    events = audit_events(client, "subject.relationship_end_set")
    assert [e["details"]["cleared"] for e in events] == [True, False]
    assert all(e["subject_id"] == subject["id"] for e in events)


def test_receipts_refuse_unknown_parameters(client: httpx2.Client) -> None:
    problem(client.get("/v1/deletion-receipts", params={"document": "x"}), 400, None)
    assert client.get("/v1/deletion-receipts").json()["data"] == []
