"""Every answer a test's client gets, checked against the server's own OpenAPI documents: its
status is one the operation lists, its content type one the response lists, and a JSON body
matches the response's schema. A test module turns it on with
``pytestmark = pytest.mark.usefixtures("responses_conform")`` (tests/conftest.py), or a
fixture of its own with ``conforming(server)``; answers to
what no document describes (an unknown path, a method the path lacks, the console) are left
alone, as are the bodies of files."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx2
from openapi_schema_validator import OAS31Validator

from kycvault.api.compat import DIALECTS
from tests.helpers import Server

DOCUMENTS = ("/openapi.json", *(f"{d.prefix}/openapi.json" for d in DIALECTS))
_PARAMETER = re.compile(r"\{[^}]+\}")


@dataclass(frozen=True, slots=True)
class _Operation:
    template: str
    pattern: re.Pattern[str]
    parameters: int
    operation: dict[str, Any]
    components: dict[str, Any]


@dataclass
class Conformance:
    """The documents of one server, and the answers checked against them so far."""

    operations: dict[str, list[_Operation]] = field(default_factory=dict)
    checked: int = 0
    _validators: dict[int, OAS31Validator] = field(default_factory=dict)

    @classmethod
    def of(cls, client: httpx2.Client) -> Conformance:
        conformance = cls()
        for url in DOCUMENTS:
            spec = client.get(url).json()
            for template, item in spec["paths"].items():
                parts = _PARAMETER.split(template)
                regex = re.compile("[^/]+".join(re.escape(part) for part in parts))
                for method, operation in item.items():
                    conformance.operations.setdefault(method.upper(), []).append(
                        _Operation(
                            template,
                            regex,
                            template.count("{"),
                            operation,
                            spec["components"],
                        )
                    )
        return conformance

    def _operation(self, method: str, path: str) -> _Operation | None:
        matching = [op for op in self.operations.get(method, []) if op.pattern.fullmatch(path)]
        return min(matching, key=lambda op: op.parameters) if matching else None

    def _validator(self, schema: dict[str, Any], components: dict[str, Any]) -> OAS31Validator:
        key = id(schema)
        if key not in self._validators:
            # The schema's references point into the document's components.
            self._validators[key] = OAS31Validator(
                {**schema, "components": components}, format_checker=OAS31Validator.FORMAT_CHECKER
            )
        return self._validators[key]

    def check(self, response: httpx2.Response) -> None:
        request = response.request
        found = self._operation(request.method, request.url.path)
        if found is None:
            return
        where = f"{request.method} {request.url.path} ({found.template}) -> {response.status_code}"
        responses = found.operation["responses"]
        documented = responses.get(str(response.status_code)) or responses.get("default")
        assert documented is not None, f"{where}: status not in the document"
        if request.method == "HEAD" or response.status_code in (204, 304):
            return
        media_type = response.headers.get("content-type", "").split(";", 1)[0].strip()
        content = documented.get("content")
        if not content:
            response.read()
            assert not response.content, f"{where}: a body the document does not describe"
            return
        described = content.get(media_type if media_type in content else "*/*")
        assert described is not None, f"{where}: {media_type} is not among {sorted(content)}"
        if "schema" not in described or not (
            media_type == "application/json" or media_type.endswith("+json")
        ):
            return
        response.read()
        self._validator(described["schema"], found.components).validate(response.json())
        self.checked += 1


# Read once: every server of this code serves the same documents (no setting changes them).
_CONFORMANCE: list[Conformance] = []


@contextmanager
def conforming(server: Server) -> Iterator[Conformance]:
    """Within the block, every answer a client of ``server`` gets is checked against the
    server's OpenAPI documents (tests/spec_conformance.py)."""
    if not _CONFORMANCE:
        with server.client(None) as reader:
            _CONFORMANCE.append(Conformance.of(reader))
    conformance = _CONFORMANCE[0]
    server.response_hooks.append(conformance.check)
    try:
        yield conformance
    finally:
        server.response_hooks.remove(conformance.check)
