"""A NUL character in any text a client sends, query parameter or form field, on every
dialect, is a 400 ``nul_character`` in the route's envelope that stores nothing
(``search=%00`` used to list every document of the tenant; on PostgreSQL a NUL cannot be
stored or compared at all). A path holding one names nothing: 404, as any unknown id. NUL in
JSON strings: test_bad_json.py."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx2
import pytest

from tests.e2e.bad_input_support import (
    ARGYLE,
    CYNOPSIS,
    KYCGENIE_V1,
    KYCGENIE_V2,
    NATIVE,
    NCORE,
    SILA,
    LogMark,
    World,
    assert_envelope,
    assert_nothing_stored,
    make_world,
    stored,
)
from tests.helpers import Part, Server, image_bytes, multipart

# Every answer is checked against the OpenAPI documents (tests/spec_conformance.py).
pytestmark = pytest.mark.usefixtures("responses_conform")

DIALECTS = (NATIVE, NCORE, CYNOPSIS, KYCGENIE_V1, KYCGENIE_V2, SILA, ARGYLE)
SILA_MESSAGE = '{"header": {"app_handle": "@APP@", "user_handle": "@USER@"}}'


@pytest.fixture(scope="module")
def world(server: Server) -> World:
    return make_world(server)


@pytest.fixture(scope="module")
def clients(world: World) -> Iterator[dict[str, httpx2.Client]]:
    made = {d: world.client(d) for d in DIALECTS}
    yield made
    for client in made.values():
        client.close()


def test_search_for_nul_is_refused_not_matched(
    world: World, clients: dict[str, httpx2.Client]
) -> None:
    native = clients[NATIVE]
    listed = native.get("/v1/documents", params={"search": "zzz-matches-nothing"})
    assert listed.status_code == 200
    assert listed.json()["data"] == []
    for url in ("/v1/documents", f"/v1/subjects/{world.subject['id']}/documents"):
        for search in ("%00", "a%00b", "passport%00"):
            response = native.get(f"{url}?limit=100&search={search}")
            assert_envelope(NATIVE, response, 400, "nul_character")
            assert response.json()["errors"][0]["field"] == "search"


@dataclass(frozen=True)
class Case:
    name: str
    dialect: str
    method: str
    url: str  # ``@…@``: the world's ids
    json: str | None = None  # a JSON body, else ``parts`` as multipart, else no body
    parts: tuple[tuple[str, bytes, str | None], ...] = ()  # (name, data, filename)


def _file(name: str = "file") -> tuple[str, bytes, str | None]:
    return (name, image_bytes("PNG"), "scan.png")


QUERY = [
    Case("v1-documents-type", NATIVE, "GET", "/v1/documents?type=pass%00port"),
    Case("v1-subjects-cursor", NATIVE, "GET", "/v1/subjects?cursor=%00"),
    Case("v1-audit-unknown-parameter", NATIVE, "GET", "/v1/audit-events?note=%00"),
    Case("v1-parameter-name", NATIVE, "GET", "/v1/documents?se%00arch=x"),
    Case("v1-content-disposition", NATIVE, "GET",
         "/v1/documents/@DOCUMENT@/files/@FILE@/content?disposition=inline%00"),
    Case("ncore-sort", NCORE, "GET",
         "/compat/ncore/users/@SUBJECT@/identifications?sort=%00created_date"),
    Case("cynopsis", CYNOPSIS, "GET", "/compat/cynopsis/api/customer/@NUMBER@/document?x=%00"),
    Case("kycgenie-v1-document-type", KYCGENIE_V1, "GET",
         "/compat/kycgenie/api/v1/documents/?document_type=%00"),
    Case("kycgenie-v2-document-type", KYCGENIE_V2, "GET",
         "/compat/kycgenie/api/v2/documents/?document_type=%00"),
    Case("argyle-user", ARGYLE, "GET", "/compat/argyle/v2/user-uploads?user=%00"),
    Case("sila-getmessage", SILA, "GET", "/compat/sila/0.2/getmessage?emptymessage=header%00"),
    Case("sila-list-documents", SILA, "POST", "/compat/sila/0.2/list_documents?page=1&x=%00",
         json=SILA_MESSAGE),
]  # fmt: skip
PATH = [
    Case("v1-document-type-name", NATIVE, "GET", "/v1/document-types/pass%00port"),
    Case("v1-download-token", NATIVE, "GET", "/v1/downloads/dl_%00"),
    Case("ncore-user", NCORE, "GET", "/compat/ncore/users/%00/identifications"),
    Case("ncore-external-id", NCORE, "POST", "/compat/ncore/users/@USER@%00/identifications",
         json='{"type": "PASSPORT"}'),
    Case("kycgenie-v2-document", KYCGENIE_V2, "GET", "/compat/kycgenie/api/v2/documents/%00/"),
    Case("kycgenie-v2-entity", KYCGENIE_V2, "GET",
         "/compat/kycgenie/api/v2/entities/%00/documents/"),
    Case("argyle-upload", ARGYLE, "GET", "/compat/argyle/v2/user-uploads/%00"),
]  # fmt: skip
FORM = [
    Case("v1-document-name", NATIVE, "POST", "/v1/documents",
         parts=(("type", b"passport", None), ("name", b"Jane\x00Doe", None), _file())),
    Case("v1-file-role", NATIVE, "POST", "/v1/documents/@DOCUMENT@/files",
         parts=(("role", b"BACK\x00", None), _file())),
    Case("v1-field-name", NATIVE, "POST", "/v1/documents",
         parts=(("type", b"passport", None), ("na\x00me", b"x", None), _file())),
    Case("ncore-document-type", NCORE, "PUT",
         "/compat/ncore/users/@SUBJECT@/identifications/@DOCUMENT@/files",
         parts=(("identification_document_type", b"PASSPORT_PAGE1\x00", None), _file())),
    Case("cynopsis-document", CYNOPSIS, "POST", "/compat/cynopsis/api/customer/@NUMBER@/document",
         parts=(("document", b'{"type": "PASSPORT", "number": "C\x001"}', None), _file("front"))),
    Case("kycgenie-v1-upload-document-type", KYCGENIE_V1, "POST",
         "/compat/kycgenie/api/v1/documents/upload/",
         parts=(("document_type", b"Pass\x00port", None), _file())),
    Case("kycgenie-v2-upload-document-type", KYCGENIE_V2, "POST",
         "/compat/kycgenie/api/v2/entities/@SUBJECT@/documents/",
         parts=(("document_type", b"Pass\x00port", None), _file())),
    Case("argyle-upload-user", ARGYLE, "POST", "/compat/argyle/v2/user-uploads",
         parts=(("user", b"@SUBJECT@\x00", None), ("document_type", b"passport", None),
                _file("upload"))),
    Case("sila-data", SILA, "POST", "/compat/sila/0.2/documents",
         parts=(("data", b'{"header": {"app_handle": "\x00"}}', None), _file())),
]  # fmt: skip
CASES = QUERY + FORM


def _send(client: httpx2.Client, world: World, case: Case) -> httpx2.Response:
    url = world.fill(case.url)
    if case.json is not None:
        headers = {"Content-Type": "application/json"}
        return client.request(case.method, url, content=world.fill(case.json), headers=headers)
    if not case.parts:
        return client.request(case.method, url)
    parts = [
        Part(name, world.fill(data.decode()).encode() if filename is None else data, filename)
        for name, data, filename in case.parts
    ]
    content_type, body, _ = multipart(parts)
    return client.request(
        case.method, url, content=b"".join(body), headers={"Content-Type": content_type}
    )


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_nul_in_text_input_is_refused(
    world: World, clients: dict[str, httpx2.Client], case: Case
) -> None:
    before = stored(world, clients[NATIVE])
    log = LogMark(world.server)
    response = _send(clients[case.dialect], world, case)
    assert_envelope(case.dialect, response, 400, "nul_character")
    assert_nothing_stored(world, clients[NATIVE], before)
    log.assert_clean()


@pytest.mark.parametrize("case", PATH, ids=[c.name for c in PATH])
def test_nul_in_a_path_names_nothing(
    world: World, clients: dict[str, httpx2.Client], case: Case
) -> None:
    before = stored(world, clients[NATIVE])
    log = LogMark(world.server)
    response = _send(clients[case.dialect], world, case)
    assert response.status_code == 404, response.text
    code = response.json().get("details", response.json())["code"]
    assert code.endswith("not_found")
    assert_envelope(case.dialect, response, 404, code)
    assert_nothing_stored(world, clients[NATIVE], before)
    log.assert_clean()
