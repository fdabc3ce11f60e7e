"""The interactive API docs, ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc), load nothing from
another origin: every URL their HTML names is the server's own, and each of those files is
served (by kycvault, from the installed packages) with its type and a body."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import httpx2
import pytest

from kycvault.api.docs import CSP
from tests.helpers import Server

# The attributes through which a page loads something.
_LOADING = ("src", "href", "spec-url")
_ABSOLUTE = re.compile(r"(?:https?:)?//[^\s\"'<>)]+")
_SWAGGER_SPEC = re.compile(r"url: '([^']+)'")


class _References(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found += [value for name, value in attrs if name in _LOADING and value]


def _references(html: str) -> list[str]:
    parser = _References()
    parser.feed(html)
    return parser.found


def _expected_type(url: str) -> str:
    path = url.split("?", 1)[0]
    if path.endswith(".js"):
        return "text/javascript"
    if path.endswith(".css"):
        return "text/css"
    if path.endswith(".png"):
        return "image/png"
    assert path == "/openapi.json", url
    return "application/json"


def _page(anonymous: httpx2.Client, path: str) -> str:
    response = anonymous.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    # Not the API's sandboxing policy, which would stop the page's script: the docs' own,
    # which lets nothing come from (or go to) another origin.
    assert response.headers["content-security-policy"] == CSP
    return response.text


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/docs", {"swagger-ui-bundle.js", "swagger-ui.css", "favicon.png", "openapi.json"}),
        ("/redoc", {"redoc.standalone.js", "favicon.png", "openapi.json"}),
    ],
)
def test_the_docs_pages_load_only_the_servers_own_files(
    server: Server, path: str, expected: set[str]
) -> None:
    with server.client(None) as anonymous:
        html = _page(anonymous, path)
        away = [url for url in _ABSOLUTE.findall(html) if not url.startswith(server.url + "/")]
        assert away == [], f"{path} names another origin: {away}"
        assert "fonts.googleapis" not in html and "cdn" not in html.lower()
        urls = _references(html) + _SWAGGER_SPEC.findall(html)
        assert {url.split("?", 1)[0].rsplit("/", 1)[-1] for url in urls} == expected
        for url in urls:
            assert url.startswith("/") and not url.startswith("//"), url
            response = anonymous.get(url)
            assert response.status_code == 200, (url, response.text[:200])
            assert response.headers["content-type"].startswith(_expected_type(url)), url
            assert len(response.content) > 1000, url
            if "/docs/static/" in url:
                # Versioned URLs: an upgrade of the files names new ones.
                assert "?v=" in url
                assert "immutable" in response.headers["cache-control"]


def test_the_shipped_bundles_are_swagger_ui_and_redoc(server: Server) -> None:
    with server.client(None) as anonymous:
        swagger = anonymous.get("/docs/static/swagger-ui-bundle.js").text
        redoc = anonymous.get("/docs/static/redoc.standalone.js").text
        css = anonymous.get("/docs/static/swagger-ui.css").text
    assert "SwaggerUIBundle" in swagger
    assert "Redoc" in redoc
    assert ".swagger-ui" in css


def test_nothing_else_is_served_from_the_docs_files(server: Server) -> None:
    with server.client(None) as anonymous:
        for name in ("core.py", "..%2Fcore.py", "index.html", "swagger-ui-bundle.js.map"):
            response = anonymous.get(f"/docs/static/{name}")
            assert response.status_code == 404, name
            assert response.headers["content-type"] == "application/problem+json"


def _references_in(node: object) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [ref for value in node.values() for ref in _references_in(value)]
    if isinstance(node, list):
        return [ref for item in node for ref in _references_in(item)]
    return []


def test_every_reference_of_the_openapi_document_resolves(server: Server) -> None:
    """ReDoc renders nothing at all when one reference does not resolve."""
    with server.client(None) as anonymous:
        spec = anonymous.get("/openapi.json").json()
    references = set(_references_in(spec))
    assert len([r for r in references if r.startswith("#/components/schemas/")]) > 10
    for reference in sorted(references):
        assert reference.startswith("#/"), reference
        node = spec
        for token in reference.removeprefix("#/").split("/"):
            assert isinstance(node, dict) and token in node, reference
            node = node[token]
