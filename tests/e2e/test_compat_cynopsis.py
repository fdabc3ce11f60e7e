"""Cynopsis Artemis customer documents under /compat/cynopsis, against a real server: the
seed's curl request (front + back + document JSON) and every field of its answer, the
create → update → get → list → delete cycle, the images behind front/back, and bad input."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from typing import Any

import httpx2
import pytest

from tests.helpers import Part, Server, image_bytes, multipart

# Every answer is checked against the OpenAPI documents (tests/spec_conformance.py).
pytestmark = pytest.mark.usefixtures("responses_conform")

BASE = "/compat/cynopsis/api/customer"
SEED_DOCUMENT = {
    "type": "NATIONAL_ID",
    "number": "S1234567A",
    "authenticity": "ORIGINAL",
    "issueDate": "2020-01-01T00:00:00.000Z",
    "expiryDate": "2030-01-01T00:00:00.000Z",
    "showExpiryNotification": True,
}
TIMESTAMP_FIELDS = {
    "date", "day", "hours", "minutes", "month", "nanos", "seconds", "time", "timezoneOffset",
    "year",
}  # fmt: skip
USER_FIELDS = {"id", "email", "firstName", "lastName", "fullName"}


@pytest.fixture
def account(server: Server) -> dict[str, Any]:
    return server.create_tenant()


@pytest.fixture
def cyn(server: Server, account: dict[str, Any]) -> Any:
    headers = {
        "Authorization": f"Bearer {account['api_key']}",
        "X-Domain-ID": str(account["domain_id"]),
    }
    with server.client(None, headers=headers, timeout=60) as client:
        yield client


@pytest.fixture
def customers(server: Server, account: dict[str, Any]) -> dict[str, Any]:
    """A company and its director, made through the native API."""
    with server.client(account["api_key"]) as native:
        company = native.post(
            "/v1/subjects",
            json={"type": "company", "display_name": "Acme", "metadata": {"uen": "201912345K"}},
        ).json()
        director = native.post(
            "/v1/subjects",
            json={
                "type": "individual",
                "display_name": "Jane",
                "parent_id": company["id"],
                "metadata": {"nationality": "SG"},
            },
        ).json()
    return {"company": company, "director": director}


def _send(
    client: Any, method: str, url: str, document: Any, front: bytes | None, back: bytes | None
) -> httpx2.Response:
    """A multipart request as the seed's curl sends it (``document`` as a plain field)."""
    text = document if isinstance(document, str) else json.dumps(document)
    parts = [Part("document", text.encode())]
    if front is not None:
        parts.append(Part("front", front, "front.png", "image/png"))
    if back is not None:
        parts.append(Part("back", back, "back.png", "image/png"))
    content_type, body, _ = multipart(parts)
    response: httpx2.Response = client.request(
        method, url, content=b"".join(body), headers={"Content-Type": content_type}
    )
    return response


def _timestamp_matches(stamp: dict[str, Any], iso: str) -> None:
    assert set(stamp) == TIMESTAMP_FIELDS
    at = datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(UTC)
    assert stamp["time"] == int(at.timestamp() * 1000)
    assert (stamp["year"] + 1900, stamp["month"] + 1, stamp["date"]) == (
        at.year,
        at.month,
        at.day,
    )
    assert (stamp["hours"], stamp["minutes"], stamp["seconds"]) == (at.hour, at.minute, at.second)
    assert stamp["day"] == (at.weekday() + 1) % 7
    assert stamp["timezoneOffset"] == 0
    assert stamp["nanos"] == at.microsecond * 1000


def test_the_seed_request_and_every_field(
    server: Server, account: dict[str, Any], cyn: Any, customers: dict[str, Any]
) -> None:
    director, company = customers["director"], customers["company"]
    front, back = image_bytes(), image_bytes("JPEG")
    response = _send(
        cyn, "POST", f"{BASE}/{director['number']}/document", SEED_DOCUMENT, front, None
    )
    assert response.status_code == 200, response.text
    created = response.json()
    url = f"{BASE}/{director['number']}/document/{created['id']}"
    files = [
        ("front", ("front.png", front, "image/png")),
        ("back", ("back.jpg", back, "image/jpeg")),
    ]
    response = cyn.put(url, data={"document": json.dumps(SEED_DOCUMENT)}, files=files)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {
        "assignees", "authenticity", "back", "backName", "createdAt", "createdBy",
        "customerId", "expiryDate", "front", "frontName", "id", "issueDate", "number",
        "parentCustomerId", "parentParticular", "particular", "showExpiryNotification",
        "type", "updatedAt", "updatedBy",
    }  # fmt: skip
    assert isinstance(body["id"], int) and body["id"] == created["id"]
    assert body["customerId"] == director["number"]
    assert body["parentCustomerId"] == company["number"]
    assert body["type"] == "NATIONAL_ID"
    assert body["number"] == "S1234567A"
    assert body["authenticity"] == "ORIGINAL"
    assert (body["issueDate"], body["expiryDate"]) == ("2020-01-01", "2030-01-01")
    assert body["showExpiryNotification"] is True
    assert (body["frontName"], body["backName"]) == ("front.png", "back.jpg")
    assert body["particular"] == {"nationality": "SG"}
    assert body["parentParticular"] == {"uen": "201912345K"}
    assert body["assignees"] == []
    assert set(body["createdBy"]) == USER_FIELDS
    assert body["createdBy"]["fullName"] == account["key_id"]

    # The same document through the native API: the one record, the same instants.
    with server.client(account["api_key"]) as native:
        listed = native.get("/v1/documents", params={"subject_id": director["id"]}).json()
        (doc,) = listed["data"]
    assert doc["number"] == body["id"]
    assert doc["type"] == "national_id"
    assert doc["id_number"] == "S1234567A"
    assert doc["notify_before_expiry"] is True
    assert sorted(f["role"] for f in doc["files"]) == ["BACK", "FRONT"]
    _timestamp_matches(body["createdAt"], doc["created_at"])
    _timestamp_matches(body["updatedAt"], doc["updated_at"])
    assert body["updatedAt"]["time"] >= body["createdAt"]["time"]

    # The images behind front and back.
    for side, data in (("front", front), ("back", back)):
        assert body[side] == f"{url}/{side}"
        image = cyn.get(body[side])
        assert image.status_code == 200
        assert hashlib.sha256(image.content).digest() == hashlib.sha256(data).digest()


def test_create_update_get_list_delete(cyn: Any, customers: dict[str, Any]) -> None:
    number = customers["director"]["number"]
    assert cyn.get(f"{BASE}/{number}/document").json() == []
    passport = {"type": "PASSPORT", "number": "E1234567", "expiryDate": "2031-05-06"}
    first = _send(cyn, "POST", f"{BASE}/{number}/document", passport, image_bytes(), None)
    assert first.status_code == 200, first.text
    made = first.json()
    assert made["type"] == "PASSPORT"
    assert made["back"] is None and made["backName"] is None
    assert made["showExpiryNotification"] is False
    url = f"{BASE}/{number}/document/{made['id']}"

    new_front = image_bytes(size=(20, 20))
    changed = {**passport, "number": "E7654321", "showExpiryNotification": True}
    updated = _send(cyn, "PUT", url, changed, new_front, image_bytes())
    assert updated.status_code == 200, updated.text
    body = updated.json()
    assert (body["number"], body["showExpiryNotification"]) == ("E7654321", True)
    assert body["back"] == f"{url}/back"
    assert cyn.get(f"{url}/front").content == new_front  # the front was replaced

    assert cyn.get(url).json() == body
    others = {"type": "OTHERS", "number": "X-1"}
    second = _send(cyn, "POST", f"{BASE}/{number}/document", others, image_bytes(), None)
    assert second.status_code == 200, second.text
    listed = cyn.get(f"{BASE}/{number}/document").json()
    assert [d["id"] for d in listed] == [made["id"], second.json()["id"]]

    deleted = cyn.delete(url)
    assert deleted.status_code == 200
    gone = cyn.get(url)
    assert gone.status_code == 404
    assert gone.json()["status"] == 404
    assert [d["id"] for d in cyn.get(f"{BASE}/{number}/document").json()] == [second.json()["id"]]


def _error(response: httpx2.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"timestamp", "status", "error", "message", "path", "code"}
    assert body["status"] == status
    assert body["code"] == code
    assert body["path"] == response.request.url.path


@pytest.mark.parametrize(
    ("document", "front", "code"),
    [
        (SEED_DOCUMENT, None, "file_required"),
        ("{not json", image_bytes(), "invalid_document"),
        ({**SEED_DOCUMENT, "type": "VISA"}, image_bytes(), "invalid_document"),
        ({**SEED_DOCUMENT, "issueDate": "yesterday"}, image_bytes(), "invalid_document"),
    ],
    ids=["missing-front", "bad-json", "unknown-type", "bad-date"],
)
def test_bad_input_is_400_and_stores_nothing(
    cyn: Any, customers: dict[str, Any], document: Any, front: bytes | None, code: str
) -> None:
    number = customers["director"]["number"]
    response = _send(cyn, "POST", f"{BASE}/{number}/document", document, front, None)
    _error(response, 400, code)
    assert cyn.get(f"{BASE}/{number}/document").json() == []


@pytest.mark.parametrize("ref", ["99999999999999999999999", "0", "abc"])
def test_a_customer_id_outside_int64_is_400(cyn: Any, ref: str) -> None:
    _error(cyn.get(f"{BASE}/{ref}/document"), 400, "validation_error")
    _error(cyn.get(f"{BASE}/1/document/{ref}"), 400, "validation_error")


def test_missing_document_part(cyn: Any, customers: dict[str, Any]) -> None:
    number = customers["director"]["number"]
    files = {"front": ("front.png", image_bytes(), "image/png")}
    _error(cyn.post(f"{BASE}/{number}/document", files=files), 400, "required")


def test_domain_id_must_be_the_tenants(
    server: Server, account: dict[str, Any], customers: dict[str, Any]
) -> None:
    url = f"{BASE}/{customers['director']['number']}/document"
    bearer = {"Authorization": f"Bearer {account['api_key']}"}
    with server.client(None, timeout=30) as client:
        _error(client.get(url, headers=bearer), 403, "domain_mismatch")
        wrong = {**bearer, "X-Domain-ID": str(account["domain_id"] + 1000)}
        _error(client.get(url, headers=wrong), 403, "domain_mismatch")
        nobody = {"X-Domain-ID": str(account["domain_id"])}
        _error(client.get(url, headers=nobody), 401, "unauthenticated")


def test_another_tenants_customer_is_not_found(
    server: Server, cyn: Any, customers: dict[str, Any]
) -> None:
    """Numbers are per tenant: the other tenant's third customer has a number this tenant
    (two customers) has not given out, and stays out of reach."""
    other = server.create_tenant()
    with server.client(other["api_key"]) as native:
        made = [
            native.post("/v1/subjects", json={"display_name": f"c{n}"}).json() for n in range(3)
        ]
    theirs = made[-1]["number"]
    assert theirs not in {customers["director"]["number"], customers["company"]["number"]}
    url = f"{BASE}/{theirs}/document"
    _error(_send(cyn, "POST", url, SEED_DOCUMENT, image_bytes(), None), 404, "subject_not_found")
    _error(cyn.get(url), 404, "subject_not_found")


def test_documents_of_another_customer_are_not_found(cyn: Any, customers: dict[str, Any]) -> None:
    director, company = customers["director"]["number"], customers["company"]["number"]
    made = _send(cyn, "POST", f"{BASE}/{director}/document", SEED_DOCUMENT, image_bytes(), None)
    doc_id = made.json()["id"]
    _error(cyn.get(f"{BASE}/{company}/document/{doc_id}"), 404, "document_not_found")
    _error(cyn.get(f"{BASE}/{director}/document/{doc_id}/back"), 404, "file_not_found")
    assert date.fromisoformat(made.json()["expiryDate"]) == date(2030, 1, 1)


def test_keyed_retries_replay_and_write_once(cyn: Any, customers: dict[str, Any]) -> None:
    """Idempotency-Key is honoured on Cynopsis's writes: a retried create or update gets the
    first answer back and stores nothing more."""
    number = customers["director"]["number"]
    url = f"{BASE}/{number}/document"
    parts = [
        Part("document", json.dumps(SEED_DOCUMENT).encode()),
        Part("front", image_bytes(), "front.png", "image/png"),
    ]
    made = []
    for boundary in ("first-boundary", "second-boundary"):
        content_type, body, _ = multipart(parts, boundary)
        headers = {"Content-Type": content_type, "Idempotency-Key": "create-1"}
        made.append(cyn.post(url, content=b"".join(body), headers=headers))
    assert [r.status_code for r in made] == [200, 200], made[0].text
    assert made[1].headers["idempotent-replayed"] == "true"
    assert made[1].json() == made[0].json()
    assert [d["id"] for d in cyn.get(url).json()] == [made[0].json()["id"]]

    content_type, chunks, _ = multipart([*parts, Part("back", image_bytes("JPEG"), "b.jpg")])
    content = b"".join(chunks)
    headers = {"Content-Type": content_type, "Idempotency-Key": "update-1"}
    doc_url = f"{url}/{made[0].json()['id']}"
    updated = [cyn.put(doc_url, content=content, headers=headers) for _ in "ab"]
    assert [r.status_code for r in updated] == [200, 200], updated[0].text
    assert updated[1].headers["idempotent-replayed"] == "true"
    assert updated[1].json() == updated[0].json()
    assert cyn.get(doc_url).json()["backName"] == "b.jpg"


def _native_roles(server: Server, account: dict[str, Any], doc_number: int) -> dict[str, bytes]:
    """The document's files through the native API: role → content."""
    with server.client(account["api_key"]) as native:
        listed = native.get("/v1/documents").json()["data"]
        (doc,) = [d for d in listed if d["number"] == doc_number]
        return {
            f["role"]: native.get(f"/v1/documents/{doc['id']}/files/{f['id']}/content").content
            for f in doc["files"]
        }


def test_a_type_change_with_a_new_front_keeps_the_back(
    server: Server, account: dict[str, Any], cyn: Any, customers: dict[str, Any]
) -> None:
    """NATIONAL_ID → PASSPORT with a new front: the new front is the passport's first page,
    the card's back its second."""
    number = customers["director"]["number"]
    front, back, new_front = image_bytes(), image_bytes(size=(30, 30)), image_bytes(size=(20, 20))
    made = _send(cyn, "POST", f"{BASE}/{number}/document", SEED_DOCUMENT, front, back)
    assert made.status_code == 200, made.text
    url = f"{BASE}/{number}/document/{made.json()['id']}"
    passport = {**SEED_DOCUMENT, "type": "PASSPORT"}
    changed = _send(cyn, "PUT", url, passport, new_front, None)
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["type"] == "PASSPORT"
    assert (body["front"], body["back"]) == (f"{url}/front", f"{url}/back")
    assert (cyn.get(f"{url}/front").content, cyn.get(f"{url}/back").content) == (new_front, back)
    assert _native_roles(server, account, made.json()["id"]) == {"PAGE1": new_front, "PAGE2": back}


def test_a_type_change_without_a_new_file_keeps_both_sides(
    server: Server, account: dict[str, Any], cyn: Any, customers: dict[str, Any]
) -> None:
    number = customers["director"]["number"]
    front, back = image_bytes(), image_bytes(size=(30, 30))
    made = _send(cyn, "POST", f"{BASE}/{number}/document", SEED_DOCUMENT, front, back)
    assert made.status_code == 200, made.text
    url = f"{BASE}/{number}/document/{made.json()['id']}"
    passport = {**SEED_DOCUMENT, "type": "PASSPORT", "number": "E1234567"}
    changed = _send(cyn, "PUT", url, passport, None, None)
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["type"], body["number"]) == ("PASSPORT", "E1234567")
    assert (body["frontName"], body["backName"]) == ("front.png", "back.png")
    assert (cyn.get(f"{url}/front").content, cyn.get(f"{url}/back").content) == (front, back)
    assert _native_roles(server, account, made.json()["id"]) == {"PAGE1": front, "PAGE2": back}
    # And back again: the passport's pages are the card's sides once more.
    restored = _send(cyn, "PUT", url, SEED_DOCUMENT, None, None)
    assert restored.status_code == 200, restored.text
    assert _native_roles(server, account, made.json()["id"]) == {"FRONT": front, "BACK": back}
