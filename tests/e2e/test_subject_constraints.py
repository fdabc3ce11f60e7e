"""End-to-end tests of the rules that bind subjects to each other and to documents: no
delete while documents or members remain, external_id unique per tenant (also under
concurrent creates), and parent_id that must exist in the tenant and form no cycle."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx2
import pytest

from tests.e2e.problem_support import problem
from tests.e2e.subjects_support import create
from tests.helpers import Server

# Every answer is checked against the OpenAPI documents (tests/spec_conformance.py).
pytestmark = pytest.mark.usefixtures("responses_conform")

# --- delete ------------------------------------------------------------------------------


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
