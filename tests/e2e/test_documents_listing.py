"""End-to-end tests of listing documents: GET /v1/documents with subject and type filters
and cursors, and GET /v1/subjects/{id}/documents."""

from __future__ import annotations

import uuid
from typing import Any

import httpx2
import pytest

from tests.e2e.documents_support import ids, new_doc, new_subject
from tests.e2e.problem_support import problem

# Every answer is checked against the OpenAPI documents (tests/spec_conformance.py).
pytestmark = pytest.mark.usefixtures("responses_conform")

# --- lists -------------------------------------------------------------------------------


def test_list_filters_by_subject_and_types(client: httpx2.Client) -> None:
    s1 = new_subject(client)
    s2 = new_subject(client)
    p1 = new_doc(client, type="passport", subject_id=s1["id"])
    v1 = new_doc(client, type="visa", subject_id=s1["id"])
    n1 = new_doc(client, type="national_id", subject_id=s1["id"])
    p2 = new_doc(client, type="PASSPORT", subject_id=s2["id"])
    lib = new_doc(client, type="bank_statement")

    everything = client.get("/v1/documents").json()
    assert ids(everything) == [lib["id"], p2["id"], n1["id"], v1["id"], p1["id"]]
    assert everything["has_more"] is False

    by_subject = client.get("/v1/documents", params={"subject_id": s1["id"]}).json()
    assert ids(by_subject) == [n1["id"], v1["id"], p1["id"]]

    passports = client.get("/v1/documents", params={"type": "passport"}).json()
    assert ids(passports) == [p2["id"], p1["id"]]
    # an alias filters like the canonical name
    assert ids(client.get("/v1/documents", params={"type": "id_passport"}).json()) == ids(passports)

    two_types = client.get("/v1/documents", params=[("type", "passport"), ("type", "VISA")]).json()
    assert ids(two_types) == [p2["id"], v1["id"], p1["id"]]

    combined = client.get(
        "/v1/documents",
        params=[("subject_id", s1["id"]), ("type", "passport"), ("type", "national_id")],
    ).json()
    assert ids(combined) == [n1["id"], p1["id"]]

    nothing = client.get("/v1/documents", params={"subject_id": str(uuid.uuid4())}).json()
    assert nothing == {"data": [], "next_cursor": None, "prev_cursor": None, "has_more": False}

    body = problem(
        client.get("/v1/documents", params={"type": "not_a_type"}), 400, "unknown_document_type"
    )
    assert body["errors"][0]["field"] == "type"


def test_list_walks_forward_and_back(client: httpx2.Client) -> None:
    subject = new_subject(client)
    made = [new_doc(client, subject_id=subject["id"], name=f"d{i}") for i in range(7)]
    new_doc(client, type="visa")  # filtered out below
    newest_first = [d["id"] for d in reversed(made)]
    params: dict[str, Any] = {"subject_id": subject["id"], "type": "passport", "limit": 3}

    p1 = client.get("/v1/documents", params=params).json()
    assert ids(p1) == newest_first[0:3]
    assert p1["has_more"] is True
    assert p1["prev_cursor"] is None
    p2 = client.get("/v1/documents", params={**params, "cursor": p1["next_cursor"]}).json()
    assert ids(p2) == newest_first[3:6]
    assert p2["has_more"] is True
    p3 = client.get("/v1/documents", params={**params, "cursor": p2["next_cursor"]}).json()
    assert ids(p3) == newest_first[6:]
    assert p3["has_more"] is False
    assert p3["next_cursor"] is None
    assert ids(p1) + ids(p2) + ids(p3) == newest_first
    assert [d["number"] for d in p1["data"] + p2["data"] + p3["data"]] == [7, 6, 5, 4, 3, 2, 1]

    b2 = client.get("/v1/documents", params={**params, "cursor": p3["prev_cursor"]}).json()
    assert ids(b2) == newest_first[3:6]
    assert b2["has_more"] is True
    b1 = client.get("/v1/documents", params={**params, "cursor": b2["prev_cursor"]}).json()
    assert ids(b1) == newest_first[0:3]
    assert b1["has_more"] is False
    assert b1["prev_cursor"] is None

    # a cursor only works for the query it came from
    body = problem(
        client.get("/v1/documents", params={"limit": 3, "cursor": p1["next_cursor"]}),
        400,
        "invalid_cursor",
    )
    assert body["errors"][0]["field"] == "cursor"
    problem(
        client.get(
            "/v1/documents",
            params={"subject_id": subject["id"], "type": "visa", "cursor": p1["next_cursor"]},
        ),
        400,
        "invalid_cursor",
    )
    problem(client.get("/v1/subjects", params={"cursor": p1["next_cursor"]}), 400, "invalid_cursor")


def test_subject_documents(client: httpx2.Client) -> None:
    s1 = new_subject(client)
    s2 = new_subject(client)
    a = new_doc(client, type="passport", subject_id=s1["id"])
    b = new_doc(client, type="utility_bill", subject_id=s1["id"])
    new_doc(client, type="passport", subject_id=s2["id"])
    new_doc(client, type="passport")

    response = client.get(f"/v1/subjects/{s1['id']}/documents")
    assert response.status_code == 200
    page = response.json()
    assert ids(page) == [b["id"], a["id"]]
    assert all(d["subject_id"] == s1["id"] for d in page["data"])
    assert page["data"][1] == client.get(f"/v1/documents/{a['id']}").json()

    filtered = client.get(f"/v1/subjects/{s1['id']}/documents", params={"type": "doc_utility"})
    assert ids(filtered.json()) == [b["id"]]

    p1 = client.get(f"/v1/subjects/{s1['id']}/documents", params={"limit": 1}).json()
    assert ids(p1) == [b["id"]]
    assert p1["has_more"] is True
    p2 = client.get(
        f"/v1/subjects/{s1['id']}/documents", params={"limit": 1, "cursor": p1["next_cursor"]}
    ).json()
    assert ids(p2) == [a["id"]]
    assert p2["has_more"] is False

    empty = new_subject(client)
    assert client.get(f"/v1/subjects/{empty['id']}/documents").json()["data"] == []

    problem(client.get(f"/v1/subjects/{uuid.uuid4()}/documents"), 404, "subject_not_found")
