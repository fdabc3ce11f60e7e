"""Every JSON a client sends, on every route and dialect that reads one (request bodies and
the JSON form fields: the native ``metadata``, Cynopsis' ``document``, Sila's ``data``), is
read under the same rules: nested at most 64 deep, finite numbers and 64-bit integers only,
no NUL character. Anything else is a 400 in the route's own envelope with a stable code,
stores nothing, and writes no traceback to the server's log (a 3,000-deep array used to be a
500 with a RecursionError traceback, before any authentication on Sila's routes; NaN and
1e400 used to be stored as null)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx2
import pytest

from tests.e2e.bad_input_support import (
    CYNOPSIS,
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

DEEP = "[" * 3000 + "]" * 3000
SLOT = "@VALUE@"
# What goes into the slot (raw JSON text; None: the whole document is DEEP), and its code.
BAD_VALUES = {
    "3000-deep": (None, "json_too_deep"),
    "65-deep": ("[" * 64 + "]" * 64, "json_too_deep"),  # the slot is at least 1 deep
    "NaN": ("NaN", "invalid_number"),
    "Infinity": ("Infinity", "invalid_number"),
    "-Infinity": ("-Infinity", "invalid_number"),
    "1e400": ("1e400", "invalid_number"),
    "-1e400": ("-1e400", "invalid_number"),
    "2**64": (str(2**64), "invalid_number"),
    "NUL-in-string": ('"a\\u0000b"', "nul_character"),
    "NUL-in-key": ('{"a\\u0000b": 1}', "nul_character"),
}


@dataclass(frozen=True)
class Target:
    """A route that reads JSON: where (``@…@`` names the world's ids), the JSON it is sent,
    with ``@VALUE@`` where the bad value goes (in a place the route would otherwise accept
    or ignore), and the multipart field it travels in (None: the body)."""

    name: str
    dialect: str
    method: str
    path: str
    template: str
    form_field: str | None = None
    before: tuple[tuple[str, str], ...] = ()
    file_part: str = "file"


TARGETS = [
    Target("v1-subject-create", NATIVE, "POST", "/v1/subjects",
           '{"type": "individual", "metadata": {"x": @VALUE@}}'),
    Target("v1-subject-update", NATIVE, "PATCH", "/v1/subjects/@SUBJECT@",
           '{"metadata": {"x": @VALUE@}}'),
    Target("v1-document-create-json", NATIVE, "POST", "/v1/documents",
           '{"type": "passport", "metadata": {"x": @VALUE@}}'),
    Target("v1-document-create-form", NATIVE, "POST", "/v1/documents",
           '{"x": @VALUE@}', form_field="metadata", before=(("type", "passport"),)),
    Target("v1-document-update", NATIVE, "PATCH", "/v1/documents/@DOCUMENT@",
           '{"metadata": {"x": @VALUE@}}'),
    Target("v1-files-add-form", NATIVE, "POST", "/v1/documents/@DOCUMENT@/files",
           '{"x": @VALUE@}', form_field="metadata"),
    Target("v1-document-type-create", NATIVE, "POST", "/v1/document-types",
           '{"label": "Lease", "roles": [], "x": @VALUE@}'),
    Target("v1-processing-settings", NATIVE, "PATCH", "/v1/settings/processing",
           '{"ocr": false, "x": @VALUE@}'),
    Target("ncore-create", NCORE, "POST", "/compat/ncore/users/@SUBJECT@/identifications",
           '{"type": "PASSPORT", "number": "N1", "x": @VALUE@}'),
    Target("ncore-update", NCORE, "PUT",
           "/compat/ncore/users/@SUBJECT@/identifications/@DOCUMENT@",
           '{"number": "N2", "x": @VALUE@}'),
    Target("cynopsis-append", CYNOPSIS, "POST", "/compat/cynopsis/api/customer/@NUMBER@/document",
           '{"type": "PASSPORT", "number": "C1", "x": @VALUE@}', form_field="document",
           file_part="front"),
    Target("cynopsis-update", CYNOPSIS, "PUT",
           "/compat/cynopsis/api/customer/@NUMBER@/document/@DOCNUMBER@",
           '{"type": "PASSPORT", "number": "C2", "x": @VALUE@}', form_field="document",
           file_part="front"),
    Target("kycgenie-v2-response-create", KYCGENIE_V2, "POST",
           "/compat/kycgenie/api/v2/questionnaire-responses/",
           '{"questionnaire_id": "q1", "entity_id": "@SUBJECT@", "x": @VALUE@}'),
    Target("sila-document-types", SILA, "POST", "/compat/sila/0.2/document_types",
           '{"header": {"app_handle": "@APP@", "reference": "r1"}, "x": @VALUE@}'),
    Target("sila-list-documents", SILA, "POST", "/compat/sila/0.2/list_documents",
           '{"header": {"app_handle": "@APP@", "user_handle": "@USER@"}, "x": @VALUE@}'),
    Target("sila-get-document", SILA, "POST", "/compat/sila/0.2/get_document",
           '{"header": {"app_handle": "@APP@", "user_handle": "@USER@"},'
           ' "document_id": "@DOCUMENT@", "x": @VALUE@}'),
    Target("sila-upload", SILA, "POST", "/compat/sila/0.2/documents",
           '{"header": {"app_handle": "@APP@", "user_handle": "@USER@"}, "filename": "scan",'
           ' "hash": "' + "0" * 64 + '", "mime_type": "image/png",'
           ' "document_type": "id_passport", "x": @VALUE@}', form_field="data"),
]  # fmt: skip


@pytest.fixture(scope="module")
def world(server: Server) -> World:
    return make_world(server)


@pytest.fixture(scope="module")
def clients(world: World) -> Iterator[dict[str, httpx2.Client]]:
    made = {d: world.client(d) for d in (NATIVE, NCORE, CYNOPSIS, KYCGENIE_V2, SILA)}
    yield made
    for client in made.values():
        client.close()


def _send(client: httpx2.Client, world: World, target: Target, document: str) -> httpx2.Response:
    url = world.fill(target.path)
    if target.form_field is None:
        headers = {"Content-Type": "application/json"}
        return client.request(target.method, url, content=document.encode(), headers=headers)
    parts = [Part(name, value.encode()) for name, value in target.before]
    parts += [
        Part(target.form_field, document.encode()),
        Part(target.file_part, image_bytes("PNG"), "scan.png", "image/png"),
    ]
    content_type, body, _ = multipart(parts)
    return client.request(
        target.method, url, content=b"".join(body), headers={"Content-Type": content_type}
    )


def _document(world: World, target: Target, value: str | None) -> str:
    return DEEP if value is None else world.fill(target.template).replace(SLOT, value)


@pytest.mark.parametrize("bad", list(BAD_VALUES), ids=list(BAD_VALUES))
@pytest.mark.parametrize("target", TARGETS, ids=[t.name for t in TARGETS])
def test_bad_json_is_refused_in_the_routes_envelope(
    world: World, clients: dict[str, httpx2.Client], target: Target, bad: str
) -> None:
    value, code = BAD_VALUES[bad]
    before = stored(world, clients[NATIVE])
    log = LogMark(world.server)
    response = _send(clients[target.dialect], world, target, _document(world, target, value))
    assert_envelope(target.dialect, response, 400, code)
    assert_nothing_stored(world, clients[NATIVE], before)
    log.assert_clean()


@pytest.mark.parametrize(
    "target",
    [t for t in TARGETS if t.dialect == NATIVE and t.form_field is None],
    ids=lambda t: t.name,
)
def test_a_syntax_error_keeps_its_code(
    world: World, clients: dict[str, httpx2.Client], target: Target
) -> None:
    """Unparsable JSON still answers as it always has (pydantic's wording, about the body)."""
    response = _send(clients[NATIVE], world, target, '{"metadata": ')
    assert_envelope(NATIVE, response, 400, "validation_error")
    assert response.json()["errors"][0] == {
        "field": "body",
        "code": "json_invalid",
        "message": response.json()["errors"][0]["message"],
    }


def test_what_the_rules_allow_is_stored(client: httpx2.Client) -> None:
    """64 levels deep (the body, metadata and 62 arrays), the largest 64-bit integers,
    doubles up to 1.7e308 (and an underflow, read as 0) and every other control character
    are accepted, and read back unchanged."""
    metadata = (
        '{"deep": ' + "[" * 62 + "]" * 62 + ', "max": 9223372036854775807,'
        ' "min": -9223372036854775808, "big": 1.7e308, "tiny": 1e-400,'
        ' "text": "tab\\there \\u0001 \\u001f"}'
    )
    made = client.post(
        "/v1/subjects",
        content=('{"type": "individual", "metadata": ' + metadata + "}").encode(),
        headers={"Content-Type": "application/json"},
    )
    assert made.status_code == 201, made.text
    got = made.json()["metadata"]
    arrays, node = 0, got["deep"]
    while isinstance(node, list):
        arrays, node = arrays + 1, (node[0] if node else None)
    assert arrays == 62
    assert (got["max"], got["min"], got["big"], got["tiny"]) == (2**63 - 1, -(2**63), 1.7e308, 0)
    assert got["text"] == "tab\there \x01 \x1f"
