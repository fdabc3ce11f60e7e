"""End-to-end tests of /v1/documents as JSON metadata (no files): create, read, update and
delete."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import httpx2
import pytest

from tests.e2e.documents_support import ids, new_doc, new_subject
from tests.e2e.problem_support import problem
from tests.helpers import Part, image_bytes, post_multipart

# Every answer is checked against the OpenAPI documents (tests/spec_conformance.py).
pytestmark = pytest.mark.usefixtures("responses_conform")

# --- create ------------------------------------------------------------------------------


def test_create_with_every_field_round_trips(client: httpx2.Client, tenant: dict[str, Any]) -> None:
    subject = new_subject(client, display_name="Jane")
    metadata = {"source": "onboarding", "scores": [1, 2.5], "nested": {"ok": True}}
    response = client.post(
        "/v1/documents",
        json={
            "type": "passport",
            "subject_id": subject["id"],
            "name": "  Jane's passport ",
            "id_number": "X1234567",
            "issuing_country": "gb",
            "issue_date": "2020-01-31",
            "expiry_date": "2030-01-30",
            "authenticity": "CERTIFIED_COPY",
            "notify_before_expiry": True,
            "metadata": metadata,
        },
    )
    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith("application/json")
    doc = response.json()
    assert response.headers["location"] == f"/v1/documents/{doc['id']}"
    uuid.UUID(doc["id"])
    assert doc["number"] == 1
    assert doc["type"] == "passport"
    assert doc["subject_id"] == subject["id"]
    assert doc["name"] == "Jane's passport"
    assert doc["id_number"] == "X1234567"
    assert doc["issuing_country"] == "GB"
    assert doc["issue_date"] == "2020-01-31"
    assert doc["expiry_date"] == "2030-01-30"
    assert doc["authenticity"] == "CERTIFIED_COPY"
    assert doc["notify_before_expiry"] is True
    assert doc["classification"] == "entity_private"
    assert doc["metadata"] == metadata
    assert doc["files"] == []
    assert doc["created_by"] == tenant["key_id"]
    assert doc["updated_by"] == tenant["key_id"]
    assert doc["created_at"] == doc["updated_at"]

    fetched = client.get(response.headers["location"])
    assert fetched.status_code == 200
    assert fetched.json() == doc


def test_create_minimal_defaults(client: httpx2.Client) -> None:
    doc = new_doc(client, type="visa")
    assert doc["type"] == "visa"
    assert doc["subject_id"] is None
    assert doc["classification"] == "tenant_private"
    for name in ("name", "id_number", "issuing_country", "issue_date", "expiry_date"):
        assert doc[name] is None, name
    assert doc["authenticity"] is None
    assert doc["notify_before_expiry"] is False
    assert doc["metadata"] == {}
    assert doc["files"] == []


@pytest.mark.parametrize(
    ("given", "stored"),
    [("GB", "GB"), ("gb", "GB"), ("GBR", "GBR"), ("gbr", "GBR"), ("De", "DE"), ("usa", "USA")],
)
def test_issuing_country_alpha2_and_alpha3(client: httpx2.Client, given: str, stored: str) -> None:
    doc = new_doc(client, issuing_country=given)
    assert doc["issuing_country"] == stored


@pytest.mark.parametrize("country", ["XX", "ZZZ", "G1", "12", "", "U"])
def test_invalid_country(client: httpx2.Client, country: str) -> None:
    body = problem(
        client.post("/v1/documents", json={"type": "passport", "issuing_country": country}),
        400,
        "invalid_country",
    )
    assert body["errors"][0]["field"] == "issuing_country"
    assert client.get("/v1/documents").json()["data"] == []


def test_country_longer_than_three_is_400(client: httpx2.Client) -> None:
    body = problem(
        client.post("/v1/documents", json={"type": "passport", "issuing_country": "GBRR"}),
        400,
        "validation_error",
    )
    assert body["errors"][0]["field"] == "issuing_country"


@pytest.mark.parametrize("field", ["issue_date", "expiry_date"])
@pytest.mark.parametrize("value", [0, 1735689600, 20270131.0, True])
def test_a_date_given_as_a_number_is_400(client: httpx2.Client, field: str, value: Any) -> None:
    """A date is ISO 8601 text: a number is not read as a Unix time (0 was 1 January 1970)."""
    body = problem(
        client.post("/v1/documents", json={"type": "passport", field: value}),
        400,
        "validation_error",
    )
    assert body["errors"][0]["field"] == field
    assert client.get("/v1/documents").json()["data"] == []


@pytest.mark.parametrize("authenticity", ["ORIGINAL", "CERTIFIED_COPY", "COPY"])
def test_authenticity_values(client: httpx2.Client, authenticity: str) -> None:
    assert new_doc(client, authenticity=authenticity)["authenticity"] == authenticity


def test_classification_follows_subject(client: httpx2.Client) -> None:
    subject = new_subject(client)
    assert new_doc(client)["classification"] == "tenant_private"
    assert new_doc(client, subject_id=subject["id"])["classification"] == "entity_private"
    assert new_doc(client, subject_id=None)["classification"] == "tenant_private"


def test_numbers_are_per_tenant(client: httpx2.Client, other_client: httpx2.Client) -> None:
    assert [new_doc(client)["number"] for _ in range(3)] == [1, 2, 3]
    assert [new_doc(other_client)["number"] for _ in range(2)] == [1, 2]
    # subjects count separately from documents
    assert new_subject(client)["number"] == 1
    assert new_doc(client)["number"] == 4


def test_unknown_type_is_400(client: httpx2.Client) -> None:
    body = problem(
        client.post("/v1/documents", json={"type": "spaceship_licence"}),
        400,
        "unknown_document_type",
    )
    assert body["errors"][0]["field"] == "type"
    assert body["errors"][0]["code"] == "unknown_document_type"
    assert client.get("/v1/documents").json()["data"] == []


def test_missing_type_is_400(client: httpx2.Client) -> None:
    body = problem(client.post("/v1/documents", json={"name": "x"}), 400, "validation_error")
    assert body["errors"][0]["field"] == "type"


def test_expiry_before_issue_is_400(client: httpx2.Client) -> None:
    body = problem(
        client.post(
            "/v1/documents",
            json={"type": "passport", "issue_date": "2024-05-02", "expiry_date": "2024-05-01"},
        ),
        400,
        "expiry_before_issue",
    )
    assert body["errors"][0]["field"] == "expiry_date"
    # the same day is fine
    doc = new_doc(client, issue_date="2024-05-02", expiry_date="2024-05-02")
    assert doc["issue_date"] == doc["expiry_date"] == "2024-05-02"


def test_unknown_subject_is_400(client: httpx2.Client) -> None:
    body = problem(
        client.post("/v1/documents", json={"type": "passport", "subject_id": str(uuid.uuid4())}),
        400,
        "subject_not_found",
    )
    assert body["errors"][0]["field"] == "subject_id"
    assert client.get("/v1/documents").json()["data"] == []


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"type": "passport", "issue_date": "2020-13-01"}, "issue_date"),
        ({"type": "passport", "expiry_date": "tomorrow"}, "expiry_date"),
        ({"type": "passport", "authenticity": "FAKE"}, "authenticity"),
        ({"type": "passport", "metadata": [1]}, "metadata"),
        ({"type": "passport", "metadata": "{}"}, "metadata"),
        ({"type": "passport", "subject_id": "nope"}, "subject_id"),
        ({"type": "passport", "notify_before_expiry": "often"}, "notify_before_expiry"),
        ({"type": "passport", "name": "n" * 256}, "name"),
        ({"type": "passport", "id_number": "9" * 65}, "id_number"),
        ({"type": "passport", "colour": "blue"}, "colour"),
        ({"type": "passport", "number": 99}, "number"),
        ({"type": 5}, "type"),
    ],
)
def test_create_bad_input(client: httpx2.Client, payload: dict[str, Any], field: str) -> None:
    body = problem(client.post("/v1/documents", json=payload), 400, "validation_error")
    assert body["errors"][0]["field"] == field
    assert client.get("/v1/documents").json()["data"] == []


def test_create_invalid_json_and_wrong_content_type(client: httpx2.Client) -> None:
    body = problem(
        client.post(
            "/v1/documents", content=b"{nope", headers={"content-type": "application/json"}
        ),
        400,
        "validation_error",
    )
    assert body["errors"][0]["code"] == "json_invalid"
    problem(
        client.post(
            "/v1/documents",
            content=b'{"type": "passport"}',
            headers={"content-type": "text/plain"},
        ),
        415,
        "unsupported_content_type",
    )
    assert client.get("/v1/documents").json()["data"] == []


# --- get / patch / delete ----------------------------------------------------------------


def test_get_one_and_unknown(client: httpx2.Client) -> None:
    doc = new_doc(client, name="Mine", issuing_country="FRA")
    response = client.get(f"/v1/documents/{doc['id']}")
    assert response.status_code == 200
    assert response.json() == doc
    problem(client.get(f"/v1/documents/{uuid.uuid4()}"), 404, "document_not_found")
    body = problem(client.get("/v1/documents/123"), 400, "validation_error")
    assert body["errors"][0]["field"] == "document_id"


def test_patch_type_dates_and_subject(client: httpx2.Client, tenant: dict[str, Any]) -> None:
    s1 = new_subject(client)
    s2 = new_subject(client)
    doc = new_doc(
        client,
        type="passport",
        name="Doc",
        issuing_country="GB",
        issue_date="2020-01-01",
        expiry_date="2030-01-01",
        metadata={"a": 1},
    )

    response = client.patch(
        f"/v1/documents/{doc['id']}",
        json={"type": "DRIVING_LICENSE", "expiry_date": "2029-06-30", "subject_id": s1["id"]},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["type"] == "drivers_license"
    assert body["expiry_date"] == "2029-06-30"
    assert body["issue_date"] == "2020-01-01"
    assert body["subject_id"] == s1["id"]
    assert body["classification"] == "entity_private"
    for unchanged in ("id", "number", "name", "issuing_country", "metadata", "created_at"):
        assert body[unchanged] == doc[unchanged], unchanged
    assert datetime.fromisoformat(body["updated_at"]) >= datetime.fromisoformat(doc["updated_at"])
    assert body["updated_by"] == tenant["key_id"]
    assert client.get(f"/v1/documents/{doc['id']}").json() == body

    body = client.patch(
        f"/v1/documents/{doc['id']}",
        json={
            "subject_id": s2["id"],
            "issuing_country": "deu",
            "authenticity": "ORIGINAL",
            "notify_before_expiry": True,
            "id_number": "D-1",
        },
    ).json()
    assert body["subject_id"] == s2["id"]
    assert body["issuing_country"] == "DEU"
    assert body["authenticity"] == "ORIGINAL"
    assert body["notify_before_expiry"] is True
    assert body["id_number"] == "D-1"

    # null clears
    body = client.patch(
        f"/v1/documents/{doc['id']}",
        json={
            "subject_id": None,
            "name": None,
            "issue_date": None,
            "expiry_date": None,
            "issuing_country": None,
            "authenticity": None,
            "metadata": None,
        },
    ).json()
    assert body["subject_id"] is None
    assert body["classification"] == "tenant_private"
    assert body["name"] is None
    assert body["issue_date"] is None
    assert body["expiry_date"] is None
    assert body["issuing_country"] is None
    assert body["authenticity"] is None
    assert body["metadata"] == {}
    assert body["type"] == "drivers_license"
    # the subject it left can now be deleted
    assert client.delete(f"/v1/subjects/{s2['id']}").status_code == 204


def test_patch_refuses_bad_changes_and_keeps_the_document(client: httpx2.Client) -> None:
    doc = new_doc(client, issue_date="2020-01-01", expiry_date="2030-01-01")
    url = f"/v1/documents/{doc['id']}"

    body = problem(
        client.patch(url, json={"expiry_date": "2019-12-31"}), 400, "expiry_before_issue"
    )
    assert body["errors"][0]["field"] == "expiry_date"
    problem(client.patch(url, json={"issue_date": "2031-01-01"}), 400, "expiry_before_issue")
    body = problem(client.patch(url, json={"type": "nope"}), 400, "unknown_document_type")
    assert body["errors"][0]["field"] == "type"
    body = problem(
        client.patch(url, json={"subject_id": str(uuid.uuid4())}), 400, "subject_not_found"
    )
    assert body["errors"][0]["field"] == "subject_id"
    problem(client.patch(url, json={"issuing_country": "QQ"}), 400, "invalid_country")
    body = problem(client.patch(url, json={"number": 5}), 400, "validation_error")
    assert body["errors"][0]["field"] == "number"
    body = problem(client.patch(url, json={"files": []}), 400, "validation_error")
    assert body["errors"][0]["field"] == "files"

    assert client.get(url).json() == doc


def test_patch_unknown_document_is_404(client: httpx2.Client) -> None:
    problem(
        client.patch(f"/v1/documents/{uuid.uuid4()}", json={"name": "x"}), 404, "document_not_found"
    )


def test_patch_type_to_null_is_400_not_500(client: httpx2.Client) -> None:
    """A document always has a type; null must be refused as bad input."""
    doc = new_doc(client)
    body = problem(client.patch(f"/v1/documents/{doc['id']}", json={"type": None}), 400, None)
    assert body["errors"][0]["field"] == "type"
    assert client.get(f"/v1/documents/{doc['id']}").json()["type"] == "passport"


def test_patch_non_json_content_type_is_415(client: httpx2.Client) -> None:
    """PATCH refuses a non-JSON body the way POST /v1/documents does."""
    doc = new_doc(client, name="Keep")
    response = client.patch(
        f"/v1/documents/{doc['id']}",
        content=b'{"name": "x"}',
        headers={"content-type": "text/plain"},
    )
    problem(response, 415, "unsupported_content_type")
    assert client.get(f"/v1/documents/{doc['id']}").json()["name"] == "Keep"


def test_patch_type_must_allow_the_roles_of_its_files(client: httpx2.Client) -> None:
    created = post_multipart(
        client,
        "/v1/documents",
        [
            Part("type", b"id_passport"),
            Part("file", image_bytes("PNG"), "p1.png", "image/png"),
            Part("role", b"PAGE1"),
        ],
    )
    assert created.status_code == 201, created.text
    doc = created.json()
    assert doc["type"] == "passport"
    assert doc["files"][0]["role"] == "PAGE1"

    body = problem(
        client.patch(f"/v1/documents/{doc['id']}", json={"type": "NATIONAL_ID"}),
        400,
        "role_not_allowed",
    )
    assert body["errors"][0]["field"] == "type"
    assert client.get(f"/v1/documents/{doc['id']}").json()["type"] == "passport"

    same = client.patch(f"/v1/documents/{doc['id']}", json={"type": "PASSPORT"})
    assert same.status_code == 200
    assert same.json()["type"] == "passport"
    assert same.json()["files"] == doc["files"]


def test_delete_then_404(client: httpx2.Client) -> None:
    doc = new_doc(client)
    response = client.delete(f"/v1/documents/{doc['id']}")
    assert response.status_code == 204
    assert response.content == b""
    problem(client.get(f"/v1/documents/{doc['id']}"), 404, "document_not_found")
    problem(client.delete(f"/v1/documents/{doc['id']}"), 404, "document_not_found")
    problem(
        client.patch(f"/v1/documents/{doc['id']}", json={"name": "x"}), 404, "document_not_found"
    )
    problem(client.get(f"/v1/documents/{doc['id']}/files"), 404, "document_not_found")
    assert doc["id"] not in ids(client.get("/v1/documents").json())
