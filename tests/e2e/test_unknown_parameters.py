"""Unknown query parameters: a 400 ``unknown_parameter`` naming them on every native route
(``/v1``), so that a misspelt filter is never taken for no filter; the dialects under
``/compat`` keep their vendors' behaviour and ignore them."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx2
import pytest

from tests.e2e.problem_support import problem
from tests.e2e.subjects_support import create
from tests.helpers import Server

# Every answer is checked against the OpenAPI documents (tests/spec_conformance.py).
pytestmark = pytest.mark.usefixtures("responses_conform")


def refused(response: httpx2.Response, *names: str) -> dict[str, Any]:
    body = problem(response, 400, "unknown_parameter")
    assert [e["field"] for e in body["errors"]] == sorted(names), body
    assert {e["code"] for e in body["errors"]} == {"unknown_parameter"}
    assert body["detail"].startswith(f"unknown query parameter(s): {', '.join(sorted(names))}")
    return body


def test_a_misspelt_parameter_is_refused_and_named(client: httpx2.Client) -> None:
    subject = create(client, external_id="typo-1")
    create(client)
    body = refused(client.get("/v1/subjects", params={"limt": 1}), "limt")
    assert body["detail"] == (
        "unknown query parameter(s): limt "
        "(known: limit, cursor, external_id, type, parent_id, search)"
    )
    # The case: a filter's name misspelt no longer lists every subject.
    refused(client.get("/v1/subjects", params={"externalid": "typo-1"}), "externalid")
    refused(client.get("/v1/subjects", params={"b": "1", "a": "2", "limit": 1}), "a", "b")
    # The names known are still taken.
    found = client.get("/v1/subjects", params={"external_id": "typo-1"}).json()["data"]
    assert [s["id"] for s in found] == [subject["id"]]


def test_one_post_get_and_delete_route_each(client: httpx2.Client) -> None:
    refused(client.post("/v1/subjects", json={}, params={"dry_run": "1"}), "dry_run")
    subject = create(client)
    url = f"/v1/subjects/{subject['id']}"
    body = refused(client.get(url, params={"expand": "documents"}), "expand")
    assert body["detail"].endswith("(this route takes none)")
    refused(client.delete(url, params={"force": "true"}), "force")
    refused(client.patch(url, json={}, params={"x": ""}), "x")
    # Nothing was created, changed or deleted by the refused requests.
    assert client.get(url).json()["updated_at"] == subject["updated_at"]
    assert [s["id"] for s in client.get("/v1/subjects").json()["data"]] == [subject["id"]]
    # A parameter given without a value is a parameter too.
    refused(client.get("/v1/documents?has_file"), "has_file")
    refused(client.get("/v1/documents", params={"typ": "passport"}), "typ")


def test_refused_before_authentication(server: Server) -> None:
    with server.client(None) as anonymous:
        refused(anonymous.get("/v1/subjects", params={"limt": 1}), "limt")
        problem(anonymous.get("/v1/subjects", params={"limit": 1}), 401, None)


def _path(template: str) -> str:
    """A concrete path for a route's template (any id: the check comes before the lookup)."""
    return re.sub(r"\{[^}]+\}", lambda _: str(uuid.uuid4()), template)


def test_every_native_get_route_refuses_an_unknown_parameter(client: httpx2.Client) -> None:
    # Every operation the application documents (its routers are not flattened into
    # ``app.routes``, and no native route is left out of the document).
    paths = client.get("/openapi.json").json()["paths"]
    native = [p for p, operations in paths.items() if p.startswith("/v1/") and "get" in operations]
    assert len(native) > 20, native
    for path in native:
        response = client.get(_path(path), params={"zz_not_a_parameter": "1"})
        assert response.status_code == 400, (path, response.text)
        assert response.json()["code"] == "unknown_parameter", (path, response.text)


def test_a_dialect_route_still_ignores_an_unknown_parameter(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    subject = create(client, external_id="dialect-user")
    url = f"/compat/ncore/users/{subject['id']}/identifications"
    with server.client(None, headers={"apikey": tenant["api_key"]}) as ncore:
        plain = ncore.get(url)
        assert plain.status_code == 200, plain.text
        extra = ncore.get(url, params={"zz_not_a_parameter": "1"})
        assert extra.status_code == 200, extra.text
        assert extra.json() == plain.json()
    # The console keeps its own: an unknown parameter is no 400 there either.
    console = client.get("/console/login", params={"zz_not_a_parameter": "1"})
    assert console.status_code != 400, console.text
