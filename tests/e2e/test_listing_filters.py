"""End to end: every filter and sort of GET /v1/documents (and of the subject-scoped
/v1/subjects/{id}/documents) against a known set of documents in a tenant of its own.

The data set (built once for the module, through the API):

=====  ==============  ==================  =======  ==========  ==========================
label  type            name                subject  expiry      files
=====  ==============  ==================  =======  ==========  ==========================
A      passport        Alpha Passport      S1       2030-01-15  -
B      passport        alpha passport      S2       2030-01-15  scan_front.png
C      visa            Émile Ünal          S1       2025-03-01  visa-page.pdf
D      national_id     50% off             -        -           -
E      bank_statement  5000 offers         -        2031-12-31  statement_2024.pdf
F      utility_bill    under_score bill    S2       -           -
G      utility_bill    (none)              -        2028-02-29  -
H      other_document  (none)              S1       -           -
I      bank_statement  Quarterly Report    S1       2027-07-01  ZEBRA-Scan.png, Überweisung.pdf
J      passport        zz top              -        2024-01-01  -
=====  ==============  ==================  =======  ==========  ==========================

A/B tie on the name key and on the expiry date, G/H are both unnamed, D/F/H are undated: the
sort tests pin down where those go and that ties are broken by id.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx2
import pytest

from tests.e2e.documents_support import new_doc, new_subject
from tests.e2e.problem_support import problem
from tests.e2e.uploads_support import create, pdf_part, png_part
from tests.helpers import Server, post_multipart

# Every answer is checked against the OpenAPI documents (tests/spec_conformance.py).
pytestmark = pytest.mark.usefixtures("responses_conform")

ALL = frozenset("ABCDEFGHIJ")
NO_EXPIRY = date(9999, 12, 31)


@dataclass
class World:
    client: httpx2.Client
    other: httpx2.Client
    docs: dict[str, dict[str, Any]]
    s1: dict[str, Any]
    s2: dict[str, Any]
    other_subject: dict[str, Any]
    other_docs: dict[str, dict[str, Any]]

    def label(self, doc_id: str) -> str:
        for label, doc in self.docs.items():
            if doc["id"] == doc_id:
                return label
        raise AssertionError(f"listing returned a document not in the data set: {doc_id}")

    def labels(self, page: dict[str, Any]) -> list[str]:
        return [self.label(d["id"]) for d in page["data"]]

    def created_day(self, label: str) -> date:
        return created_at(self.docs[label]).date()


def created_at(doc: dict[str, Any]) -> datetime:
    value = datetime.fromisoformat(doc["created_at"])
    assert value.tzinfo is not None, doc["created_at"]
    return value.astimezone(UTC)


def _multipart(
    client: httpx2.Client, doc_type: str, parts: list[Any], **fields: str
) -> dict[str, Any]:
    response = create(client, doc_type, *parts, **fields)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


@pytest.fixture(scope="module")
def world(server: Server) -> Iterator[World]:
    with (
        server.client(server.create_tenant()["api_key"]) as client,
        server.client(server.create_tenant()["api_key"]) as other,
    ):
        s1 = new_subject(client, display_name="Subject One")
        s2 = new_subject(client, display_name="Subject Two")
        docs: dict[str, dict[str, Any]] = {}
        docs["A"] = new_doc(
            client,
            type="passport",
            name="Alpha Passport",
            subject_id=s1["id"],
            expiry_date="2030-01-15",
        )
        docs["B"] = _multipart(
            client,
            "passport",
            [png_part("scan_front.png")],
            name="alpha passport",
            subject_id=s2["id"],
            expiry_date="2030-01-15",
        )
        docs["C"] = _multipart(
            client,
            "visa",
            [pdf_part("visa-page.pdf")],
            name="Émile Ünal",
            subject_id=s1["id"],
            expiry_date="2025-03-01",
        )
        docs["D"] = new_doc(client, type="national_id", name="50% off")
        docs["E"] = _multipart(
            client,
            "bank_statement",
            [pdf_part("statement_2024.pdf")],
            name="5000 offers",
            expiry_date="2031-12-31",
        )
        docs["F"] = new_doc(
            client, type="utility_bill", name="under_score bill", subject_id=s2["id"]
        )
        docs["G"] = new_doc(client, type="utility_bill", expiry_date="2028-02-29")
        docs["H"] = new_doc(client, type="other_document", subject_id=s1["id"])
        docs["I"] = _multipart(
            client,
            "bank_statement",
            [png_part("ZEBRA-Scan.png"), pdf_part("Überweisung.pdf")],
            name="Quarterly Report",
            subject_id=s1["id"],
            expiry_date="2027-07-01",
        )
        docs["J"] = new_doc(client, type="passport", name="zz top", expiry_date="2024-01-01")

        # What the data set relies on, as stored.
        assert docs["G"]["name"] is None and docs["H"]["name"] is None
        assert [f["filename"] for f in docs["I"]["files"]] == ["ZEBRA-Scan.png", "Überweisung.pdf"]
        assert docs["B"]["files"][0]["filename"] == "scan_front.png"
        assert docs["C"]["name"] == "Émile Ünal"

        # The other tenant has look-alike documents and a subject of its own.
        other_subject = new_subject(other, display_name="Other Subject")
        other_docs = {
            "X": new_doc(other, type="passport", name="Alpha Passport", expiry_date="2030-01-15"),
            "Y": _multipart(
                other,
                "bank_statement",
                [png_part("ZEBRA-Scan.png")],
                name="50% off",
                subject_id=other_subject["id"],
            ),
        }
        yield World(client, other, docs, s1, s2, other_subject, other_docs)


def listed(
    client: httpx2.Client, params: Any = None, path: str = "/v1/documents"
) -> dict[str, Any]:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    assert set(page) == {"data", "next_cursor", "prev_cursor", "has_more"}
    return page


def newest_first(world: World, labels: set[str] | frozenset[str]) -> list[str]:
    return sorted(labels, key=lambda lab: (created_at(world.docs[lab]), world.docs[lab]["id"]))[
        ::-1
    ]


def check_filter(world: World, params: list[tuple[str, str]], expected: set[str]) -> None:
    """Exactly ``expected``, newest first (the default sort), on one complete page."""
    page = listed(world.client, [*params, ("limit", "100")])
    assert world.labels(page) == newest_first(world, expected), params
    assert page["has_more"] is False
    assert page["next_cursor"] is None


def test_data_set_is_listed_newest_first(world: World) -> None:
    page = listed(world.client)
    assert world.labels(page) == newest_first(world, ALL)
    assert world.labels(page) == list("JIHGFEDCBA")
    assert page["has_more"] is False
    assert page["prev_cursor"] is None
    # A listed document is the document, files included.
    by_id = {d["id"]: d for d in page["data"]}
    assert (
        by_id[world.docs["I"]["id"]]
        == world.client.get(f"/v1/documents/{world.docs['I']['id']}").json()
    )


# --------------------------------------------------------------------------------- type


@pytest.mark.parametrize(
    ("types", "expected"),
    [
        (["passport"], "ABJ"),
        (["PASSPORT"], "ABJ"),  # nCore alias
        (["id_passport"], "ABJ"),  # Sila alias
        (["Passport"], "ABJ"),
        (["visa"], "C"),
        (["doc_utility"], "FG"),
        (["passport", "utility_bill"], "ABFGJ"),
        (["passport", "PASSPORT", "id_passport"], "ABJ"),  # the same type thrice
        (["bank_statement", "national_id", "other_document"], "DEHI"),
        (["tax_w2"], ""),  # a known type nobody used
    ],
)
def test_type_filter(world: World, types: list[str], expected: str) -> None:
    check_filter(world, [("type", t) for t in types], set(expected))


@pytest.mark.parametrize(
    "types", [["not_a_type"], ["passport", "not_a_type"], ["not_a_type", "visa"]]
)
def test_unknown_type_is_400_naming_it(world: World, types: list[str]) -> None:
    body = problem(
        world.client.get("/v1/documents", params=[("type", t) for t in types]),
        400,
        "unknown_document_type",
    )
    assert body["errors"][0]["field"] == "type"
    assert "not_a_type" in body["errors"][0]["message"]
    assert "not_a_type" in body["detail"]


def test_unknown_type_on_subject_route(world: World) -> None:
    body = problem(
        world.client.get(f"/v1/subjects/{world.s1['id']}/documents", params={"type": "nope_x"}),
        400,
        "unknown_document_type",
    )
    assert body["errors"][0]["field"] == "type"
    assert "nope_x" in body["detail"]


# --------------------------------------------------------------------------- subject_id


def test_subject_id_filter(world: World) -> None:
    check_filter(world, [("subject_id", world.s1["id"])], set("ACHI"))
    check_filter(world, [("subject_id", world.s2["id"])], set("BF"))
    # an unknown subject, or another tenant's, is simply an empty list on this route
    check_filter(world, [("subject_id", str(uuid.uuid4()))], set())
    check_filter(world, [("subject_id", world.other_subject["id"])], set())
    problem(world.client.get("/v1/documents", params={"subject_id": "nope"}), 400, None)


# ------------------------------------------------------------------------- created_*


def test_created_range(world: World) -> None:
    days = {label: world.created_day(label) for label in ALL}
    first, last = min(days.values()), max(days.values())
    today = datetime.now(UTC).date()
    # The data set was made just now (tolerating a run across UTC midnight).
    assert today - timedelta(days=1) <= first <= last <= today
    one = timedelta(days=1)

    check_filter(world, [("created_from", first.isoformat())], set(ALL))
    check_filter(world, [("created_to", last.isoformat())], set(ALL))
    check_filter(
        world, [("created_from", first.isoformat()), ("created_to", last.isoformat())], set(ALL)
    )
    # Inclusive calendar days: from = to = the day itself.
    for day in {first, last}:
        on_day = {label for label, d in days.items() if d == day}
        check_filter(
            world, [("created_from", day.isoformat()), ("created_to", day.isoformat())], on_day
        )
        check_filter(
            world,
            [("created_from", day.isoformat())],
            {label for label, d in days.items() if d >= day},
        )
        check_filter(
            world,
            [("created_to", day.isoformat())],
            {label for label, d in days.items() if d <= day},
        )
    check_filter(world, [("created_from", (last + one).isoformat())], set())
    check_filter(world, [("created_to", (first - one).isoformat())], set())
    check_filter(world, [("created_from", "2000-01-01"), ("created_to", "2000-12-31")], set())
    check_filter(world, [("created_from", "2000-01-01"), ("created_to", "2999-12-31")], set(ALL))


def test_created_from_after_created_to_is_400(world: World) -> None:
    today = datetime.now(UTC).date()
    body = problem(
        world.client.get(
            "/v1/documents",
            params={
                "created_from": (today + timedelta(days=1)).isoformat(),
                "created_to": today.isoformat(),
            },
        ),
        400,
        None,
    )
    assert body["errors"][0]["field"] in ("created_to", "created_from")


@pytest.mark.parametrize(
    "params",
    [
        {"created_from": "2024-13-01"},
        {"created_to": "yesterday"},
        {"expires_before": "2024-02-30"},
        {"expires_after": "soon"},
        {"classification": "public"},
        {"has_files": "maybe"},
        {"sort": "random"},
        {"sort": "id"},
        {"search": "x" * 201},
    ],
)
def test_invalid_filter_values_are_400(world: World, params: dict[str, str]) -> None:
    body = problem(world.client.get("/v1/documents", params=params), 400, None)
    assert body["errors"][0]["field"] == next(iter(params))


# ------------------------------------------------------------------------------- search


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("passport", "AB"),  # substring of the name
        ("ALPHA PASS", "AB"),  # case-insensitive
        ("alpha passport", "AB"),
        ("quarterly", "I"),
        ("zebra", "I"),  # only in a file's original filename
        ("Zebra-scan.PNG", "I"),
        ("visa-page", "C"),  # only in a filename
        ("scan_front", "B"),
        ("überweisung", "I"),  # non-ASCII filename, other case
        ("ÜBERWEISUNG.PDF", "I"),
        (".pdf", "CEI"),
        ("émile", "C"),
        ("ÉMILE ÜNAL", "C"),  # non-ASCII case folding
        ("ünal", "C"),
        ("ÜN", "C"),  # two characters, non-ASCII
        ("é", "C"),  # one character, non-ASCII
        ("50%", "D"),  # % is literal
        ("0%", "D"),
        ("%", "D"),
        ("% off", "D"),
        ("5000", "E"),
        ("50", "DE"),
        ("5", "DE"),
        ("_", "BEF"),  # _ is literal, not "any character"
        ("r_", "F"),  # would match "re"/"rt"/"r " as a wildcard
        ("n_f", "B"),
        ("r_s", "F"),
        ("t_2", "E"),
        ("off", "DE"),
        ("OFFERS", "E"),
        ("zz", "J"),
        ("z", "IJ"),
        ("top", "J"),
        ("no such thing", ""),
        ("q", "I"),
        ("%%", ""),
        ("__", ""),
        ("\\", ""),
        ('"', ""),
        ("passport'; --", ""),
    ],
)
def test_search(world: World, search: str, expected: str) -> None:
    check_filter(world, [("search", search)], set(expected))


def test_search_does_not_treat_wildcards_as_wildcards(world: World) -> None:
    """As LIKE patterns these would match every document that has a name or a file."""
    named_or_filed = ALL - set("GH")
    for pattern in ("_", "%", "%_%", "_%", "___"):
        page = listed(world.client, {"search": pattern, "limit": 100})
        assert set(world.labels(page)) != named_or_filed, pattern
        assert set(world.labels(page)) <= set("BDEF"), pattern


# ---------------------------------------------------------------------------- expiry


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"expires_before": "2030-01-15"}, "CGIJ"),  # strict: A and B expire that day
        ({"expires_before": "2030-01-16"}, "ABCGIJ"),
        ({"expires_after": "2030-01-15"}, "E"),  # strict
        ({"expires_after": "2030-01-14"}, "ABE"),
        ({"expires_before": "2024-01-01"}, ""),
        ({"expires_after": "2031-12-31"}, ""),
        ({"expires_after": "2000-01-01"}, "ABCEGIJ"),  # undated never match
        ({"expires_before": "2999-01-01"}, "ABCEGIJ"),
        ({"expires_before": "9999-12-31"}, "ABCEGIJ"),
        ({"expires_after": "9999-12-30"}, ""),  # undated are not "after" anything
        ({"expires_after": "2025-03-01", "expires_before": "2030-01-15"}, "GI"),
        ({"expires_after": "2028-02-28", "expires_before": "2028-03-01"}, "G"),  # leap day
        ({"expires_after": "2030-01-15", "expires_before": "2030-01-15"}, ""),
    ],
)
def test_expiry_filters(world: World, params: dict[str, str], expected: str) -> None:
    check_filter(world, list(params.items()), set(expected))


# ---------------------------------------------------------------- classification, files


def test_classification_filter(world: World) -> None:
    check_filter(world, [("classification", "tenant_private")], set("DEGJ"))
    check_filter(world, [("classification", "entity_private")], set("ABCFHI"))
    page = listed(world.client, {"classification": "tenant_private", "limit": 100})
    assert {d["classification"] for d in page["data"]} == {"tenant_private"}
    assert {d["subject_id"] for d in page["data"]} == {None}


def test_has_files_filter(world: World) -> None:
    check_filter(world, [("has_files", "true")], set("BCEI"))
    check_filter(world, [("has_files", "false")], set("ADFGHJ"))
    check_filter(world, [("has_files", "1")], set("BCEI"))
    check_filter(world, [("has_files", "0")], set("ADFGHJ"))
    with_files = listed(world.client, {"has_files": "true"})
    assert all(d["files"] for d in with_files["data"])
    without = listed(world.client, {"has_files": "false"})
    assert not any(d["files"] for d in without["data"])


# ------------------------------------------------------------------------ combinations


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ([("type", "passport"), ("has_files", "true")], "B"),
        ([("type", "passport"), ("has_files", "false")], "AJ"),
        ([("type", "PASSPORT"), ("classification", "tenant_private")], "J"),
        ([("type", "utility_bill"), ("classification", "tenant_private")], "G"),
        ([("search", "report"), ("subject_id", "S1")], "I"),
        ([("search", "report"), ("subject_id", "S2")], ""),
        ([("classification", "entity_private"), ("expires_before", "2029-01-01")], "CI"),
        ([("type", "bank_statement"), ("has_files", "true"), ("search", "zebra")], "I"),
        ([("search", "alpha"), ("expires_after", "2030-01-14"), ("subject_id", "S2")], "B"),
        ([("search", "_"), ("has_files", "false")], "F"),
        ([("search", "_"), ("type", "passport"), ("type", "utility_bill")], "BF"),
        ([("has_files", "false"), ("expires_before", "2999-01-01")], "AGJ"),
        ([("has_files", "false"), ("classification", "entity_private"), ("type", "visa")], ""),
        (
            [
                ("type", "passport"),
                ("type", "visa"),
                ("subject_id", "S1"),
                ("expires_after", "2025-01-01"),
                ("created_from", "2000-01-01"),
                ("search", "a"),
                ("has_files", "false"),
                ("classification", "entity_private"),
            ],
            "A",
        ),
    ],
)
def test_combined_filters(world: World, params: list[tuple[str, str]], expected: str) -> None:
    subjects = {"S1": world.s1["id"], "S2": world.s2["id"]}
    resolved = [(k, subjects.get(v, v) if k == "subject_id" else v) for k, v in params]
    check_filter(world, resolved, set(expected))


# ------------------------------------------------------------------------------- sorts


def _order(world: World, groups: list[str], descending: bool) -> list[str]:
    """Groups of labels that tie on the sort key, each ordered by id."""
    out: list[str] = []
    for group in groups:
        out += sorted(group, key=lambda lab: world.docs[lab]["id"], reverse=descending)
    return out


def _sort_key(world: World, sort: str, label: str) -> tuple[Any, str]:
    doc = world.docs[label]
    field = sort.lstrip("-")
    if field == "name":
        return ((doc["name"] or "").casefold(), doc["id"])
    if field == "expiry_date":
        expiry = date.fromisoformat(doc["expiry_date"]) if doc["expiry_date"] else NO_EXPIRY
        return (expiry, doc["id"])
    return (created_at(doc), doc["id"])


# Ascending orders as tie groups. Names compare case-folded, code point by code point (so
# "émile ünal" comes after "zz top"); unnamed documents sort as "" (first), undated ones as
# 9999-12-31 (last).
ASCENDING = {
    "created_at": ["A", "B", "C", "D", "E", "F", "G", "H", "I", "J"],
    "name": ["GH", "D", "E", "AB", "I", "F", "J", "C"],
    "expiry_date": ["J", "C", "I", "G", "AB", "E", "DFH"],
}


@pytest.mark.parametrize(
    "sort", ["created_at", "-created_at", "name", "-name", "expiry_date", "-expiry_date"]
)
def test_sort_orders(world: World, sort: str) -> None:
    descending = sort.startswith("-")
    groups = ASCENDING[sort.lstrip("-")]
    expected = _order(world, groups[::-1] if descending else groups, descending)
    page = listed(world.client, {"sort": sort, "limit": 100})
    assert world.labels(page) == expected
    # the same order as the documented keys give
    by_key = sorted(ALL, key=lambda lab: _sort_key(world, sort, lab), reverse=descending)
    assert world.labels(page) == by_key
    # a page through a cursor continues the same order
    first = listed(world.client, {"sort": sort, "limit": 4})
    rest = listed(world.client, {"sort": sort, "limit": 100, "cursor": first["next_cursor"]})
    assert world.labels(first) + world.labels(rest) == expected


def test_sort_places_unnamed_and_undated(world: World) -> None:
    by_name = world.labels(listed(world.client, {"sort": "name"}))
    assert set(by_name[:2]) == {"G", "H"}
    by_name_desc = world.labels(listed(world.client, {"sort": "-name"}))
    assert set(by_name_desc[-2:]) == {"G", "H"}
    by_expiry = world.labels(listed(world.client, {"sort": "expiry_date"}))
    assert set(by_expiry[-3:]) == {"D", "F", "H"}
    by_expiry_desc = world.labels(listed(world.client, {"sort": "-expiry_date"}))
    assert set(by_expiry_desc[:3]) == {"D", "F", "H"}
    # ties (A/B on name and expiry, G/H unnamed) are broken by id, both directions
    a_id, b_id = world.docs["A"]["id"], world.docs["B"]["id"]
    first_ab = "A" if a_id < b_id else "B"
    assert next(x for x in by_name if x in "AB") == first_ab
    assert next(x for x in by_expiry if x in "AB") == first_ab
    assert [x for x in by_name_desc if x in "AB"][-1] == first_ab
    assert [x for x in by_expiry_desc if x in "AB"][-1] == first_ab


def test_sort_combines_with_filters(world: World) -> None:
    page = listed(world.client, {"sort": "name", "type": "passport"})
    assert world.labels(page) == _order(world, ["AB", "J"], False)
    page = listed(world.client, {"sort": "-expiry_date", "has_files": "true"})
    assert world.labels(page) == ["E", "B", "I", "C"]
    page = listed(world.client, {"sort": "expiry_date", "search": "_"})
    assert world.labels(page) == ["B", "E", "F"]


# ------------------------------------------------------------------ subject-scoped route


def test_subject_route_filters_and_sorts(world: World) -> None:
    path = f"/v1/subjects/{world.s1['id']}/documents"
    assert world.labels(listed(world.client, None, path)) == newest_first(world, set("ACHI"))
    cases: list[tuple[dict[str, str], list[str]]] = [
        ({"type": "passport"}, ["A"]),
        ({"type": "id_passport"}, ["A"]),
        ({"search": "ÉMILE"}, ["C"]),
        ({"search": "zebra"}, ["I"]),
        ({"search": "_"}, []),  # S1 has no underscore anywhere
        ({"has_files": "true"}, ["I", "C"]),
        ({"has_files": "false"}, ["H", "A"]),
        ({"classification": "tenant_private"}, []),
        ({"classification": "entity_private"}, ["I", "H", "C", "A"]),
        ({"expires_before": "2030-01-15"}, ["I", "C"]),
        ({"expires_after": "2027-07-01"}, ["A"]),
        ({"sort": "name"}, ["H", "A", "I", "C"]),
        ({"sort": "-expiry_date"}, ["H", "A", "I", "C"]),
        ({"sort": "expiry_date"}, ["C", "I", "A", "H"]),
    ]
    for params, expected in cases:
        assert world.labels(listed(world.client, params, path)) == expected, params
    s2 = f"/v1/subjects/{world.s2['id']}/documents"
    assert world.labels(listed(world.client, {"sort": "name"}, s2)) == ["B", "F"]
    # a subject_id in the query cannot widen the route's subject: it is not a parameter here
    widened = world.client.get(path, params={"subject_id": world.s2["id"]})
    assert problem(widened, 400, "unknown_parameter")["errors"][0]["field"] == "subject_id"


def test_subject_route_unknown_or_foreign_subject_is_404(world: World) -> None:
    for subject_id in (str(uuid.uuid4()), world.other_subject["id"]):
        path = f"/v1/subjects/{subject_id}/documents"
        problem(world.client.get(path), 404, "subject_not_found")
        problem(world.client.get(path, params={"type": "passport"}), 404, "subject_not_found")
        problem(world.client.get(path, params={"page": 1}), 404, "subject_not_found")
    # and the other way round
    problem(world.other.get(f"/v1/subjects/{world.s1['id']}/documents"), 404, "subject_not_found")
    problem(world.client.get("/v1/subjects/not-a-uuid/documents"), 400, None)


# --------------------------------------------------------------------------- isolation

ISOLATION_QUERIES: list[list[tuple[str, str]]] = [
    [],
    [("search", "alpha")],
    [("search", "50%")],
    [("search", "_")],
    [("search", "zebra")],
    [("search", "é")],
    [("type", "passport")],
    [("type", "utility_bill"), ("type", "visa")],
    [("has_files", "true")],
    [("has_files", "false")],
    [("classification", "tenant_private")],
    [("classification", "entity_private")],
    [("expires_after", "2000-01-01")],
    [("expires_before", "2999-01-01")],
    [("created_from", "2000-01-01")],
    [("sort", "name")],
    [("sort", "-expiry_date")],
]


@pytest.mark.parametrize("params", ISOLATION_QUERIES)
def test_other_tenant_never_sees_these_documents(
    world: World, params: list[tuple[str, str]]
) -> None:
    ours = {d["id"] for d in world.docs.values()}
    theirs = {d["id"] for d in world.other_docs.values()}
    seen = listed(world.other, [*params, ("limit", "100")])["data"]
    assert not {d["id"] for d in seen} & ours
    assert {d["id"] for d in seen} <= theirs
    numbered = world.other.get("/v1/documents", params=[*params, ("per_page", "100")])
    assert numbered.status_code == 200, numbered.text
    assert not {d["id"] for d in numbered.json()["data"]} & ours
    assert numbered.json()["total_count"] == len(numbered.json()["data"])
    # and the subject filter with our subject finds nothing for them
    assert listed(world.other, [*params, ("subject_id", world.s1["id"])])["data"] == []


def test_look_alikes_stay_in_their_tenant(world: World) -> None:
    """The other tenant's "Alpha Passport" and "50% off" never mix with ours."""
    assert set(world.labels(listed(world.client, {"search": "alpha"}))) == {"A", "B"}
    assert set(world.labels(listed(world.client, {"search": "50%"}))) == {"D"}
    theirs = listed(world.other, {"search": "alpha"})
    assert [d["id"] for d in theirs["data"]] == [world.other_docs["X"]["id"]]
    theirs = listed(world.other, {"search": "zebra"})
    assert [d["id"] for d in theirs["data"]] == [world.other_docs["Y"]["id"]]
    theirs = listed(world.other, {"search": "50%"})
    assert [d["id"] for d in theirs["data"]] == [world.other_docs["Y"]["id"]]


# ------------------------------------------------------------- filters follow changes


def test_filters_follow_changes_to_a_document(client: httpx2.Client) -> None:
    """Adding or removing files, renaming, re-dating or re-assigning a document moves it in
    and out of the filters (the derived listing columns stay in step)."""
    subject = new_subject(client)
    doc = new_doc(client, type="passport", name="Plain Name", expiry_date="2030-01-01")
    other = new_doc(client, type="visa", name="Bystander", expiry_date="2035-01-01")

    def found(params: dict[str, str]) -> list[str]:
        return [d["id"] for d in listed(client, params)["data"]]

    assert found({"has_files": "true"}) == []
    assert found({"search": "kilo"}) == []
    assert found({"sort": "expiry_date"}) == [doc["id"], other["id"]]

    added = create_files(client, doc["id"], "Kilo-Scan.png")
    assert found({"has_files": "true"}) == [doc["id"]]
    assert found({"has_files": "false"}) == [other["id"]]
    assert found({"search": "KILO-scan"}) == [doc["id"]]
    assert found({"search": "ki"}) == [doc["id"]]

    deleted = client.delete(f"/v1/documents/{doc['id']}/files/{added[0]['id']}")
    assert deleted.status_code == 204, deleted.text
    assert found({"has_files": "true"}) == []
    assert found({"search": "kilo"}) == []
    assert found({"search": "ki"}) == []

    patched = client.patch(
        f"/v1/documents/{doc['id']}",
        json={"name": "Renamed Ω", "expiry_date": None, "subject_id": subject["id"]},
    )
    assert patched.status_code == 200, patched.text
    assert found({"search": "plain"}) == []
    assert found({"search": "renamed ω"}) == [doc["id"]]
    assert found({"search": "Ω"}) == [doc["id"]]
    assert found({"expires_after": "2000-01-01"}) == [other["id"]]  # doc is undated now
    assert found({"expires_before": "2999-01-01"}) == [other["id"]]
    assert found({"classification": "entity_private"}) == [doc["id"]]
    assert found({"classification": "tenant_private"}) == [other["id"]]
    assert found({"sort": "expiry_date"}) == [other["id"], doc["id"]]  # undated last
    assert found({"sort": "name"}) == [other["id"], doc["id"]]  # "bystander" < "renamed ω"

    unnamed = client.patch(f"/v1/documents/{doc['id']}", json={"name": None})
    assert unnamed.status_code == 200, unnamed.text
    assert found({"sort": "name"}) == [doc["id"], other["id"]]  # unnamed sorts first
    assert found({"search": "renamed"}) == []


def create_files(client: httpx2.Client, doc_id: str, filename: str) -> list[dict[str, Any]]:
    response = post_multipart(client, f"/v1/documents/{doc_id}/files", [png_part(filename)])
    assert response.status_code == 201, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data
