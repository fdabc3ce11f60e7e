"""End to end: a tenant's own document types (POST /v1/document-types).

A custom type gets a short name (given, or a slug of its label) that may not collide with a
built-in name, vendor alias or label, nor with the tenant's other types; once made it is
listed and usable like a built-in type, by its own tenant only.
"""

from __future__ import annotations

import concurrent.futures
import threading
from typing import Any

import httpx2
import pytest

from tests.e2e.documents_support import ids, new_doc
from tests.e2e.problem_support import problem
from tests.helpers import PDF_BYTES, Part, Server, image_bytes, post_multipart

# Every answer is checked against the OpenAPI documents (tests/spec_conformance.py).
pytestmark = pytest.mark.usefixtures("responses_conform")

TYPES = "/v1/document-types"


def create_type(client: httpx2.Client, **fields: Any) -> dict[str, Any]:
    response = client.post(TYPES, json=fields)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def listed_names(client: httpx2.Client, **params: str) -> list[str]:
    response = client.get(TYPES, params=params)
    assert response.status_code == 200, response.text
    return [t["name"] for t in response.json()["data"]]


def upload(
    client: httpx2.Client, doc_type: str, *files: tuple[str, bytes, str, str | None]
) -> httpx2.Response:
    parts = [Part("type", doc_type.encode())]
    for name, data, content_type, role in files:
        parts.append(Part("file", data, name, content_type))
        if role is not None:
            parts.append(Part("role", role.encode()))
    return post_multipart(client, "/v1/documents", parts)


# --------------------------------------------------------------------------- create


def test_label_already_built_in_is_409(client: httpx2.Client) -> None:
    response = client.post(TYPES, json={"label": "Financial Statement"})
    body = problem(response, 409, "document_type_exists")
    assert "financial_statement" not in [
        t["name"] for t in client.get(TYPES).json()["data"] if not t["builtin"]
    ]
    assert body["detail"]


def test_create_from_label_only(client: httpx2.Client, tenant: dict[str, Any]) -> None:
    response = client.post(TYPES, json={"label": "Board Resolution"})
    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith("application/json")
    created = response.json()
    assert created == {
        "name": "board_resolution",
        "label": "Board Resolution",
        "category": "other",
        "roles": [],
        "aliases": {},
        "builtin": False,
    }
    assert response.headers["location"] == f"{TYPES}/board_resolution"

    fetched = client.get(f"{TYPES}/board_resolution")
    assert fetched.status_code == 200
    assert fetched.json() == created
    assert client.get(response.headers["location"]).json() == created
    assert "board_resolution" in listed_names(client)
    assert "board_resolution" in listed_names(client, category="other")
    for category in ("identity", "address", "financial", "corporate"):
        assert "board_resolution" not in listed_names(client, category=category)

    events = client.get("/v1/audit-events").json()["data"]
    made = [e for e in events if e["action"] == "document_type.created"]
    assert len(made) == 1
    assert made[0]["actor"] == tenant["key_id"]
    assert made[0]["details"]["name"] == "board_resolution"


def test_label_slug(client: httpx2.Client) -> None:
    made = create_type(client, label="  Share-holder   Register (2024)!  ")
    assert made["name"] == "share_holder_register_2024"
    assert made["label"] == "Share-holder   Register (2024)!"
    made = create_type(client, label="Ünïcode Straße Urkunde")
    assert client.get(f"{TYPES}/{made['name']}").json() == made


def test_create_with_name_category_and_roles(client: httpx2.Client) -> None:
    made = create_type(
        client,
        label="Shareholder Register",
        name="sh-register_2",
        category="corporate",
        roles=["PAGE1", "PAGE2", "PAGE1"],
    )
    assert made == {
        "name": "sh-register_2",
        "label": "Shareholder Register",
        "category": "corporate",
        "roles": ["PAGE1", "PAGE2"],
        "aliases": {},
        "builtin": False,
    }
    corporate = client.get(TYPES, params={"category": "corporate"}).json()["data"]
    assert made in corporate
    assert {t["category"] for t in corporate} == {"corporate"}
    assert "sh-register_2" not in listed_names(client, category="other")
    assert client.get(f"{TYPES}/sh-register_2").json() == made
    # Built-in types are still all there, and still built in.
    everything = client.get(TYPES).json()["data"]
    assert sum(not t["builtin"] for t in everything) == 1
    assert next(t for t in everything if t["name"] == "passport")["builtin"] is True


def test_get_unknown_type_is_404(client: httpx2.Client) -> None:
    problem(client.get(f"{TYPES}/no_such_type_here"), 404, "document_type_not_found")


def test_create_needs_authentication(server: Server) -> None:
    with server.client(None) as nobody:
        problem(nobody.post(TYPES, json={"label": "Anonymous Type"}), 401, "unauthenticated")


# --------------------------------------------------------------------------- using a custom type


def test_custom_type_in_json_documents(client: httpx2.Client) -> None:
    create_type(client, label="Board Resolution")
    create_type(client, label="Power of Attorney", name="poa", category="corporate")
    doc = new_doc(client, type="board_resolution", name="Resolution 7")
    assert doc["type"] == "board_resolution"
    # Names are matched case-insensitively, like built-in ones.
    upper = new_doc(client, type="BOARD_RESOLUTION")
    assert upper["type"] == "board_resolution"
    poa = new_doc(client, type="poa")
    passport = new_doc(client, type="passport")

    page = client.get("/v1/documents", params={"type": "board_resolution"})
    assert page.status_code == 200, page.text
    assert sorted(ids(page.json())) == sorted([doc["id"], upper["id"]])
    both = client.get("/v1/documents", params=[("type", "board_resolution"), ("type", "poa")])
    assert sorted(ids(both.json())) == sorted([doc["id"], upper["id"], poa["id"]])
    assert passport["id"] not in ids(both.json())

    # A document may be changed to and from a custom type.
    changed = client.patch(f"/v1/documents/{passport['id']}", json={"type": "poa"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["type"] == "poa"
    back = client.patch(f"/v1/documents/{passport['id']}", json={"type": "passport"})
    assert back.json()["type"] == "passport"


def test_custom_type_in_uploads_with_role_rules(client: httpx2.Client) -> None:
    create_type(client, label="Board Resolution")
    create_type(client, label="Share Certificate", roles=["FRONT", "BACK"])

    # A type without roles takes files without roles only.
    ok = upload(client, "board_resolution", ("minutes.pdf", PDF_BYTES, "application/pdf", None))
    assert ok.status_code == 201, ok.text
    assert ok.json()["type"] == "board_resolution"
    assert ok.json()["files"][0]["role"] is None
    refused = upload(
        client, "board_resolution", ("minutes.pdf", PDF_BYTES, "application/pdf", "FRONT")
    )
    problem(refused, 400, "role_not_allowed")

    front, back = image_bytes("PNG"), image_bytes("PNG")
    ok = upload(
        client,
        "share_certificate",
        ("front.png", front, "image/png", "FRONT"),
        ("back.png", back, "image/png", "BACK"),
    )
    assert ok.status_code == 201, ok.text
    assert [f["role"] for f in ok.json()["files"]] == ["FRONT", "BACK"]
    refused = upload(client, "share_certificate", ("p1.png", front, "image/png", "PAGE1"))
    problem(refused, 400, "role_not_allowed")

    listed = client.get("/v1/documents", params={"type": "share_certificate"}).json()
    assert ids(listed) == [ok.json()["id"]]
    # Adding files later follows the same rules.
    doc_id = ok.json()["id"]
    more = post_multipart(
        client,
        f"/v1/documents/{doc_id}/files",
        [Part("file", image_bytes("PNG"), "extra.png", "image/png"), Part("role", b"PAGE2")],
    )
    problem(more, 400, "role_not_allowed")
    assert len(client.get(f"/v1/documents/{doc_id}").json()["files"]) == 2


def test_roles_are_checked_when_changing_to_a_custom_type(client: httpx2.Client) -> None:
    create_type(client, label="Board Resolution")
    card = upload(
        client,
        "national_id",
        ("front.png", image_bytes("PNG"), "image/png", "FRONT"),
    )
    assert card.status_code == 201, card.text
    changed = client.patch(f"/v1/documents/{card.json()['id']}", json={"type": "board_resolution"})
    problem(changed, 400, "role_not_allowed")
    assert client.get(f"/v1/documents/{card.json()['id']}").json()["type"] == "national_id"


# --------------------------------------------------------------------------- tenants


def test_other_tenant_neither_sees_nor_uses_it(
    client: httpx2.Client, other_client: httpx2.Client
) -> None:
    made = create_type(client, label="Board Resolution")
    assert "board_resolution" not in listed_names(other_client)
    assert "board_resolution" not in listed_names(other_client, category="other")
    problem(other_client.get(f"{TYPES}/board_resolution"), 404, "document_type_not_found")
    problem(
        other_client.post("/v1/documents", json={"type": "board_resolution"}),
        400,
        "unknown_document_type",
    )
    problem(
        upload(other_client, "board_resolution", ("a.pdf", PDF_BYTES, "application/pdf", None)),
        400,
        "unknown_document_type",
    )
    listing = other_client.get("/v1/documents", params={"type": "board_resolution"})
    assert listing.status_code == 400, listing.text
    assert other_client.get("/v1/documents").json()["data"] == []

    # The other tenant may make a type of the same name for itself; the two stay apart.
    theirs = create_type(other_client, label="Board Resolution", category="corporate")
    assert theirs["name"] == "board_resolution"
    assert client.get(f"{TYPES}/board_resolution").json() == made
    assert other_client.get(f"{TYPES}/board_resolution").json() == theirs


# --------------------------------------------------------------------------- collisions


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"label": "My passport", "name": "passport"}, id="name=builtin-name"),
        pytest.param({"label": "PASSPORT"}, id="label-slug=builtin-name"),
        pytest.param({"label": "Passport copy", "name": "id_passport"}, id="name=sila-alias"),
        pytest.param({"label": "ID Passport"}, id="label-slug=sila-alias"),
        pytest.param({"label": "Wage form", "name": "w-2"}, id="name=argyle-alias-folded"),
        pytest.param({"label": "Others"}, id="label-slug=cynopsis-alias-folded"),
        pytest.param({"label": "Utility doc", "name": "doc_utility"}, id="name=alias"),
        pytest.param({"label": "passport", "name": "my_passport"}, id="label=builtin-label"),
        pytest.param({"label": "bank statement", "name": "bs2"}, id="label=builtin-label-folded"),
        pytest.param({"label": "Court Order for Name Change", "name": "court"}, id="label=label"),
    ],
)
def test_collision_with_builtin_is_409(client: httpx2.Client, fields: dict[str, str]) -> None:
    problem(client.post(TYPES, json=fields), 409, "document_type_exists")
    assert all(t["builtin"] for t in client.get(TYPES).json()["data"])


def test_uppercase_builtin_name_is_refused(client: httpx2.Client) -> None:
    """An upper-case name is no valid name at all, which is checked first."""
    response = client.post(TYPES, json={"label": "Another passport", "name": "PASSPORT"})
    body = problem(response, 400, "invalid_name")
    assert body["errors"][0]["field"] == "name"
    assert all(t["builtin"] for t in client.get(TYPES).json()["data"])


def test_collision_with_own_custom_type_is_409(client: httpx2.Client) -> None:
    create_type(client, label="Board Resolution")
    for fields in (
        {"label": "Board Resolution"},
        {"label": "board resolution", "name": "board_res_2"},
        {"label": "Different label", "name": "board_resolution"},
        {"label": "BOARD RESOLUTION", "name": "br3"},
    ):
        problem(client.post(TYPES, json=fields), 409, "document_type_exists")
    assert [t for t in client.get(TYPES).json()["data"] if not t["builtin"]] == [
        client.get(f"{TYPES}/board_resolution").json()
    ]


def test_concurrent_creates_of_one_name(server: Server, tenant: dict[str, Any]) -> None:
    workers = 10
    barrier = threading.Barrier(workers)

    def send(index: int) -> httpx2.Response:
        with server.client(tenant["api_key"]) as own:
            barrier.wait(timeout=60)
            return own.post(TYPES, json={"label": f"Race label {index}", "name": "race_type"})

    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        responses = list(pool.map(send, range(workers)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * (workers - 1), [r.text for r in responses]
    for r in responses:
        if r.status_code == 409:
            problem(r, 409, "document_type_exists")
    with server.client(tenant["api_key"]) as c:
        assert listed_names(c).count("race_type") == 1


def test_concurrent_creates_of_one_label(server: Server, tenant: dict[str, Any]) -> None:
    workers = 10
    barrier = threading.Barrier(workers)

    def send(index: int) -> httpx2.Response:
        with server.client(tenant["api_key"]) as own:
            barrier.wait(timeout=60)
            return own.post(TYPES, json={"label": "Same Label", "name": f"same_label_{index}"})

    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        responses = list(pool.map(send, range(workers)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * (workers - 1), [r.text for r in responses]
    with server.client(tenant["api_key"]) as c:
        custom = [t for t in c.get(TYPES).json()["data"] if not t["builtin"]]
    assert [t["label"] for t in custom] == ["Same Label"]


def test_create_is_idempotent(client: httpx2.Client) -> None:
    headers = {"Idempotency-Key": "type-key-1"}
    first = client.post(TYPES, json={"label": "Board Resolution"}, headers=headers)
    assert first.status_code == 201, first.text
    again = client.post(TYPES, json={"label": "Board Resolution"}, headers=headers)
    assert again.status_code == 201, again.text
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    # Without the key the same request is a conflict: the type exists once.
    problem(client.post(TYPES, json={"label": "Board Resolution"}), 409, "document_type_exists")
    assert listed_names(client, category="other").count("board_resolution") == 1


# --------------------------------------------------------------------------- invalid input


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("Board", id="uppercase"),
        pytest.param("board resolution", id="space"),
        pytest.param("b" * 65, id="65-chars"),
        pytest.param("_board", id="leading-underscore"),
        pytest.param("-board", id="leading-dash"),
        pytest.param("board.resolution", id="dot"),
        pytest.param("board/resolution", id="slash"),
        pytest.param("bøard", id="non-ascii"),
        pytest.param("", id="empty"),
    ],
)
def test_invalid_name_is_400(client: httpx2.Client, name: str) -> None:
    problem(client.post(TYPES, json={"label": "Valid label", "name": name}), 400, None)
    assert all(t["builtin"] for t in client.get(TYPES).json()["data"])


def test_longest_name_is_accepted(client: httpx2.Client) -> None:
    made = create_type(client, label="Long one", name="b" * 64)
    assert made["name"] == "b" * 64


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({}, id="no-label"),
        pytest.param({"name": "no_label"}, id="name-only"),
        pytest.param({"label": None}, id="null-label"),
        pytest.param({"label": ""}, id="empty-label"),
        pytest.param({"label": "   "}, id="blank-label"),
        pytest.param({"label": "!!!"}, id="label-without-letters"),
        pytest.param({"label": "x" * 201}, id="label-too-long"),
        pytest.param({"label": "Tab\tlabel"}, id="control-character"),
        pytest.param({"label": "Fine", "category": "secret"}, id="unknown-category"),
        pytest.param({"label": "Fine", "roles": ["SIDE"]}, id="unknown-role"),
        pytest.param({"label": "Fine", "roles": "FRONT"}, id="roles-not-a-list"),
        pytest.param({"label": "Fine", "builtin": True}, id="extra-field"),
        pytest.param({"label": "Fine", "aliases": {"sila": "x"}}, id="aliases-not-settable"),
        pytest.param(["label"], id="not-an-object"),
    ],
)
def test_invalid_body_is_400(client: httpx2.Client, body: Any) -> None:
    problem(client.post(TYPES, json=body), 400, None)
    assert all(t["builtin"] for t in client.get(TYPES).json()["data"])


def test_label_missing_names_the_field(client: httpx2.Client) -> None:
    body = problem(client.post(TYPES, json={"category": "other"}), 400, "validation_error")
    assert [e["field"] for e in body["errors"]] == ["label"]


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        pytest.param(b"label=Board+Resolution", "application/x-www-form-urlencoded", id="form"),
        pytest.param(b'{"label": "Board Resolution"}', "text/plain", id="text-plain"),
        pytest.param(b'{"label": "Board Resolution"}', None, id="no-content-type"),
        pytest.param(b"<label>Board</label>", "application/xml", id="xml"),
    ],
)
def test_non_json_body_is_415(
    client: httpx2.Client, content: bytes, content_type: str | None
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    problem(client.post(TYPES, content=content, headers=headers), 415, None)
    assert all(t["builtin"] for t in client.get(TYPES).json()["data"])


def test_malformed_json_is_400(client: httpx2.Client) -> None:
    response = client.post(
        TYPES, content=b'{"label": "Board', headers={"Content-Type": "application/json"}
    )
    problem(response, 400, None)
