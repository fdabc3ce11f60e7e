"""End to end: paging through GET /v1/documents: keyset cursors (forward, back, over a set
that changes between pages, tampered or replayed cursors) and numbered pages with totals.

The module's data set (11 documents in a tenant of their own) has ties on the name key
("Alpha"/"alpha", two unnamed) and on the expiry date (three on 2029-01-01, four undated),
so every sort has to break ties by id for its pages to be stable.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import httpx2
import pytest

from tests.e2e.documents_support import new_doc, new_subject
from tests.e2e.problem_support import problem
from tests.e2e.uploads_support import create, png_part
from tests.helpers import Server

# Every answer is checked against the OpenAPI documents (tests/spec_conformance.py).
pytestmark = pytest.mark.usefixtures("responses_conform")

SORTS = ["created_at", "-created_at", "name", "-name", "expiry_date", "-expiry_date"]
NO_EXPIRY = date(9999, 12, 31)

# label, type, name, expiry, with subject, with a file
SPEC: list[tuple[str, str, str | None, str | None, bool, bool]] = [
    ("a", "passport", "delta", "2030-05-01", True, True),
    ("b", "passport", "Alpha", "2029-01-01", False, False),
    ("c", "visa", "alpha", "2029-01-01", True, False),
    ("d", "utility_bill", None, None, False, True),
    ("e", "utility_bill", None, "2027-03-03", True, False),
    ("f", "passport", "Charlie", None, False, True),
    ("g", "bank_statement", "bravo", "2029-01-01", False, True),
    ("h", "bank_statement", "Écho", None, True, False),
    ("i", "passport", "echo", "2026-12-12", False, False),
    ("j", "other_document", "foxtrot", "2031-01-01", True, True),
    ("k", "passport", "Golf", None, False, False),
]


def created_at(doc: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(doc["created_at"]).astimezone(UTC)


def sort_key(doc: dict[str, Any], sort: str) -> tuple[Any, str]:
    """The documented order: case-folded name ("" when unnamed), expiry (9999-12-31 when
    undated) or creation time; ties broken by id."""
    field = sort.lstrip("-")
    if field == "name":
        return ((doc["name"] or "").casefold(), doc["id"])
    if field == "expiry_date":
        expiry = date.fromisoformat(doc["expiry_date"]) if doc["expiry_date"] else NO_EXPIRY
        return (expiry, doc["id"])
    return (created_at(doc), doc["id"])


def in_order(docs: list[dict[str, Any]], sort: str) -> list[str]:
    ordered = sorted(docs, key=lambda d: sort_key(d, sort), reverse=sort.startswith("-"))
    return [d["id"] for d in ordered]


def ids(page: dict[str, Any]) -> list[str]:
    return [d["id"] for d in page["data"]]


def get_page(
    client: httpx2.Client, params: dict[str, Any], path: str = "/v1/documents"
) -> dict[str, Any]:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


def make(
    client: httpx2.Client,
    doc_type: str,
    name: str | None,
    expiry: str | None,
    subject_id: str | None,
    with_file: bool,
) -> dict[str, Any]:
    fields = {
        k: v
        for k, v in {"name": name, "expiry_date": expiry, "subject_id": subject_id}.items()
        if v is not None
    }
    if not with_file:
        return new_doc(client, type=doc_type, **fields)
    response = create(client, doc_type, png_part(f"upload-{uuid.uuid4().hex[:6]}.png"), **fields)
    assert response.status_code == 201, response.text
    doc: dict[str, Any] = response.json()
    assert doc["name"] == name or name is None
    return doc


@dataclass
class Data:
    client: httpx2.Client
    subject: dict[str, Any]
    docs: dict[str, dict[str, Any]]

    @property
    def all(self) -> list[dict[str, Any]]:
        return list(self.docs.values())

    def label(self, doc_id: str) -> str:
        return next(k for k, d in self.docs.items() if d["id"] == doc_id)


@pytest.fixture(scope="module")
def data(server: Server) -> Iterator[Data]:
    with server.client(server.create_tenant()["api_key"]) as client:
        subject = new_subject(client, display_name="Paged")
        docs = {}
        for label, doc_type, name, expiry, with_subject, with_file in SPEC:
            docs[label] = make(
                client, doc_type, name, expiry, subject["id"] if with_subject else None, with_file
            )
            if with_file and name is None:
                # an unnamed upload takes its file's name; make it unnamed again
                response = client.patch(f"/v1/documents/{docs[label]['id']}", json={"name": None})
                assert response.status_code == 200, response.text
                docs[label] = response.json()
        assert docs["d"]["name"] is None
        yield Data(client, subject, docs)


def walk_forward(
    client: httpx2.Client, params: dict[str, Any], path: str = "/v1/documents"
) -> list[dict[str, Any]]:
    pages = [get_page(client, params, path)]
    while pages[-1]["next_cursor"] is not None:
        assert len(pages) < 50, "runaway pagination"
        pages.append(get_page(client, {**params, "cursor": pages[-1]["next_cursor"]}, path))
    return pages


def walk_back(
    client: httpx2.Client, params: dict[str, Any], last: dict[str, Any], path: str = "/v1/documents"
) -> list[dict[str, Any]]:
    """Pages from ``last`` back to the first, following prev_cursor; in forward order."""
    pages = [last]
    while pages[-1]["prev_cursor"] is not None:
        assert len(pages) < 50, "runaway pagination"
        pages.append(get_page(client, {**params, "cursor": pages[-1]["prev_cursor"]}, path))
    return pages[::-1]


# ----------------------------------------------------------------------- cursor walks


def test_data_set_has_the_ties(data: Data) -> None:
    names = [d["name"] for d in data.all]
    assert names.count(None) == 2
    assert [n.casefold() for n in names if n].count("alpha") == 2
    assert [d["expiry_date"] for d in data.all].count("2029-01-01") == 3


@pytest.mark.parametrize("sort", SORTS)
def test_walk_forward_then_back(data: Data, sort: str) -> None:
    expected = in_order(data.all, sort)
    assert len(expected) == 11
    params = {"sort": sort, "limit": 3}
    forward = walk_forward(data.client, params)

    assert [ids(p) for p in forward] == [expected[i : i + 3] for i in range(0, 11, 3)]
    assert [p["has_more"] for p in forward] == [True, True, True, False]
    assert forward[0]["prev_cursor"] is None
    assert all(p["prev_cursor"] is not None for p in forward[1:])
    assert forward[-1]["next_cursor"] is None

    back = walk_back(data.client, params, forward[-1])
    assert [ids(p) for p in back] == [ids(p) for p in forward]
    assert back[0]["prev_cursor"] is None
    assert back[0]["has_more"] is False  # nothing before the first page
    assert [p["has_more"] for p in back[1:-1]] == [True, True]  # more lie behind these
    # a page reached backwards continues forwards as before
    again = get_page(data.client, {**params, "cursor": back[0]["next_cursor"]})
    assert ids(again) == ids(forward[1])
    assert again["has_more"] is True


@pytest.mark.parametrize("sort", ["-created_at", "name", "-expiry_date"])
def test_walk_with_filters_and_on_subject_route(data: Data, sort: str) -> None:
    passports = [d for d in data.all if d["type"] == "passport"]
    params = {"sort": sort, "limit": 2, "type": "passport"}
    forward = walk_forward(data.client, params)
    assert [i for p in forward for i in ids(p)] == in_order(passports, sort)
    assert [len(p["data"]) for p in forward] == [2, 2, 1]
    assert [ids(p) for p in walk_back(data.client, params, forward[-1])] == [
        ids(p) for p in forward
    ]

    path = f"/v1/subjects/{data.subject['id']}/documents"
    theirs = [d for d in data.all if d["subject_id"] == data.subject["id"]]
    params = {"sort": sort, "limit": 2}
    forward = walk_forward(data.client, params, path)
    assert [i for p in forward for i in ids(p)] == in_order(theirs, sort)
    assert [ids(p) for p in walk_back(data.client, params, forward[-1], path)] == [
        ids(p) for p in forward
    ]


def test_has_more(data: Data) -> None:
    everything = in_order(data.all, "-created_at")
    whole = get_page(data.client, {})  # default limit covers the set
    assert ids(whole) == everything
    assert (whole["has_more"], whole["next_cursor"], whole["prev_cursor"]) == (False, None, None)

    exact = get_page(data.client, {"limit": 11})
    assert ids(exact) == everything
    assert exact["has_more"] is False
    assert exact["next_cursor"] is None

    one_short = get_page(data.client, {"limit": 10})
    assert one_short["has_more"] is True
    tail = get_page(data.client, {"limit": 10, "cursor": one_short["next_cursor"]})
    assert ids(tail) == everything[10:]
    assert tail["has_more"] is False
    assert tail["next_cursor"] is None

    for limit in (1, 100):
        assert len(get_page(data.client, {"limit": limit})["data"]) == min(limit, 11)

    empty = get_page(data.client, {"type": "tax_w2"})
    assert empty == {"data": [], "next_cursor": None, "prev_cursor": None, "has_more": False}


def test_cursor_works_with_another_limit_and_equivalent_filters(data: Data) -> None:
    """The limit is not part of the query, nor is how a type or a search is spelled."""
    expected = in_order([d for d in data.all if d["type"] == "passport"], "name")
    first = get_page(data.client, {"sort": "name", "type": "passport", "limit": 2})
    rest = get_page(
        data.client,
        {"sort": "name", "type": "PASSPORT", "limit": 50, "cursor": first["next_cursor"]},
    )
    assert ids(first) + ids(rest) == expected
    first = get_page(data.client, {"search": "ALPHA", "limit": 1, "sort": "name"})
    rest = get_page(
        data.client, {"search": "alpha", "limit": 5, "sort": "name", "cursor": first["next_cursor"]}
    )
    assert ids(first) + ids(rest) == in_order([data.docs["b"], data.docs["c"]], "name")


@pytest.mark.parametrize("limit", ["0", "101", "-1", "1000000", "abc"])
def test_limit_bounds(data: Data, limit: str) -> None:
    body = problem(data.client.get("/v1/documents", params={"limit": limit}), 400, None)
    assert body["errors"][0]["field"] == "limit"


# --------------------------------------------------------------- a set that changes


@pytest.mark.parametrize("sort", ["created_at", "-created_at", "name", "-name"])
def test_walk_over_a_changing_set(client: httpx2.Client, sort: str) -> None:
    initial = [new_doc(client, type="passport", name=f"m{n:02d}") for n in range(1, 19, 2)]
    params = {"sort": sort, "limit": 3}
    order0 = in_order(initial, sort)
    page1 = get_page(client, params)
    assert ids(page1) == order0[:3]

    # Between pages: three new documents (one sorting before everything by name, one in the
    # middle, one after everything) and one not yet seen deleted.
    added = [new_doc(client, type="passport", name=n) for n in ("m00", "m08", "m99")]
    gone = order0[5]
    assert client.delete(f"/v1/documents/{gone}").status_code == 204
    current = [d for d in initial if d["id"] != gone] + added

    pages = [page1]
    while pages[-1]["next_cursor"] is not None:
        assert len(pages) < 20
        pages.append(get_page(client, {**params, "cursor": pages[-1]["next_cursor"]}))
    walked = [i for p in pages for i in ids(p)]

    assert len(walked) == len(set(walked)), "a document was listed twice"
    assert gone not in walked
    survivors = [d["id"] for d in initial if d["id"] != gone]
    for doc_id in survivors:
        assert walked.count(doc_id) == 1
    # keyset semantics: after page 1, exactly the current documents beyond its last row
    current_order = in_order(current, sort)
    boundary = current_order.index(ids(page1)[-1])
    assert walked == ids(page1) + current_order[boundary + 1 :]
    # which of the new ones show up depends only on where they sort
    by_id = {d["id"]: d for d in added}
    shown = {by_id[i]["name"] for i in walked if i in by_id}
    assert (
        shown
        == {
            "created_at": {"m00", "m08", "m99"},
            "-created_at": set(),
            "name": {"m08", "m99"},
            "-name": {"m00", "m08"},
        }[sort]
    )

    # walking back from the end reaches the real first page of the set as it is now
    back = walk_back(client, params, pages[-1])
    assert [i for p in back for i in ids(p)] == current_order
    assert back[0]["prev_cursor"] is None
    # and the totals follow the creations and the deletion
    numbered = get_page(client, {"page": 1, "per_page": 100, "sort": sort})
    assert numbered["total_count"] == len(current) == 11
    assert ids(numbered) == current_order


def test_cursor_survives_deletion_of_its_anchor(client: httpx2.Client) -> None:
    made = [new_doc(client, name=f"n{i}") for i in range(7)]
    expected = in_order(made, "name")
    page1 = get_page(client, {"sort": "name", "limit": 3})
    assert ids(page1) == expected[:3]
    # the row the cursor points at is gone, and so is the first row of page 1
    assert client.delete(f"/v1/documents/{expected[2]}").status_code == 204
    assert client.delete(f"/v1/documents/{expected[0]}").status_code == 204
    page2 = get_page(client, {"sort": "name", "limit": 3, "cursor": page1["next_cursor"]})
    assert ids(page2) == expected[3:6]
    back = get_page(client, {"sort": "name", "limit": 3, "cursor": page2["prev_cursor"]})
    assert ids(back) == [expected[1]]
    assert back["prev_cursor"] is None
    assert back["has_more"] is False


def test_cursor_past_everything_deleted(client: httpx2.Client) -> None:
    made = [new_doc(client, name=f"p{i}") for i in range(4)]
    expected = in_order(made, "-created_at")
    page1 = get_page(client, {"limit": 2})
    for doc_id in expected[2:]:
        assert client.delete(f"/v1/documents/{doc_id}").status_code == 204
    page2 = get_page(client, {"limit": 2, "cursor": page1["next_cursor"]})
    assert page2["data"] == []
    assert page2["has_more"] is False
    assert page2["next_cursor"] is None
    # going back from the empty page still finds page 1
    assert page2["prev_cursor"] is not None
    back = get_page(client, {"limit": 2, "cursor": page2["prev_cursor"]})
    # expected[1] (page 1's last row, the cursor's anchor) was never deleted
    assert ids(back) == expected[:2]


def test_cursor_before_everything_deleted(client: httpx2.Client) -> None:
    """The mirror image: walking back onto an empty page, then forward again."""
    made = [new_doc(client, name=f"q{i}") for i in range(4)]
    expected = in_order(made, "-created_at")
    page1 = get_page(client, {"limit": 2})
    page2 = get_page(client, {"limit": 2, "cursor": page1["next_cursor"]})
    assert ids(page2) == expected[2:]
    for doc_id in expected[:2]:
        assert client.delete(f"/v1/documents/{doc_id}").status_code == 204
    back = get_page(client, {"limit": 2, "cursor": page2["prev_cursor"]})
    assert back["data"] == []
    assert back["has_more"] is False
    assert back["prev_cursor"] is None
    assert back["next_cursor"] is not None
    # forward again from the empty page: page 2 as it was (nothing of it was deleted)
    again = get_page(client, {"limit": 2, "cursor": back["next_cursor"]})
    assert ids(again) == expected[2:]


# --------------------------------------------------------------------- bad cursors


def _flip(text: str, index: int) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    new = alphabet[(alphabet.index(text[index]) + 17) % len(alphabet)]
    return text[:index] + new + text[index + 1 :]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _tampered(cursor: str, other_cursor: str, anchor_id: str) -> dict[str, str]:
    body, mac = cursor.split(".")
    other_body, other_mac = other_cursor.split(".")
    decoded = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    forged = json.dumps([decoded[0], uuid.uuid4().hex, decoded[2]], separators=(",", ":"))
    backwards = json.dumps([decoded[0], decoded[1], 1 - decoded[2]], separators=(",", ":"))
    return {
        "flip-body-start": f"{_flip(body, 0)}.{mac}",
        "flip-body-middle": f"{_flip(body, len(body) // 2)}.{mac}",
        "flip-mac-start": f"{body}.{_flip(mac, 0)}",
        "flip-mac-middle": f"{body}.{_flip(mac, len(mac) // 2)}",
        "truncated-end": cursor[:-1],
        "truncated-half": cursor[: len(cursor) // 2],
        "truncated-mac": f"{body}.{mac[:8]}",
        "body-only": body,
        "body-dot": f"{body}.",
        "dot-mac": f".{mac}",
        "swapped-halves": f"{mac}.{body}",
        "mixed-halves": f"{body}.{other_mac}",
        "other-body": f"{other_body}.{mac}",
        "forged-id": f"{_b64(forged.encode())}.{mac}",
        "forged-direction": f"{_b64(backwards.encode())}.{mac}",
        "unsigned-json": f"{_b64(b'[0,0,0]')}.{_b64(bytes(16))}",
        "unsigned-garbage-json": f"{_b64(b'not json')}.{mac}",
        "two-dots": f"{body}.{mac}.{mac}",
        "garbage": "garbage",
        "garbage-dot": "not.a.cursor",
        "punctuation": "!!!.???",
        "percent": "%%%.%%%",
        "non-ascii": "ünïcode.cürsor",
        "dot": ".",
        "dots": "..",
        "padding": "====.====",
        "space": " ",
        "spaces-dot": "  .  ",
        "null-bytes": "\x00.\x00",
        "uuid": anchor_id,
    }


def test_tampered_cursors_are_400(data: Data) -> None:
    page1 = get_page(data.client, {"limit": 3})
    page2 = get_page(data.client, {"limit": 3, "cursor": page1["next_cursor"]})
    cursor, other = page1["next_cursor"], page2["next_cursor"]
    failures: dict[str, tuple[str, object, object]] = {}
    for name, bad in _tampered(cursor, other, ids(page1)[0]).items():
        if bad == cursor:
            continue
        response = data.client.get("/v1/documents", params={"limit": 3, "cursor": bad})
        if response.status_code != 400:
            failures[name] = (bad, response.status_code, response.text[:200])
            continue
        body = problem(response, 400, None)
        # A NUL is refused in any text input before the cursor is even decoded.
        expected = "nul_character" if "\x00" in bad else "invalid_cursor"
        if body["code"] != expected or body["errors"][0]["field"] != "cursor":
            failures[name] = (bad, body["code"], body.get("errors"))
    assert failures == {}


def test_overlong_cursor_is_400(data: Data) -> None:
    cursor = get_page(data.client, {"limit": 3})["next_cursor"]
    body = problem(
        data.client.get("/v1/documents", params={"limit": 3, "cursor": cursor + "A" * 1100}),
        400,
        None,
    )
    assert body["errors"][0]["field"] == "cursor"


def test_empty_cursor_is_the_first_page_or_400(data: Data) -> None:
    """``cursor=`` (empty) is either ignored or refused, never an error of the server."""
    response = data.client.get("/v1/documents", params={"limit": 3, "cursor": ""})
    if response.status_code == 200:
        assert ids(response.json()) == ids(get_page(data.client, {"limit": 3}))
    else:
        problem(response, 400, "invalid_cursor")


def test_cursor_of_another_tenant_is_400(data: Data, other_client: httpx2.Client) -> None:
    theirs = [new_doc(other_client, name=f"o{i}") for i in range(3)]
    assert len(theirs) == 3
    ours = get_page(data.client, {"limit": 1})
    body = problem(
        other_client.get("/v1/documents", params={"limit": 1, "cursor": ours["next_cursor"]}),
        400,
        "invalid_cursor",
    )
    assert body["errors"][0]["field"] == "cursor"
    their_page = get_page(other_client, {"limit": 1})
    problem(
        data.client.get("/v1/documents", params={"limit": 1, "cursor": their_page["next_cursor"]}),
        400,
        "invalid_cursor",
    )
    # nor via a subject route that exists for the holder of the cursor
    problem(
        data.client.get(
            f"/v1/subjects/{data.subject['id']}/documents",
            params={"cursor": their_page["next_cursor"]},
        ),
        400,
        "invalid_cursor",
    )


@pytest.mark.parametrize(
    "changed",
    [
        {"sort": "name"},
        {"sort": "created_at"},
        {"sort": "-name"},
        {"sort": "expiry_date"},
        {"type": "passport"},
        {"type": "visa"},
        {"search": "alpha"},
        {"has_files": "true"},
        {"has_files": "false"},
        {"classification": "tenant_private"},
        {"expires_before": "2030-01-01"},
        {"expires_after": "2000-01-01"},
        {"created_from": "2000-01-01"},
        {"created_to": "2999-01-01"},
        {"subject_id": "SUBJECT"},
    ],
)
def test_cursor_replayed_with_other_query_is_400(data: Data, changed: dict[str, str]) -> None:
    base: dict[str, str | int] = {"sort": "-created_at", "limit": 3}
    cursor = get_page(data.client, base)["next_cursor"]
    params = {**base, **changed}
    if params.get("subject_id") == "SUBJECT":
        params["subject_id"] = data.subject["id"]
    body = problem(
        data.client.get("/v1/documents", params={**params, "cursor": cursor}),
        400,
        "invalid_cursor",
    )
    assert body["errors"][0]["field"] == "cursor"


def test_cursor_from_filtered_query_replayed_without_filter_is_400(data: Data) -> None:
    params: dict[str, str | int] = {
        "sort": "name",
        "limit": 2,
        "type": "passport",
        "has_files": "false",
    }
    cursor = get_page(data.client, params)["next_cursor"]
    for drop in ("type", "has_files", "sort"):
        rest = {k: v for k, v in params.items() if k != drop}
        problem(
            data.client.get("/v1/documents", params={**rest, "cursor": cursor}),
            400,
            "invalid_cursor",
        )
    # the subject route with a subject other than the cursor's
    path = f"/v1/subjects/{data.subject['id']}/documents"
    sub_cursor = get_page(data.client, {"limit": 2}, path)["next_cursor"]
    other_subject = new_subject(data.client)
    problem(
        data.client.get(
            f"/v1/subjects/{other_subject['id']}/documents", params={"cursor": sub_cursor}
        ),
        400,
        "invalid_cursor",
    )
    # and the unscoped listing
    problem(data.client.get("/v1/documents", params={"cursor": sub_cursor}), 400, "invalid_cursor")


# ------------------------------------------------------------------- numbered pages


def numbered(client: httpx2.Client, params: dict[str, Any], path: str = "/v1/documents") -> Any:
    page = get_page(client, params, path)
    assert set(page) == {"data", "page", "per_page", "total_count", "total_pages"}
    return page


@pytest.mark.parametrize("sort", ["-created_at", "name", "-expiry_date"])
def test_numbered_pages(data: Data, sort: str) -> None:
    expected = in_order(data.all, sort)
    seen = []
    for number, size in ((1, 4), (2, 4), (3, 3)):
        page = numbered(data.client, {"page": number, "per_page": 4, "sort": sort})
        assert (page["page"], page["per_page"]) == (number, 4)
        assert (page["total_count"], page["total_pages"]) == (11, 3)
        assert len(page["data"]) == size
        seen += ids(page)
    assert seen == expected  # last page partial, slices in sort order

    past = numbered(data.client, {"page": 4, "per_page": 4, "sort": sort})
    assert past["data"] == []
    assert (past["page"], past["per_page"], past["total_count"], past["total_pages"]) == (
        4,
        4,
        11,
        3,
    )
    far = numbered(data.client, {"page": 50, "per_page": 100, "sort": sort})
    assert far["data"] == [] and far["total_count"] == 11 and far["total_pages"] == 1


def test_numbered_page_defaults_and_edges(data: Data) -> None:
    expected = in_order(data.all, "-created_at")
    only_page = numbered(data.client, {"page": 1})
    assert (only_page["per_page"], only_page["total_pages"], ids(only_page)) == (20, 1, expected)
    only_size = numbered(data.client, {"per_page": 5})
    assert (only_size["page"], only_size["total_pages"], ids(only_size)) == (1, 3, expected[:5])
    single = numbered(data.client, {"page": 11, "per_page": 1})
    assert (ids(single), single["total_pages"]) == ([expected[10]], 11)
    exact = numbered(data.client, {"page": 1, "per_page": 11})
    assert (ids(exact), exact["total_pages"]) == (expected, 1)
    biggest = numbered(data.client, {"page": 1, "per_page": 100})
    assert ids(biggest) == expected


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page": 1, "per_page": 101}, "per_page"),
        ({"page": 1, "per_page": 0}, "per_page"),
        ({"page": 0}, "page"),
        ({"page": 0, "per_page": 10}, "page"),
        ({"page": -1}, "page"),
        ({"page": "one"}, "page"),
    ],
)
def test_numbered_page_bounds(data: Data, params: dict[str, Any], field: str) -> None:
    body = problem(data.client.get("/v1/documents", params=params), 400, None)
    assert body["errors"][0]["field"] == field


def test_mixing_cursor_and_numbered_pages_is_400(data: Data) -> None:
    cursor = get_page(data.client, {"limit": 3})["next_cursor"]
    for params in (
        {"page": 1, "cursor": cursor},
        {"per_page": 5, "cursor": cursor},
        {"page": 2, "limit": 3},
        {"per_page": 3, "limit": 3},
        {"page": 1, "per_page": 3, "limit": 3, "cursor": cursor},
    ):
        body = problem(data.client.get("/v1/documents", params=params), 400, None)
        assert body["code"] == "mixed_pagination", params
    path = f"/v1/subjects/{data.subject['id']}/documents"
    problem(data.client.get(path, params={"page": 1, "limit": 2}), 400, "mixed_pagination")


def test_very_deep_numbered_page_is_400(data: Data) -> None:
    for params in (
        {"page": 1000, "per_page": 100},
        {"page": 102, "per_page": 100},
        {"page": 10002, "per_page": 1},
        {"page": 2**31},
    ):
        body = problem(data.client.get("/v1/documents", params=params), 400, "page_too_deep")
        assert body["errors"][0]["field"] == "page"
    # exactly 10,000 rows deep is still served
    edge = numbered(data.client, {"page": 101, "per_page": 100})
    assert edge["data"] == [] and edge["total_count"] == 11


@pytest.mark.parametrize(
    ("params", "labels"),
    [
        ({"type": "passport", "has_files": "true"}, "af"),
        ({"type": "passport", "has_files": "false"}, "bik"),
        ({"type": ["passport", "visa"]}, "abcfik"),
        ({"has_files": "true"}, "adfgj"),
        ({"classification": "entity_private"}, "acehj"),
        ({"classification": "tenant_private", "has_files": "false"}, "bik"),
        ({"search": "echo"}, "i"),
        ({"search": "ÉCHO"}, "h"),
        ({"search": "alpha"}, "bc"),
        ({"search": "upload-"}, "adfgj"),  # the files' names
        ({"expires_before": "2029-01-02"}, "bcegi"),
        ({"expires_after": "2029-01-01"}, "aj"),
        ({"type": "tax_w2"}, ""),
    ],
)
def test_numbered_totals_with_filters(data: Data, params: dict[str, Any], labels: str) -> None:
    matching = [data.docs[label] for label in labels]
    expected = in_order(matching, "name")
    first = numbered(data.client, {**params, "page": 1, "per_page": 2, "sort": "name"})
    assert first["total_count"] == len(labels)
    assert first["total_pages"] == -(-len(labels) // 2)
    assert ids(first) == expected[:2]
    walked = list(ids(first))
    for number in range(2, first["total_pages"] + 1):
        page = numbered(data.client, {**params, "page": number, "per_page": 2, "sort": "name"})
        assert page["total_count"] == len(labels)
        walked += ids(page)
    assert walked == expected


def test_numbered_pages_on_subject_route(data: Data, other_client: httpx2.Client) -> None:
    path = f"/v1/subjects/{data.subject['id']}/documents"
    theirs = [d for d in data.all if d["subject_id"] == data.subject["id"]]
    page = numbered(data.client, {"page": 2, "per_page": 2, "sort": "expiry_date"}, path)
    assert (page["total_count"], page["total_pages"]) == (len(theirs), 3)
    assert ids(page) == in_order(theirs, "expiry_date")[2:4]
    problem(
        data.client.get(f"/v1/subjects/{uuid.uuid4()}/documents", params={"page": 1}),
        404,
        "subject_not_found",
    )
    # another tenant sees no totals of ours
    assert numbered(other_client, {"page": 1})["total_count"] == 0
    assert numbered(other_client, {"page": 1, "type": "passport"})["total_count"] == 0
