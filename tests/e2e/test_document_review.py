"""End to end: a document's review (POST /v1/documents/{id}/review, the ``review`` of every
document, ``GET /v1/documents?review_status=``), its event and audit trail, the scope it
needs; and the expiring documents as CSV (``GET /v1/reports/expiring?format=csv``)."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import pytest

from kycvault.domain.scopes import Scope
from kycvault.errors import InvalidInput
from kycvault.services import expiring_export
from kycvault.services.context import Actor, AppContext
from kycvault.services.expiry import ExpiringReport
from tests.e2e.scopes_support import make_key
from tests.e2e.uploads_support import assert_problem, create, png_part
from tests.helpers import Part, Server, every_page, image_bytes, multipart, post_multipart

# Every answer is checked against the OpenAPI documents (tests/spec_conformance.py).
pytestmark = pytest.mark.usefixtures("responses_conform")

CYNOPSIS = "/compat/cynopsis/api/customer"
PENDING = {"status": "pending", "reason_code": None, "reason": None, "by": None, "at": None}


def _document(client: httpx2.Client, **fields: Any) -> dict[str, Any]:
    made = create(client, "passport", png_part("front.png"), **fields)
    assert made.status_code == 201, made.text
    doc: dict[str, Any] = made.json()
    return doc


def _review(client: httpx2.Client, document_id: str, **body: Any) -> httpx2.Response:
    return client.post(f"/v1/documents/{document_id}/review", json=body)


def _reviewed_events(client: httpx2.Client, document_id: str) -> list[dict[str, Any]]:
    return every_page(client, "/v1/events", type="document.reviewed", document_id=document_id)


def _add_file(client: httpx2.Client, document_id: str) -> None:
    parts = [Part("file", image_bytes(), "again.png", "image/png")]
    added = post_multipart(client, f"/v1/documents/{document_id}/files", parts)
    assert added.status_code == 201, added.text


def test_a_new_document_is_pending_and_an_approval_is_stored_with_who_and_when(
    client: httpx2.Client, tenant: dict[str, Any]
) -> None:
    doc = _document(client)
    assert doc["review"] == PENDING
    before = datetime.now(UTC) - timedelta(seconds=5)

    approved = _review(client, doc["id"], status="approved", reason="Checked against the MRZ")
    assert approved.status_code == 200, approved.text
    review = approved.json()["review"]
    assert review["status"] == "approved" and review["reason_code"] is None
    assert review["reason"] == "Checked against the MRZ"
    assert review["by"] == tenant["key_id"]
    assert datetime.fromisoformat(review["at"]) >= before
    assert client.get(f"/v1/documents/{doc['id']}").json()["review"] == review

    (event,) = _reviewed_events(client, doc["id"])
    assert event["data"]["review"]["status"] == "approved"
    assert event["data"]["previous_status"] == "pending"
    assert event["data"]["cause"] == "decision"
    assert "Checked" not in str(event["data"])  # the free text never leaves in an event

    trail = every_page(client, "/v1/audit-events", action="document.reviewed")
    (entry,) = [e for e in trail if e["target_id"] == doc["id"]]
    assert entry["actor"] == tenant["key_id"] and entry["outcome"] == "success"
    assert entry["details"]["status"] == "approved"
    assert "Checked" not in str(entry)


def test_a_rejection_keeps_its_reason_and_a_held_document_can_be_reviewed(
    client: httpx2.Client,
) -> None:
    doc = _document(client)
    held = client.post("/v1/legal-holds", json={"document_id": doc["id"], "reason": "case 7"})
    assert held.status_code == 201, held.text
    text = "  Photo does not match  "
    rejected = _review(
        client, doc["id"], status="rejected", reason_code="suspected_forgery", reason=text
    )
    assert rejected.status_code == 200, rejected.text
    review = rejected.json()["review"]
    assert review["status"] == "rejected" and review["reason_code"] == "suspected_forgery"
    assert review["reason"] == "Photo does not match"
    other = _review(client, doc["id"], status="rejected", reason_code="other", reason="see notes")
    assert other.json()["review"]["reason_code"] == "other"
    events = _reviewed_events(client, doc["id"])
    assert [e["data"]["review"]["reason_code"] for e in events] == ["suspected_forgery", "other"]


def test_a_new_file_sends_a_requested_resubmission_back_to_pending(
    client: httpx2.Client, tenant: dict[str, Any]
) -> None:
    doc = _document(client)
    asked = _review(client, doc["id"], status="resubmission_requested", reason_code="unreadable")
    assert asked.status_code == 200, asked.text
    assert asked.json()["review"]["status"] == "resubmission_requested"

    _add_file(client, doc["id"])
    review = client.get(f"/v1/documents/{doc['id']}").json()["review"]
    assert review["status"] == "pending" and review["reason_code"] is None
    assert review["by"] == tenant["key_id"]
    last = _reviewed_events(client, doc["id"])[-1]["data"]
    assert last["review"]["status"] == "pending"
    assert (last["previous_status"], last["cause"]) == ("resubmission_requested", "file_added")

    # An approved document stays approved when a file is added.
    assert _review(client, doc["id"], status="approved").status_code == 200
    _add_file(client, doc["id"])
    assert client.get(f"/v1/documents/{doc['id']}").json()["review"]["status"] == "approved"
    assert len(_reviewed_events(client, doc["id"])) == 3


def test_a_revision_that_adds_a_file_reopens_a_rejected_document(
    server: Server, client: httpx2.Client, tenant: dict[str, Any]
) -> None:
    """A Cynopsis PUT (``revisions.revise_document``): with a new side the review is pending
    again; with none it stays as it was."""
    subject = client.post("/v1/subjects", json={"display_name": "Jane"}).json()
    fields = json.dumps({"type": "PASSPORT", "number": "S1234567A"}).encode()

    def send(method: str, url: str, *, front: bool) -> httpx2.Response:
        parts = [Part("document", fields)]
        if front:
            parts.append(Part("front", image_bytes(), "front.png", "image/png"))
        content_type, body, _ = multipart(parts)
        headers = {"Content-Type": content_type}
        return cyn.request(method, url, content=b"".join(body), headers=headers)

    auth = {"Authorization": f"Bearer {tenant['api_key']}", "X-Domain-ID": str(tenant["domain_id"])}
    with server.client(None, headers=auth) as cyn:
        made = send("POST", f"{CYNOPSIS}/{subject['number']}/document", front=True)
        assert made.status_code == 200, made.text
        (doc,) = every_page(client, "/v1/documents", subject_id=subject["id"])
        rejected = _review(client, doc["id"], status="rejected", reason_code="unreadable")
        assert rejected.status_code == 200, rejected.text
        url = f"{CYNOPSIS}/{subject['number']}/document/{made.json()['id']}"

        assert send("PUT", url, front=False).status_code == 200
        assert client.get(f"/v1/documents/{doc['id']}").json()["review"]["status"] == "rejected"
        assert send("PUT", url, front=True).status_code == 200
    assert client.get(f"/v1/documents/{doc['id']}").json()["review"]["status"] == "pending"
    causes = [e["data"]["cause"] for e in _reviewed_events(client, doc["id"])]
    assert causes == ["decision", "file_added"]


def test_the_listing_filters_by_review_status(client: httpx2.Client) -> None:
    approved, rejected, pending = (_document(client) for _ in range(3))
    assert _review(client, approved["id"], status="approved").status_code == 200
    made = _review(client, rejected["id"], status="rejected", reason_code="expired")
    assert made.status_code == 200

    def ids(*statuses: str) -> set[str]:
        return {d["id"] for d in every_page(client, "/v1/documents", review_status=list(statuses))}

    assert ids("approved") == {approved["id"]}
    assert ids("rejected", "approved") == {approved["id"], rejected["id"]}
    assert ids("pending") == {pending["id"]}
    numbered = client.get("/v1/documents", params={"review_status": "rejected", "page": 1})
    assert numbered.json()["total_count"] == 1
    assert_problem(client.get("/v1/documents", params={"review_status": "maybe"}), 400)


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"status": "pending"}, "validation_error", "status"),
        ({"status": "done"}, "validation_error", "status"),
        ({"status": "rejected"}, "reason_code_required", "reason_code"),
        ({"status": "resubmission_requested"}, "reason_code_required", "reason_code"),
        ({"status": "rejected", "reason_code": "other"}, "reason_required", "reason"),
        ({"status": "rejected", "reason_code": "other", "reason": "  "}, "reason_required", None),
        ({"status": "rejected", "reason_code": "blurry"}, "validation_error", "reason_code"),
        ({"status": "approved", "reason_code": "expired"}, "reason_code_not_allowed", None),
        ({"status": "approved", "reason": "x" * 501}, "validation_error", "reason"),
        ({"status": "approved", "reason": "a\u0007b"}, "control_characters", "reason"),
        ({"status": "approved", "by": "someone"}, "validation_error", "by"),
        ({}, "validation_error", "status"),
    ],
)
def test_bad_input_is_a_400_with_its_code_and_stores_nothing(
    client: httpx2.Client, body: dict[str, Any], code: str, field: str | None
) -> None:
    doc = _document(client)
    problem = assert_problem(_review(client, doc["id"], **body), 400, code)
    if field is not None:
        assert problem["errors"][0]["field"].endswith(field), problem
    assert client.get(f"/v1/documents/{doc['id']}").json()["review"] == PENDING
    assert _reviewed_events(client, doc["id"]) == []


def test_a_key_without_documents_review_is_refused_and_another_tenant_gets_404(
    server: Server, client: httpx2.Client, tenant: dict[str, Any], other_client: httpx2.Client
) -> None:
    doc = _document(client)
    reader = make_key(server, tenant["tenant_id"], [Scope.DOCUMENTS_READ])
    with server.client(reader.api_key) as read_only:
        refused = assert_problem(_review(read_only, doc["id"], status="approved"), 403)
        assert refused["code"] == "insufficient_scope"
        assert read_only.get(f"/v1/documents/{doc['id']}").status_code == 200
    reviewer = make_key(server, tenant["tenant_id"], [Scope.DOCUMENTS_REVIEW])
    with server.client(reviewer.api_key) as reviewing:
        assert _review(reviewing, doc["id"], status="approved").status_code == 200
    assert_problem(_review(other_client, doc["id"], status="approved"), 404, "document_not_found")
    nowhere = str(uuid.uuid4())
    assert_problem(_review(client, nowhere, status="approved"), 404, "document_not_found")


def test_the_expiring_documents_export_as_csv_with_formula_cells_neutralised(
    client: httpx2.Client,
) -> None:
    subject = client.post(
        "/v1/subjects",
        json={"display_name": '=HYPERLINK("http://x")', "external_id": "+4471"},
    ).json()
    today = datetime.now(UTC).date()
    soon = _document(
        client,
        subject_id=subject["id"],
        id_number="-99",
        expiry_date=(today + timedelta(days=10)).isoformat(),
    )
    _document(
        client, subject_id=subject["id"], expiry_date=(today + timedelta(days=90)).isoformat()
    )
    _document(client, expiry_date=(today + timedelta(days=5)).isoformat())  # no subject

    response = client.get("/v1/reports/expiring", params={"format": "csv", "within_days": 30})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith("attachment;")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == [
        "subject_id", "subject_name", "external_id", "document_id", "document_number", "type",
        "id_number", "expiry_date", "days_left",
    ]  # fmt: skip
    assert rows[1:] == [
        [
            subject["id"],
            '\'=HYPERLINK("http://x")',
            "'+4471",
            soon["id"],
            str(soon["number"]),
            "passport",
            "'-99",
            (today + timedelta(days=10)).isoformat(),
            "10",
        ]
    ]
    trail = every_page(client, "/v1/audit-events", action="document.expiring_exported")
    assert trail and trail[0]["details"]["count"] == 1
    assert_problem(client.get("/v1/reports/expiring", params={"format": "xml"}), 400)
    paged = client.get("/v1/reports/expiring", params={"format": "csv", "limit": 5})
    assert_problem(paged, 400, "not_paged")


def test_the_console_report_goes_up_to_ten_years_with_names_and_numbers(
    server: Server, client: httpx2.Client, tenant: dict[str, Any]
) -> None:
    """``expiring_export.expiring_by_subject``: the window from 1 to 3650 days, a page of
    subjects at a time, with their names and the documents' numbers, each page audited."""
    today = datetime.now(UTC).date()
    made = []
    for name, days in (("Ada", 3000), ("Grace", 20)):
        subject = client.post("/v1/subjects", json={"display_name": name}).json()
        expiry = (today + timedelta(days=days)).isoformat()
        made.append((subject, _document(client, subject_id=subject["id"], expiry_date=expiry)))
    actor = Actor(tenant_id=uuid.UUID(tenant["tenant_id"]), key_id=tenant["key_id"])

    async def pages(ctx: AppContext) -> list[ExpiringReport]:
        first = await expiring_export.expiring_by_subject(ctx, actor, within_days=3650, limit=1)
        assert first.has_more and first.next_cursor
        second = await expiring_export.expiring_by_subject(
            ctx, actor, within_days=3650, limit=1, cursor=first.next_cursor
        )
        near = await expiring_export.expiring_by_subject(ctx, actor, within_days=30)
        return [first, second, near]

    first, second, near = server.in_context(pages)
    subjects = first.subjects + second.subjects
    assert sorted(s.display_name or "" for s in subjects) == ["Ada", "Grace"]
    by_name = {s.display_name: s for s in subjects}
    for subject, doc in made:
        (listed,) = by_name[subject["display_name"]].documents
        expected = (uuid.UUID(doc["id"]), doc["number"], "passport")
        assert (listed.id, listed.number, listed.type) == expected
    assert [s.display_name for s in near.subjects] == ["Grace"]
    audited = every_page(client, "/v1/audit-events", action="document.expiring_listed")
    assert len(audited) == 3 and audited[0]["details"]["within_days"] == 30

    for days in (0, 3651):

        async def refused(ctx: AppContext, days: int = days) -> None:
            with pytest.raises(InvalidInput) as error:
                await expiring_export.expiring_by_subject(ctx, actor, within_days=days)
            assert error.value.errors[0].code == "out_of_range"

        server.in_context(refused)
