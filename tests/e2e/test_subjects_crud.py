"""End-to-end tests of /v1/subjects against a real ``kycvault serve`` process: create,
read, update and delete, and the refusal of bad input."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import httpx2
import pytest

from tests.e2e.problem_support import problem
from tests.e2e.subjects_support import create
from tests.helpers import Server

# Every answer is checked against the OpenAPI documents (tests/spec_conformance.py).
pytestmark = pytest.mark.usefixtures("responses_conform")


def ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


# --- create ------------------------------------------------------------------------------


def test_create_with_defaults(client: httpx2.Client, tenant: dict[str, Any]) -> None:
    response = client.post("/v1/subjects", json={})
    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert response.headers["location"] == f"/v1/subjects/{body['id']}"
    uuid.UUID(body["id"])
    assert body["number"] == 1
    assert body["type"] == "individual"
    assert body["external_id"] is None
    assert body["display_name"] is None
    assert body["parent_id"] is None
    assert body["metadata"] == {}
    assert body["created_by"] == tenant["key_id"]
    assert body["updated_by"] == tenant["key_id"]
    assert body["created_at"] == body["updated_at"]
    assert ts(body["created_at"]).tzinfo is not None

    fetched = client.get(response.headers["location"])
    assert fetched.status_code == 200
    assert fetched.json() == body


def test_create_with_every_field(client: httpx2.Client) -> None:
    company = create(client, type="company", display_name="Acme Ltd")
    metadata = {"crm": {"id": 42, "tags": ["vip", "kyb"]}, "note": "ünïcode ✓", "flag": True}
    response = client.post(
        "/v1/subjects",
        json={
            "type": "individual",
            "external_id": "crm-0001",
            "display_name": "  Jane Director  ",
            "parent_id": company["id"],
            "metadata": metadata,
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["type"] == "individual"
    assert body["external_id"] == "crm-0001"
    assert body["display_name"] == "Jane Director"  # trimmed
    assert body["parent_id"] == company["id"]
    assert body["metadata"] == metadata
    assert body["number"] == company["number"] + 1
    assert company["type"] == "company"
    assert company["display_name"] == "Acme Ltd"

    fetched = client.get(f"/v1/subjects/{body['id']}").json()
    assert fetched == body


def test_display_name_of_exactly_255_characters_is_accepted(client: httpx2.Client) -> None:
    name = "n" * 255
    body = create(client, display_name=name, external_id="e" * 255)
    assert body["display_name"] == name
    assert body["external_id"] == "e" * 255


def test_blank_text_becomes_null(client: httpx2.Client) -> None:
    body = create(client, display_name="   ", external_id="")
    assert body["display_name"] is None
    assert body["external_id"] is None


def test_numbers_are_per_tenant_and_increase(
    client: httpx2.Client, other_client: httpx2.Client
) -> None:
    assert [create(client)["number"] for _ in range(3)] == [1, 2, 3]
    assert [create(other_client)["number"] for _ in range(2)] == [1, 2]
    assert create(client)["number"] == 4
    # a deleted subject's number is not handed out again
    last = create(client)
    assert last["number"] == 5
    assert client.delete(f"/v1/subjects/{last['id']}").status_code == 204
    assert create(client)["number"] == 6


# --- get ---------------------------------------------------------------------------------


def test_get_one(client: httpx2.Client) -> None:
    made = create(client, display_name="Get Me", metadata={"k": "v"})
    response = client.get(f"/v1/subjects/{made['id']}")
    assert response.status_code == 200
    assert response.json() == made


def test_get_unknown_is_404(client: httpx2.Client) -> None:
    body = problem(client.get(f"/v1/subjects/{uuid.uuid4()}"), 404, "subject_not_found")
    assert "errors" not in body


def test_get_malformed_id_is_400(client: httpx2.Client) -> None:
    body = problem(client.get("/v1/subjects/not-a-uuid"), 400, "validation_error")
    assert body["errors"][0]["field"] == "subject_id"


# --- patch -------------------------------------------------------------------------------


def test_patch_is_partial(client: httpx2.Client, tenant: dict[str, Any]) -> None:
    made = create(
        client, type="company", external_id="ext-1", display_name="Old", metadata={"a": 1}
    )
    response = client.patch(f"/v1/subjects/{made['id']}", json={"display_name": "New"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["display_name"] == "New"
    for unchanged in ("id", "number", "type", "external_id", "parent_id", "metadata"):
        assert body[unchanged] == made[unchanged], unchanged
    assert body["created_at"] == made["created_at"]
    assert ts(body["updated_at"]) >= ts(made["updated_at"])
    assert body["updated_by"] == tenant["key_id"]
    assert client.get(f"/v1/subjects/{made['id']}").json() == body

    body = client.patch(
        f"/v1/subjects/{made['id']}", json={"type": "individual", "metadata": {"b": [2]}}
    ).json()
    assert body["type"] == "individual"
    assert body["metadata"] == {"b": [2]}  # replaced, not merged
    assert body["display_name"] == "New"


def test_patch_with_empty_body_changes_nothing(client: httpx2.Client) -> None:
    made = create(client, display_name="Same", metadata={"x": 1})
    body = client.patch(f"/v1/subjects/{made['id']}", json={}).json()
    for name in ("type", "external_id", "display_name", "parent_id", "metadata", "number"):
        assert body[name] == made[name]


def test_patch_null_clears(client: httpx2.Client) -> None:
    parent = create(client, type="company")
    made = create(
        client,
        external_id="to-clear",
        display_name="Clear Me",
        parent_id=parent["id"],
        metadata={"a": 1},
    )
    response = client.patch(
        f"/v1/subjects/{made['id']}",
        json={"external_id": None, "display_name": None, "parent_id": None, "metadata": None},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["external_id"] is None
    assert body["display_name"] is None
    assert body["parent_id"] is None
    assert body["metadata"] == {}
    assert client.get(f"/v1/subjects/{made['id']}").json() == body
    # the cleared external_id can be used again
    assert create(client, external_id="to-clear")["external_id"] == "to-clear"


def test_patch_unknown_field_is_400(client: httpx2.Client) -> None:
    made = create(client, display_name="Keep")
    for field in ("bogus", "number", "id", "created_at"):
        body = problem(
            client.patch(f"/v1/subjects/{made['id']}", json={field: "x", "display_name": "Nope"}),
            400,
            "validation_error",
        )
        assert body["errors"][0]["field"] == field
    assert client.get(f"/v1/subjects/{made['id']}").json()["display_name"] == "Keep"


def test_patch_unknown_subject_is_404(client: httpx2.Client) -> None:
    problem(
        client.patch(f"/v1/subjects/{uuid.uuid4()}", json={"display_name": "x"}),
        404,
        "subject_not_found",
    )


def test_patch_type_to_null_is_400_not_500(client: httpx2.Client) -> None:
    """``type`` cannot be cleared; null must be refused as bad input."""
    made = create(client, type="company")
    body = problem(client.patch(f"/v1/subjects/{made['id']}", json={"type": None}), 400, None)
    assert body["errors"][0]["field"] == "type"
    assert client.get(f"/v1/subjects/{made['id']}").json()["type"] == "company"


# --- delete ------------------------------------------------------------------------------


def test_delete_then_404(client: httpx2.Client) -> None:
    made = create(client)
    response = client.delete(f"/v1/subjects/{made['id']}")
    assert response.status_code == 204
    assert response.content == b""
    problem(client.get(f"/v1/subjects/{made['id']}"), 404, "subject_not_found")
    problem(client.delete(f"/v1/subjects/{made['id']}"), 404, "subject_not_found")
    problem(
        client.patch(f"/v1/subjects/{made['id']}", json={"display_name": "x"}),
        404,
        "subject_not_found",
    )
    listed = client.get("/v1/subjects").json()["data"]
    assert made["id"] not in [s["id"] for s in listed]


def test_delete_unknown_is_404(client: httpx2.Client) -> None:
    problem(client.delete(f"/v1/subjects/{uuid.uuid4()}"), 404, "subject_not_found")


# --- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "field", "code"),
    [
        ({"type": "robot"}, "type", "validation_error"),
        ({"type": "INDIVIDUAL"}, "type", "validation_error"),
        ({"type": 1}, "type", "validation_error"),
        ({"metadata": [1, 2]}, "metadata", "validation_error"),
        ({"metadata": "a string"}, "metadata", "validation_error"),
        ({"metadata": 7}, "metadata", "validation_error"),
        ({"display_name": "x" * 256}, "display_name", "validation_error"),
        ({"external_id": "x" * 256}, "external_id", "validation_error"),
        ({"display_name": 12}, "display_name", "validation_error"),
        ({"parent_id": "not-a-uuid"}, "parent_id", "validation_error"),
        ({"surprise": True}, "surprise", "validation_error"),
        ({"display_name": "tab\there"}, "display_name", "control_characters"),
        ({"metadata": {"blob": "x" * 17_000}}, "metadata", "metadata_too_large"),
    ],
)
def test_create_bad_input(
    client: httpx2.Client, payload: dict[str, Any], field: str, code: str
) -> None:
    body = problem(client.post("/v1/subjects", json=payload), 400, code)
    assert body["errors"][0]["field"] == field
    assert client.get("/v1/subjects").json()["data"] == []


@pytest.mark.parametrize("raw", [b"{bad json", b"", b"[]", b'"text"', b"null", b"{'a': 1}"])
def test_create_malformed_json_body(client: httpx2.Client, raw: bytes) -> None:
    response = client.post(
        "/v1/subjects", content=raw, headers={"content-type": "application/json"}
    )
    body = problem(response, 400, "validation_error")
    assert body["errors"]
    assert client.get("/v1/subjects").json()["data"] == []


def test_invalid_json_error_names_the_body(client: httpx2.Client) -> None:
    """A JSON syntax error is about the body, as POST /v1/documents reports it."""
    response = client.post(
        "/v1/subjects", content=b"{bad json", headers={"content-type": "application/json"}
    )
    body = problem(response, 400, "validation_error")
    assert body["errors"][0]["code"] == "json_invalid"
    assert body["errors"][0]["field"] == "body"


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
def test_create_non_json_content_type_is_415(client: httpx2.Client, content_type: str) -> None:
    response = client.post(
        "/v1/subjects",
        content=b'{"display_name": "x"}',
        headers={"content-type": content_type},
    )
    problem(response, 415, "unsupported_content_type")
    assert client.get("/v1/subjects").json()["data"] == []


def test_patch_non_json_content_type_is_415(client: httpx2.Client) -> None:
    made = create(client, display_name="Keep")
    response = client.patch(
        f"/v1/subjects/{made['id']}",
        content=b'{"display_name": "x"}',
        headers={"content-type": "text/plain"},
    )
    problem(response, 415, "unsupported_content_type")
    assert client.get(f"/v1/subjects/{made['id']}").json()["display_name"] == "Keep"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"type": "robot"}, "type"),
        ({"metadata": [1]}, "metadata"),
        ({"display_name": "y" * 256}, "display_name"),
        ({"parent_id": 5}, "parent_id"),
    ],
)
def test_patch_bad_input(client: httpx2.Client, payload: dict[str, Any], field: str) -> None:
    made = create(client, display_name="Keep")
    body = problem(
        client.patch(f"/v1/subjects/{made['id']}", json=payload), 400, "validation_error"
    )
    assert body["errors"][0]["field"] == field
    assert client.get(f"/v1/subjects/{made['id']}").json() == made


def test_error_responses_carry_security_headers(server: Server, client: httpx2.Client) -> None:
    response = client.get(f"/v1/subjects/{uuid.uuid4()}", headers={"x-request-id": "trace-123"})
    body = problem(response, 404, "subject_not_found")
    assert body["request_id"] == "trace-123"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"
