"""End to end: the event log (GET /v1/events).

Every change a client cares about leaves exactly one event, committed with it, whichever API
made it (native or a vendor dialect); a refused change and an idempotent replay leave none;
payloads hold ids and a small snapshot, never document numbers or persons' names; the log
pages without loss or repeat, filters, refuses unknown parameters and shows a tenant only
its own events.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx2
import pytest

from tests.e2e.processing_support import settled
from tests.e2e.processing_support import upload as upload_for_processing
from tests.e2e.uploads_support import assert_problem, create, pdf_part, png_part
from tests.helpers import Part, Server, every_page, image_bytes, multipart, post_multipart

# Every answer is checked against the OpenAPI documents (tests/spec_conformance.py).
pytestmark = pytest.mark.usefixtures("responses_conform")

ID_NUMBER = "X98765432"
PERSON = "Ann Lee-Okafor"
PROCESSED = "document.processed"


def events(client: httpx2.Client, **params: Any) -> list[dict[str, Any]]:
    """Every event matching ``params``, oldest first."""
    return every_page(client, "/v1/events", **params)


def changes(client: httpx2.Client, **params: Any) -> list[dict[str, Any]]:
    """The events of changes made by requests (processing runs on its own time)."""
    return [e for e in events(client, **params) if e["type"] != PROCESSED]


def assert_no_secrets(found: list[dict[str, Any]], *secrets: str) -> None:
    text = json.dumps(found)
    for secret in (ID_NUMBER, PERSON, *secrets):
        assert secret not in text
    for event in found:
        assert set(event) == {"id", "type", "created_at", "tenant_id", "sequence", "data"}
        assert "id_number" not in json.dumps(event["data"])


@pytest.fixture
def anonymous(server: Server) -> Iterator[httpx2.Client]:
    with server.client(None) as c:
        yield c


def test_each_change_emits_one_event(
    client: httpx2.Client, tenant: dict[str, Any], anonymous: httpx2.Client
) -> None:
    subject = client.post("/v1/subjects", json={"external_id": "c-1", "display_name": PERSON})
    assert subject.status_code == 201, subject.text
    sid = subject.json()["id"]
    assert client.patch(f"/v1/subjects/{sid}", json={"metadata": {"tier": 2}}).status_code == 200
    made = create(
        client, "passport", png_part(f"{PERSON}.png"), subject_id=sid, id_number=ID_NUMBER
    )
    assert made.status_code == 201, made.text
    doc = made.json()
    did, first_file = doc["id"], doc["files"][0]["id"]
    patched = client.patch(f"/v1/documents/{did}", json={"expiry_date": "2031-01-31"})
    assert patched.status_code == 200, patched.text
    added = post_multipart(client, f"/v1/documents/{did}/files", [pdf_part(f"{PERSON}.pdf")])
    assert added.status_code == 201, added.text
    second_file = added.json()["data"][0]["id"]
    link = client.post(f"/v1/documents/{did}/files/{first_file}/download-link")
    assert link.status_code == 201, link.text
    assert anonymous.get(urlsplit(link.json()["download_url"]).path).status_code == 200
    assert client.delete(f"/v1/documents/{did}/files/{second_file}").status_code == 204
    assert client.delete(f"/v1/documents/{did}").status_code == 204
    assert client.delete(f"/v1/subjects/{sid}").status_code == 204

    found = changes(client)
    assert [e["type"] for e in found] == [
        "subject.created",
        "subject.updated",
        "document.created",
        "document.updated",
        "file.added",
        "download_link.redeemed",
        "file.deleted",
        "document.deleted",
        "subject.deleted",
    ]
    assert_no_secrets(found)
    sequences = [e["sequence"] for e in found]
    assert sequences == sorted(sequences) and len(set(sequences)) == len(sequences)
    assert {e["tenant_id"] for e in found} == {tenant["tenant_id"]}
    by_type = {e["type"]: e["data"] for e in found}
    assert by_type["subject.created"]["subject"]["external_id"] == "c-1"
    assert by_type["subject.updated"]["changed"] == ["metadata"]
    created = by_type["document.created"]
    assert (created["document_id"], created["subject_id"]) == (did, sid)
    assert created["document"]["type"] == "passport"
    assert created["document"]["file_ids"] == [first_file]
    updated = by_type["document.updated"]
    assert updated["changed"] == ["expiry_date"]
    assert updated["document"]["expiry_date"] == "2031-01-31"
    assert by_type["file.added"]["file_id"] == second_file
    assert by_type["file.added"]["file"]["content_type"] == "application/pdf"
    assert by_type["download_link.redeemed"] == {"document_id": did, "file_id": first_file}
    assert by_type["file.deleted"] == {
        "document_id": did,
        "subject_id": sid,
        "file_id": second_file,
    }
    assert by_type["document.deleted"] == {"document_id": did, "subject_id": sid}
    assert by_type["subject.deleted"] == {"subject_id": sid}
    one = client.get(f"/v1/events/{found[2]['id']}")
    assert one.status_code == 200 and one.json() == found[2]


def test_a_refused_change_emits_nothing(client: httpx2.Client) -> None:
    sid = client.post("/v1/subjects", json={}).json()["id"]
    made = create(client, "bank_statement", pdf_part(), subject_id=sid)
    assert made.status_code == 201, made.text
    before = changes(client)
    assert_problem(client.delete(f"/v1/subjects/{sid}"), 409, "subject_has_documents")
    refused = create(client, "bank_statement", Part("file", b"<svg/>", "a.txt", "text/plain"))
    assert_problem(refused, 415, "markup_not_allowed")
    bad = client.patch(f"/v1/documents/{made.json()['id']}", json={"type": "no_such_type"})
    assert bad.status_code == 400, bad.text
    assert changes(client) == before


def test_an_idempotent_replay_emits_nothing_again(client: httpx2.Client) -> None:
    headers = {"Idempotency-Key": "events-replay-1"}
    first = client.post("/v1/subjects", json={"external_id": "once"}, headers=headers)
    again = client.post("/v1/subjects", json={"external_id": "once"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    found = changes(client)
    assert [(e["type"], e["data"]["subject_id"]) for e in found] == [
        ("subject.created", first.json()["id"])
    ]


def test_changes_through_dialects_are_recorded(server: Server, tenant: dict[str, Any]) -> None:
    key = tenant["api_key"]
    with server.client(key) as native:
        user = native.post("/v1/subjects", json={"external_id": "dialect-user"}).json()
    base = f"/compat/ncore/users/{user['id']}/identifications"
    with server.client(None, headers={"apikey": key}) as ncore:
        made = ncore.post(base, json={"type": "PASSPORT", "number": ID_NUMBER})
        assert made.status_code == 201, made.text
        parts = [Part("identification_type", b"PASSPORT")]
        parts += [Part("identification_document_type", b"PASSPORT_PAGE1")]
        parts += [Part("file", image_bytes(), "page1.png", "image/png")]
        content_type, body, _ = multipart(parts)
        url = f"{base}/{made.json()['id']}/files"
        put = ncore.put(url, content=b"".join(body), headers={"Content-Type": content_type})
        assert put.status_code == 200, put.text
    cynopsis_headers = {
        "Authorization": f"Bearer {key}",
        "X-Domain-ID": str(tenant["domain_id"]),
    }
    with server.client(None, headers=cynopsis_headers) as cyn:
        document = json.dumps({"type": "PASSPORT", "number": "E1234567"}).encode()
        parts = [Part("document", document), Part("front", image_bytes(), "f.png", "image/png")]
        content_type, body, _ = multipart(parts)
        url = f"/compat/cynopsis/api/customer/{user['number']}/document"
        sent = cyn.post(url, content=b"".join(body), headers={"Content-Type": content_type})
        assert sent.status_code == 200, sent.text
    with server.client(key) as native:
        found = changes(native)
        documents = native.get("/v1/documents", params={"subject_id": user["id"]}).json()
    assert [e["type"] for e in found] == [
        "subject.created",
        "document.created",
        "file.added",
        "document.created",
    ]
    ncore_doc, cynopsis_doc = sorted(documents["data"], key=lambda d: d["number"])
    assert found[1]["data"]["document_id"] == ncore_doc["id"]
    assert found[2]["data"]["file"]["role"] == "PAGE1"
    assert found[3]["data"]["document_id"] == cynopsis_doc["id"]
    assert found[3]["data"]["document"]["file_ids"] == [f["id"] for f in cynopsis_doc["files"]]
    assert_no_secrets(found, "E1234567")


def test_document_processed_follows_processing(pclient: httpx2.Client) -> None:
    doc = upload_for_processing(pclient, "passport", image_bytes(), "scan.png", "image/png")
    done = settled(pclient, doc["id"])
    deadline = time.monotonic() + 30
    while not (found := events(pclient, type=PROCESSED, document_id=doc["id"])):
        assert time.monotonic() < deadline, "no document.processed event"
        time.sleep(0.2)
    (event,) = found
    data = event["data"]
    assert data["document_id"] == doc["id"]
    assert data["stages"] == done["processing"]
    assert set(data) == {
        "document_id",
        "subject_id",
        "generation",
        "type",
        "stages",
        "classification",
        "mrz_valid",
        "authenticity_score",
        "authenticity_status",
    }
    assert data["authenticity_score"] == done.get("authenticity_score")
    assert data["authenticity_status"] == done.get("authenticity_status")


def test_pages_through_120_events_without_loss_or_repeat(client: httpx2.Client) -> None:
    for n in range(120):
        assert client.post("/v1/subjects", json={"external_id": f"p-{n}"}).status_code == 201
    seen: list[dict[str, Any]] = []
    page = client.get("/v1/events", params={"limit": 7, "type": "subject.created"}).json()
    while True:
        seen += page["data"]
        if not page["has_more"]:
            break
        params = {"limit": 7, "type": "subject.created", "cursor": page["next_cursor"]}
        page = client.get("/v1/events", params=params).json()
    assert [e["data"]["subject"]["external_id"] for e in seen] == [f"p-{n}" for n in range(120)]
    assert len({e["id"] for e in seen}) == 120
    # The last page's cursor reads what comes later, and only that.
    tail = page["next_cursor"]
    assert tail is not None
    params = {"type": "subject.created", "cursor": tail}
    assert client.get("/v1/events", params=params).json()["data"] == []
    client.post("/v1/subjects", json={"external_id": "p-late"})
    later = client.get("/v1/events", params=params).json()["data"]
    assert [e["data"]["subject"]["external_id"] for e in later] == ["p-late"]
    # A cursor belongs to its filters.
    other = client.get("/v1/events", params={"cursor": tail})
    assert_problem(other, 400, "invalid_cursor")


def test_filters(client: httpx2.Client) -> None:
    first = client.post("/v1/subjects", json={}).json()["id"]
    second = client.post("/v1/subjects", json={}).json()["id"]
    made = create(client, "bank_statement", pdf_part(), subject_id=first)
    did = made.json()["id"]
    client.patch(f"/v1/documents/{did}", json={"metadata": {"k": 1}})
    assert [e["type"] for e in changes(client, subject_id=second)] == ["subject.created"]
    assert [e["type"] for e in changes(client, subject_id=first)] == [
        "subject.created",
        "document.created",
        "document.updated",
    ]
    assert [e["type"] for e in changes(client, document_id=did)] == [
        "document.created",
        "document.updated",
    ]
    both = events(client, type=["subject.created", "document.updated"])
    assert [e["type"] for e in both] == ["subject.created"] * 2 + ["document.updated"]
    today = datetime.now(UTC).date()
    assert len(changes(client, created_from=today.isoformat())) == 4
    assert len(changes(client, created_to=today.isoformat())) == 4
    tomorrow = (today + timedelta(days=1)).isoformat()
    assert changes(client, created_from=tomorrow) == []
    assert changes(client, created_to=(today - timedelta(days=1)).isoformat()) == []
    an_hour_ago = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    assert len(changes(client, created_from=an_hour_ago)) == 4


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"typ": "subject.created"}, "unknown_parameter"),
        ({"subject": "x"}, "unknown_parameter"),
        ({"type": "subject.renamed"}, "unknown_event_type"),
        ({"created_from": "last week"}, "invalid_datetime"),
        ({"created_from": "2026-02-01", "created_to": "2026-01-01"}, "empty_range"),
        ({"cursor": "not-a-cursor"}, "invalid_cursor"),
    ],
)
def test_bad_parameters_are_400(client: httpx2.Client, params: dict[str, str], code: str) -> None:
    assert_problem(client.get("/v1/events", params=params), 400, code)


def test_a_tenant_sees_only_its_own_events(
    client: httpx2.Client, other_client: httpx2.Client
) -> None:
    sid = client.post("/v1/subjects", json={}).json()["id"]
    (mine,) = changes(client)
    assert changes(other_client, subject_id=sid) == []
    assert all(e["tenant_id"] == mine["tenant_id"] for e in changes(client))
    assert all(e["tenant_id"] != mine["tenant_id"] for e in events(other_client))
    response = other_client.get(f"/v1/events/{mine['id']}")
    assert_problem(response, 404, "event_not_found")
    assert client.get("/v1/events/not-a-uuid").status_code in (400, 404, 422)
