"""End-to-end tests of the subjects listing's filters: GET /v1/subjects with ``external_id``
(exact, through the sealed external id's blind index), ``type`` (repeatable) and
``parent_id`` (a company's members), alone, together and across cursor pages."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from tests.e2e.problem_support import problem
from tests.e2e.subjects_support import create

# Every answer is checked against the OpenAPI documents (tests/spec_conformance.py).
pytestmark = pytest.mark.usefixtures("responses_conform")


def listed(client: httpx2.Client, **params: Any) -> list[str]:
    response = client.get("/v1/subjects", params=params)
    assert response.status_code == 200, response.text
    return [s["id"] for s in response.json()["data"]]


def walk(client: httpx2.Client, **params: Any) -> list[str]:
    """Every page of a filtered listing, two subjects a page, following ``next_cursor``."""
    seen: list[str] = []
    cursor = None
    for _ in range(20):
        page = client.get(
            "/v1/subjects", params={**params, "limit": 2, **({"cursor": cursor} if cursor else {})}
        )
        assert page.status_code == 200, page.text
        body = page.json()
        seen += [s["id"] for s in body["data"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return seen
    raise AssertionError("the pages did not end")


def test_external_id_finds_exactly_one_subject(
    client: httpx2.Client, other_client: httpx2.Client
) -> None:
    mine = create(client, external_id="crm-4711", display_name="Ada")
    create(client, external_id="crm-47110")
    create(client)
    assert listed(client, external_id="crm-4711") == [mine["id"]]
    # Stored values are trimmed, and so is the filter's.
    assert listed(client, external_id=" crm-4711 ") == [mine["id"]]
    # Exact, never a part or another case.
    assert listed(client, external_id="crm-471") == []
    assert listed(client, external_id="CRM-4711") == []
    assert listed(client, external_id="nobody") == []
    # Another tenant's external id names nothing here, and this one's nothing there.
    theirs = create(other_client, external_id="theirs-1")
    assert listed(client, external_id="theirs-1") == []
    assert listed(other_client, external_id="crm-4711") == []
    assert listed(other_client, external_id="theirs-1") == [theirs["id"]]


def test_type_filters_one_or_several_types(client: httpx2.Client) -> None:
    people = [create(client, type="individual")["id"] for _ in range(3)]
    companies = [create(client, type="company")["id"] for _ in range(2)]
    assert listed(client, type="company") == companies[::-1]
    assert listed(client, type="individual") == people[::-1]
    both = listed(client, type=["company", "individual"])
    assert set(both) == set(people + companies) and len(both) == 5


def test_parent_id_lists_a_companys_members(
    client: httpx2.Client, other_client: httpx2.Client
) -> None:
    company = create(client, type="company")
    members = [create(client, parent_id=company["id"])["id"] for _ in range(3)]
    create(client, type="company")
    assert listed(client, parent_id=company["id"]) == members[::-1]
    assert listed(client, parent_id=members[0]) == []
    assert listed(other_client, parent_id=company["id"]) == []


def test_filters_combine_and_page_with_cursors(client: httpx2.Client) -> None:
    company = create(client, type="company")
    directors = [create(client, parent_id=company["id"])["id"] for _ in range(5)]
    create(client, parent_id=company["id"], type="company", external_id="holding-1")
    create(client, type="individual")  # not a member

    # Five individual members, two a page: each once, newest first, then back.
    assert walk(client, parent_id=company["id"], type="individual") == directors[::-1]
    members = {"parent_id": company["id"], "type": "individual", "limit": 2}
    first = client.get("/v1/subjects", params=members).json()
    second = client.get("/v1/subjects", params={**members, "cursor": first["next_cursor"]})
    back = client.get(
        "/v1/subjects", params={**members, "cursor": second.json()["prev_cursor"]}
    ).json()
    assert [s["id"] for s in back["data"]] == [s["id"] for s in first["data"]]
    # The external id with the others: all must hold.
    holding = listed(client, external_id="holding-1", parent_id=company["id"], type="company")
    assert len(holding) == 1
    assert listed(client, external_id="holding-1", type="individual") == []
    # A cursor is bound to its filters: replayed without them, or with others, it is refused.
    for params in ({}, {"type": "company"}, {"parent_id": company["id"]}):
        replayed = client.get("/v1/subjects", params={**params, "cursor": first["next_cursor"]})
        problem(replayed, 400, "invalid_cursor")


def test_bad_filter_values_are_400(client: httpx2.Client) -> None:
    for params, field in (
        ({"type": "person"}, "type.0"),
        ({"type": ["company", "robot"]}, "type.1"),
        ({"parent_id": "not-a-uuid"}, "parent_id"),
        ({"external_id": "x" * 256}, "external_id"),
    ):
        body = problem(client.get("/v1/subjects", params=params), 400, "validation_error")
        assert body["errors"][0]["field"] == field, body
    body = problem(client.get("/v1/subjects", params={"external_id": "  "}), 400, "blank")
    assert body["errors"][0]["field"] == "external_id"
    body = problem(
        client.get("/v1/subjects", params={"external_id": "a\tb"}), 400, "control_characters"
    )
    assert body["errors"][0]["field"] == "external_id"


def test_search_finds_a_part_of_the_name_or_external_id_or_the_number(
    client: httpx2.Client, other_client: httpx2.Client
) -> None:
    ada = create(client, external_id="crm-ada-1", display_name="Ada Lovelace")
    grace = create(client, external_id="crm-grace-2", display_name="Grace Hopper")
    company = create(client, type="company", display_name="Lovelace Analytical Engines")
    create(other_client, display_name="Ada Lovelace")  # another tenant's: never here
    assert listed(client, search="lovelace") == [company["id"], ada["id"]]
    assert listed(client, search="LOVE", type="individual") == [ada["id"]]
    assert listed(client, search="grace-2") == [grace["id"]]
    assert listed(client, search=str(grace["number"])) == [grace["id"]]
    assert listed(client, search="babbage") == []
    # With the indexed filters: all must hold.
    assert listed(client, search="ada", external_id="crm-grace-2") == []
    # A blank search box filters nothing.
    assert len(listed(client, search="  ")) == 3


def test_search_pages_forward_with_cursors_bound_to_the_text(client: httpx2.Client) -> None:
    wanted = [create(client, display_name=f"Needle {i}")["id"] for i in range(5)]
    for _ in range(3):
        create(client, display_name="Haystack")
    assert walk(client, search="needle") == wanted[::-1]
    first = client.get("/v1/subjects", params={"search": "needle", "limit": 2}).json()
    assert first["has_more"] and first["prev_cursor"] is None
    replayed = client.get(
        "/v1/subjects", params={"search": "haystack", "cursor": first["next_cursor"]}
    )
    problem(replayed, 400, "invalid_cursor")
    body = problem(
        client.get("/v1/subjects", params={"search": "x" * 201}), 400, "validation_error"
    )
    assert body["errors"][0]["field"] == "search"
