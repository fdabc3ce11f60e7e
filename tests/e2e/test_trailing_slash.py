"""No redirect adds or removes a trailing slash: each path answers as the API declares it,
or 404 in the route's envelope, with no ``Location`` (Starlette's redirect built it from the
``Host`` header, so a forged Host sent clients, and a download token, elsewhere). KYC Genie's
paths, which its vendor declares with the slash, answer exactly as before."""

from __future__ import annotations

from collections.abc import Iterator

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
from tests.helpers import Server

# Every answer is checked against the OpenAPI documents (tests/spec_conformance.py).
pytestmark = pytest.mark.usefixtures("responses_conform")

FORGED_HOST = {"Host": "evil.example"}
DIALECTS = (NATIVE, NCORE, CYNOPSIS, KYCGENIE_V1, KYCGENIE_V2, SILA, ARGYLE)
# (dialect, method, path with a slash the API does not declare, JSON body or None)
UNDECLARED = [
    (NATIVE, "GET", "/v1/subjects/", None),
    (NATIVE, "POST", "/v1/subjects/", '{"type": "individual"}'),
    (NATIVE, "GET", "/v1/subjects/@SUBJECT@/", None),
    (NATIVE, "PATCH", "/v1/subjects/@SUBJECT@/", '{"display_name": "Changed"}'),
    (NATIVE, "GET", "/v1/documents/", None),
    (NATIVE, "POST", "/v1/documents/", '{"type": "passport"}'),
    (NATIVE, "GET", "/v1/documents/@DOCUMENT@/", None),
    (NATIVE, "DELETE", "/v1/documents/@DOCUMENT@/", None),
    (NATIVE, "GET", "/v1/documents/@DOCUMENT@/files/", None),
    (NATIVE, "GET", "/v1/documents/@DOCUMENT@/files/@FILE@/", None),
    (NATIVE, "GET", "/v1/documents/@DOCUMENT@/files/@FILE@/content/", None),
    (NATIVE, "HEAD", "/v1/documents/@DOCUMENT@/files/@FILE@/content/", None),
    (NATIVE, "POST", "/v1/documents/@DOCUMENT@/files/@FILE@/download-link/", None),
    (NATIVE, "GET", "/v1/document-types/", None),
    (NATIVE, "GET", "/v1/settings/processing/", None),
    (NATIVE, "GET", "/v1/audit-events/", None),
    (NATIVE, "GET", "/healthz/", None),
    (NCORE, "GET", "/compat/ncore/users/@SUBJECT@/identifications/", None),
    (CYNOPSIS, "GET", "/compat/cynopsis/api/customer/@NUMBER@/document/", None),
    (ARGYLE, "GET", "/compat/argyle/v2/user-uploads/", None),
    (SILA, "POST", "/compat/sila/0.2/document_types/", "{}"),
    # KYC Genie declares these with the slash; without it they name nothing.
    (KYCGENIE_V1, "GET", "/compat/kycgenie/api/v1/documents", None),
    (KYCGENIE_V2, "GET", "/compat/kycgenie/api/v2/documents", None),
    (KYCGENIE_V2, "GET", "/compat/kycgenie/api/v2/documents/@DOCUMENT@", None),
    (KYCGENIE_V2, "GET", "/compat/kycgenie/api/v2/entities/@SUBJECT@/documents", None),
]


@pytest.fixture(scope="module")
def world(server: Server) -> World:
    return make_world(server)


@pytest.fixture(scope="module")
def clients(world: World) -> Iterator[dict[str, httpx2.Client]]:
    made = {d: world.client(d) for d in DIALECTS}
    yield made
    for client in made.values():
        client.close()


@pytest.mark.parametrize(
    ("dialect", "method", "path", "body"),
    UNDECLARED,
    ids=[f"{method} {path}" for _, method, path, _ in UNDECLARED],
)
def test_an_undeclared_slash_is_404_without_location(
    world: World,
    clients: dict[str, httpx2.Client],
    dialect: str,
    method: str,
    path: str,
    body: str | None,
) -> None:
    before = stored(world, clients[NATIVE])
    log = LogMark(world.server)
    headers = dict(FORGED_HOST)
    if body is not None:
        headers["Content-Type"] = "application/json"
    response = clients[dialect].request(
        method, world.fill(path), content=body.encode() if body else None, headers=headers
    )
    if method == "HEAD":
        assert response.status_code == 404
        assert "location" not in response.headers
    else:
        assert_envelope(dialect, response, 404, "not_found")
    assert_nothing_stored(world, clients[NATIVE], before)
    log.assert_clean()


def test_a_download_link_with_a_slash_is_404_and_stays_unused(
    world: World, clients: dict[str, httpx2.Client]
) -> None:
    """``/v1/downloads/{token}/`` used to redirect with the token in a Location on the
    forged host; now it is a 404 that does not spend the link."""
    native = clients[NATIVE]
    issued = native.post(world.fill("/v1/documents/@DOCUMENT@/files/@FILE@/download-link"))
    assert issued.status_code == 201, issued.text
    path = httpx2.URL(issued.json()["download_url"]).path
    with world.server.client(None, timeout=60) as anonymous:
        for method in ("GET", "HEAD"):
            response = anonymous.request(method, path + "/", headers=FORGED_HOST)
            assert response.status_code == 404
            assert "location" not in response.headers
            assert "dl_" not in response.text
        assert_envelope(NATIVE, anonymous.get(path + "/", headers=FORGED_HOST), 404, "not_found")
        served = anonymous.get(path)
        assert served.status_code == 200, served.text
        assert served.content
        assert anonymous.get(path).status_code == 410


def test_kycgenie_paths_with_their_slash_still_answer(
    world: World, clients: dict[str, httpx2.Client]
) -> None:
    for version in ("v1", "v2"):
        client = clients[KYCGENIE_V1 if version == "v1" else KYCGENIE_V2]
        listed = client.get(f"/compat/kycgenie/api/{version}/documents/")
        assert listed.status_code == 200, listed.text
        entity = client.get(
            world.fill(f"/compat/kycgenie/api/{version}/entities/@SUBJECT@/documents/")
        )
        assert entity.status_code == 200, entity.text
        assert [d["id"] for d in entity.json()["documents" if version == "v1" else "results"]] == [
            world.document["id"]
        ]
