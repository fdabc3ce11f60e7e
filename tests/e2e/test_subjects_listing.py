"""End-to-end tests of listing subjects: GET /v1/subjects with limits and cursors."""

from __future__ import annotations

import httpx2
import pytest

from tests.e2e.problem_support import problem
from tests.e2e.subjects_support import create

# Every answer is checked against the OpenAPI documents (tests/spec_conformance.py).
pytestmark = pytest.mark.usefixtures("responses_conform")

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
def test_list_limit_out_of_range(client: httpx2.Client, limit: int | str) -> None:
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
