"""End-to-end tests of /v1/subjects against a real ``kycvault serve`` process."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import httpx2
import pytest

from tests.helpers import Server


def problem(response: httpx2.Response, status: int, code: str | None) -> dict[str, Any]:
    """Assert an RFC 9457 problem with this status and stable code (any code when None)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    if code is not None:
        assert body["code"] == code
    assert body["code"] not in ("internal_error", "error")
    assert body["type"] == f"urn:kycvault:problem:{body['code']}"
    assert body["title"]
    assert body["detail"]
    assert body["request_id"] == response.headers["x-request-id"]
    return body


def create(client: httpx2.Client, **fields: Any) -> dict[str, Any]:
    response = client.post("/v1/subjects", json=fields)
    assert response.status_code == 201, response.text
    return response.json()


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


# --- list --------------------------------------------------------------------------------


def test_list_walks_forward_and_back_with_cursors(client: httpx2.Client) -> None:
    made = [create(client, display_name=f"s{i}") for i in range(7)]
    newest_first = [s["id"] for s in reversed(made)]

    page1 = client.get("/v1/subjects", params={"limit": 3})
    assert page1.status_code == 200, page1.text
    p1 = page1.json()
    assert [s["id"] for s in p1["data"]] == newest_first[0:3]
    assert p1["has_more"] is True
    assert p1["next_cursor"]
    assert p1["prev_cursor"] is None
    assert p1["data"][0] == client.get(f"/v1/subjects/{made[-1]['id']}").json()

    p2 = client.get("/v1/subjects", params={"limit": 3, "cursor": p1["next_cursor"]}).json()
    assert [s["id"] for s in p2["data"]] == newest_first[3:6]
    assert p2["has_more"] is True
    assert p2["next_cursor"]
    assert p2["prev_cursor"]

    p3 = client.get("/v1/subjects", params={"limit": 3, "cursor": p2["next_cursor"]}).json()
    assert [s["id"] for s in p3["data"]] == newest_first[6:7]
    assert p3["has_more"] is False
    assert p3["next_cursor"] is None
    assert p3["prev_cursor"]

    seen = [s["id"] for page in (p1, p2, p3) for s in page["data"]]
    assert seen == newest_first  # every row once, no gaps, newest first
    numbers = [s["number"] for page in (p1, p2, p3) for s in page["data"]]
    assert numbers == [7, 6, 5, 4, 3, 2, 1]

    back2 = client.get("/v1/subjects", params={"limit": 3, "cursor": p3["prev_cursor"]}).json()
    assert [s["id"] for s in back2["data"]] == newest_first[3:6]
    assert back2["has_more"] is True
    assert back2["prev_cursor"]
    assert back2["next_cursor"]

    back1 = client.get("/v1/subjects", params={"limit": 3, "cursor": back2["prev_cursor"]}).json()
    assert [s["id"] for s in back1["data"]] == newest_first[0:3]
    assert back1["has_more"] is False
    assert back1["prev_cursor"] is None
    assert back1["next_cursor"]

    # and forward again from the page reached going back
    again = client.get("/v1/subjects", params={"limit": 3, "cursor": back1["next_cursor"]}).json()
    assert [s["id"] for s in again["data"]] == newest_first[3:6]


def test_list_default_limit_returns_everything_small(client: httpx2.Client) -> None:
    made = [create(client) for _ in range(3)]
    body = client.get("/v1/subjects").json()
    assert [s["id"] for s in body["data"]] == [s["id"] for s in reversed(made)]
    assert body["has_more"] is False
    assert body["next_cursor"] is None
    assert body["prev_cursor"] is None


def test_list_of_a_fresh_tenant_is_empty(client: httpx2.Client) -> None:
    body = client.get("/v1/subjects").json()
    assert body == {"data": [], "next_cursor": None, "prev_cursor": None, "has_more": False}


def test_list_page_is_stable_while_rows_are_added(client: httpx2.Client) -> None:
    made = [create(client) for _ in range(4)]
    p1 = client.get("/v1/subjects", params={"limit": 2}).json()
    create(client)  # a newer row must not shift the next page
    p2 = client.get("/v1/subjects", params={"limit": 2, "cursor": p1["next_cursor"]}).json()
    assert [s["id"] for s in p2["data"]] == [made[1]["id"], made[0]["id"]]
    assert p2["has_more"] is False


@pytest.mark.parametrize("limit", [0, 101, -1, "x"])
def test_list_limit_out_of_range(client: httpx2.Client, limit: object) -> None:
    body = problem(client.get("/v1/subjects", params={"limit": limit}), 400, "validation_error")
    assert body["errors"][0]["field"] == "limit"


@pytest.mark.parametrize("cursor", ["garbage", "abc.def", "a.b.c", "%%%.%%%"])
def test_list_bad_cursor_is_400(client: httpx2.Client, cursor: str) -> None:
    body = problem(client.get("/v1/subjects", params={"cursor": cursor}), 400, "invalid_cursor")
    assert body["errors"][0]["field"] == "cursor"


def test_list_tampered_cursor_is_400(client: httpx2.Client) -> None:
    for _ in range(3):
        create(client)
    cursor = client.get("/v1/subjects", params={"limit": 1}).json()["next_cursor"]
    body_part, mac = cursor.split(".")
    tampered = f"{body_part}.{'A' if mac[0] != 'A' else 'B'}{mac[1:]}"
    problem(client.get("/v1/subjects", params={"cursor": tampered}), 400, "invalid_cursor")


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


def test_delete_refused_while_subject_has_documents(client: httpx2.Client) -> None:
    subject = create(client)
    doc = client.post("/v1/documents", json={"type": "passport", "subject_id": subject["id"]})
    assert doc.status_code == 201, doc.text

    problem(client.delete(f"/v1/subjects/{subject['id']}"), 409, "subject_has_documents")
    assert client.get(f"/v1/subjects/{subject['id']}").status_code == 200
    assert client.get(f"/v1/documents/{doc.json()['id']}").json()["subject_id"] == subject["id"]

    assert client.delete(f"/v1/documents/{doc.json()['id']}").status_code == 204
    assert client.delete(f"/v1/subjects/{subject['id']}").status_code == 204


def test_delete_refused_while_subject_has_members(client: httpx2.Client) -> None:
    company = create(client, type="company")
    member = create(client, parent_id=company["id"])

    problem(client.delete(f"/v1/subjects/{company['id']}"), 409, "subject_has_members")
    assert client.get(f"/v1/subjects/{company['id']}").status_code == 200

    # the member itself can go; then the company can go
    assert client.patch(f"/v1/subjects/{member['id']}", json={"parent_id": None}).status_code == 200
    assert client.delete(f"/v1/subjects/{company['id']}").status_code == 204
    assert client.get(f"/v1/subjects/{member['id']}").json()["parent_id"] is None


# --- external_id -------------------------------------------------------------------------


def test_external_id_unique_per_tenant(client: httpx2.Client, other_client: httpx2.Client) -> None:
    first = create(client, external_id="cust-42")
    body = problem(
        client.post("/v1/subjects", json={"external_id": "cust-42"}), 409, "external_id_taken"
    )
    assert "errors" not in body or body["errors"]

    # another subject cannot take it by PATCH either
    second = create(client, external_id="cust-43")
    problem(
        client.patch(f"/v1/subjects/{second['id']}", json={"external_id": "cust-42"}),
        409,
        "external_id_taken",
    )
    assert client.get(f"/v1/subjects/{second['id']}").json()["external_id"] == "cust-43"

    # keeping one's own external_id is fine
    same = client.patch(f"/v1/subjects/{first['id']}", json={"external_id": "cust-42"})
    assert same.status_code == 200
    assert same.json()["external_id"] == "cust-42"

    # the same external_id in another tenant is allowed
    other = other_client.post("/v1/subjects", json={"external_id": "cust-42"})
    assert other.status_code == 201, other.text
    assert other.json()["external_id"] == "cust-42"
    assert other.json()["id"] != first["id"]

    # only one subject with that id in the first tenant
    listed = client.get("/v1/subjects").json()["data"]
    assert [s["id"] for s in listed if s["external_id"] == "cust-42"] == [first["id"]]


def test_external_id_reusable_after_delete(client: httpx2.Client) -> None:
    made = create(client, external_id="recycle")
    assert client.delete(f"/v1/subjects/{made['id']}").status_code == 204
    assert create(client, external_id="recycle")["external_id"] == "recycle"


# --- parent_id ---------------------------------------------------------------------------


def test_parent_unknown_is_400(client: httpx2.Client) -> None:
    body = problem(
        client.post("/v1/subjects", json={"parent_id": str(uuid.uuid4())}),
        400,
        "parent_not_found",
    )
    assert body["errors"][0]["field"] == "parent_id"
    assert body["errors"][0]["code"] == "parent_not_found"
    assert client.get("/v1/subjects").json()["data"] == []

    made = create(client)
    body = problem(
        client.patch(f"/v1/subjects/{made['id']}", json={"parent_id": str(uuid.uuid4())}),
        400,
        "parent_not_found",
    )
    assert body["errors"][0]["field"] == "parent_id"


def test_parent_of_another_tenant_is_400(
    client: httpx2.Client, other_client: httpx2.Client
) -> None:
    foreign = create(other_client, type="company")
    unknown = problem(
        client.post("/v1/subjects", json={"parent_id": str(uuid.uuid4())}),
        400,
        "parent_not_found",
    )
    body = problem(
        client.post("/v1/subjects", json={"parent_id": foreign["id"]}), 400, "parent_not_found"
    )
    assert body["errors"][0]["field"] == "parent_id"
    # no hint that the id exists elsewhere
    assert {k: v for k, v in body.items() if k != "request_id"} == {
        k: v for k, v in unknown.items() if k != "request_id"
    }

    mine = create(client)
    problem(
        client.patch(f"/v1/subjects/{mine['id']}", json={"parent_id": foreign["id"]}),
        400,
        "parent_not_found",
    )
    assert client.get(f"/v1/subjects/{mine['id']}").json()["parent_id"] is None
    # the foreign subject has gained no member
    assert other_client.delete(f"/v1/subjects/{foreign['id']}").status_code == 204


def test_parent_cycle_via_patch_is_400(client: httpx2.Client) -> None:
    a = create(client, display_name="A")
    b = create(client, display_name="B", parent_id=a["id"])
    c = create(client, display_name="C", parent_id=b["id"])

    body = problem(
        client.patch(f"/v1/subjects/{a['id']}", json={"parent_id": a["id"]}), 400, "parent_cycle"
    )
    assert body["errors"][0]["field"] == "parent_id"
    body = problem(
        client.patch(f"/v1/subjects/{a['id']}", json={"parent_id": b["id"]}), 400, "parent_cycle"
    )
    assert body["errors"][0]["field"] == "parent_id"
    problem(
        client.patch(f"/v1/subjects/{a['id']}", json={"parent_id": c["id"]}), 400, "parent_cycle"
    )
    problem(
        client.patch(f"/v1/subjects/{b['id']}", json={"parent_id": c["id"]}), 400, "parent_cycle"
    )
    assert client.get(f"/v1/subjects/{a['id']}").json()["parent_id"] is None
    assert client.get(f"/v1/subjects/{b['id']}").json()["parent_id"] == a["id"]

    # re-parenting without a loop is fine
    d = create(client, display_name="D")
    moved = client.patch(f"/v1/subjects/{c['id']}", json={"parent_id": d["id"]})
    assert moved.status_code == 200
    assert moved.json()["parent_id"] == d["id"]


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


# --- concurrency -------------------------------------------------------------------------


def test_concurrent_creates_get_distinct_numbers_and_one_external_id(
    server: Server, client: httpx2.Client, tenant: dict[str, Any]
) -> None:
    def make(payload: dict[str, Any]) -> httpx2.Response:
        with server.client(tenant["api_key"]) as own:
            return own.post("/v1/subjects", json=payload)

    with ThreadPoolExecutor(max_workers=8) as pool:
        plain = list(pool.map(make, [{} for _ in range(8)]))
        racing = list(pool.map(make, [{"external_id": "race"} for _ in range(8)]))

    assert all(r.status_code == 201 for r in plain), [r.text for r in plain]
    assert sorted(r.json()["number"] for r in plain) == list(range(1, 9))

    winners = [r for r in racing if r.status_code == 201]
    assert len(winners) == 1, [r.text for r in racing]
    for loser in racing:
        if loser.status_code != 201:
            problem(loser, 409, "external_id_taken")
    listed = client.get("/v1/subjects").json()["data"]
    assert [s["id"] for s in listed if s["external_id"] == "race"] == [winners[0].json()["id"]]
    assert len(listed) == 9
