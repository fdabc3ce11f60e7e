"""The OpenAPI documents: the native API's at ``/openapi.json`` and each dialect's at
``/compat/<vendor>/openapi.json``.

FastAPI describes one application as one API, and what it infers is not what the routes
answer: it lists a 422 ``HTTPValidationError`` that is never sent (bad input is a 400), no
other error, no security scheme, and one operation id for a GET and its HEAD. So the
documents are built here, from FastAPI's, per API (``ApiSpec``):

- each holds its own paths only: the native one ``/v1`` (the operations endpoints
  ``/healthz``, ``/readyz`` and ``/metrics`` are for the platform, not for integrators, and
  stay out), a dialect's the paths under its prefix;
- each operation lists the errors it can answer, in its API's error body (problem+json on
  the native API, the vendor's envelope on a dialect), from what the route is: every route
  checks its query (400); one that authenticates can refuse the caller (401, 403, 429); one
  with path parameters or a body names something that may not exist (404); a write takes
  an ``Idempotency-Key`` (409 while the first is running, 422 reused with another body); a
  body can be too large (413) or of the wrong type (415); a file can be asked a range it
  does not have (416), or fail its verification (500: it is never served). A route adds
  what only it answers (410 for a used link, …) in its ``responses``;
- its security: the API's schemes, on every operation but the public ones (a download
  token is its own credential);
- operation ids are the route's function name (``_head`` for a HEAD; the API version where
  a dialect serves one function under two), and HEAD answers carry no body;
- generic models get plain names (``PageOut[SubjectOut]`` is ``SubjectPage``), and the main
  native models their examples (``api.examples``);
- a date in a query is described as it is read: an ISO date, or what pydantic also takes for
  one (``body_specs.LENIENT_DATE``).
"""

from __future__ import annotations

import copy
import re
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, get_args

from fastapi import APIRouter, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts

from kycvault.api.body_specs import LENIENT_DATE
from kycvault.api.deps import authenticate, get_context
from kycvault.api.dialects import NATIVE_SCHEMES, Dialect
from kycvault.api.examples import BY_MODEL
from kycvault.api.idempotency import Once
from kycvault.api.routing import STRICT_PREFIX, CheckedRoute
from kycvault.api.spec_errors import (
    FIELD_ERROR,
    PROBLEM,
    PROBLEM_SCHEMA,
    REF,
    add_error,
    codes_of,
)

Schema = dict[str, Any]
WRITES = frozenset({"post", "put", "patch", "delete"})
IDEMPOTENCY_KEY: Schema = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Run this write once: a retry with the same key and body gets the first "
    "answer again (`Idempotent-Replayed: true`).",
    "schema": {"type": "string", "pattern": "^[\\x21-\\x7e]{1,255}$"},
}
REPLAYED: Schema = {
    "Idempotent-Replayed": {
        "description": "`true` on the stored answer to an earlier request with this key",
        "schema": {"type": "string", "enum": ["true"]},
    }
}
RANGE: Schema = {
    "name": "Range",
    "in": "header",
    "required": False,
    "description": "One byte range, `bytes=a-b`, `bytes=a-` or `bytes=-n` (a malformed or "
    "multiple range is ignored: the whole file is served).",
    "schema": {"type": "string"},
}
# The dependency of ``Once``: a write that honours ``Idempotency-Key``.
_ONCE = get_args(Once)[1].dependency
_GENERIC = re.compile(r"^(?P<outer>[A-Za-z]+)_(?P<inner>[A-Za-z]+)_$")
_VERSION = re.compile(r"/(v\d+)/")


@dataclass(frozen=True, slots=True)
class ApiSpec:
    """One API's OpenAPI document: its paths, its security, its error body."""

    title: str
    description: str
    owns: Callable[[str], bool]
    schemes: Mapping[str, Schema]
    security: list[dict[str, list[str]]]
    # Whether an operation takes no credentials.
    public: Callable[[APIRoute], bool]
    error_media_type: str
    error_name: str
    error_schemas: Mapping[str, Schema]
    tags: list[dict[str, Any]] = field(default_factory=list)
    # Examples by the title of the schema they show.
    examples: Mapping[str, Schema] = field(default_factory=dict)


def _calls(dependant: Dependant) -> Iterable[Any]:
    yield dependant.call
    for sub in dependant.dependencies:
        yield from _calls(sub)


def without_credentials(route: APIRoute) -> bool:
    """Whether the route authenticates no caller (by the native credentials)."""
    return authenticate not in set(_calls(route.dependant))


def _routes(app: FastAPI, owns: Callable[[str], bool]) -> list[RouteContext]:
    return [
        context
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute)
        and context.include_in_schema
        and owns(context.path_format or "")
    ]


def native(app: FastAPI) -> ApiSpec:
    return ApiSpec(
        title=app.title,
        description=app.description,
        owns=lambda path: path.startswith(STRICT_PREFIX),
        schemes=NATIVE_SCHEMES,
        security=[{"bearerAuth": []}, {"basicAuth": []}],
        public=without_credentials,
        error_media_type=PROBLEM,
        error_name="Problem",
        error_schemas={"Problem": PROBLEM_SCHEMA, "FieldError": FIELD_ERROR},
        tags=list(app.openapi_tags or []),
        examples=BY_MODEL,
    )


def of_dialect(dialect: Dialect) -> ApiSpec:
    spec = dialect.spec
    return ApiSpec(
        title=f"kycvault: {dialect.title} dialect",
        description=f"{dialect.title}'s API as kycvault serves it. {dialect.description}",
        owns=dialect.owns,
        schemes=spec.schemes,
        security=spec.security,
        public=lambda route: route.name in spec.public,
        error_media_type="application/json",
        error_name=spec.error_name,
        error_schemas=spec.error_schemas,
        tags=[{"name": dialect.tag, "description": dialect.description}],
    )


def build(app: FastAPI, api: ApiSpec) -> dict[str, Any]:
    routes = _routes(app, api.owns)
    with warnings.catch_warnings():
        # FastAPI gives a GET and its HEAD one id, and says so; the ids are made here.
        warnings.filterwarnings("ignore", "Duplicate Operation ID", UserWarning)
        spec = get_openapi(
            title=api.title,
            version=app.version,
            description=api.description,
            routes=routes,
            tags=api.tags or None,
        )
    by_operation = {
        (context.path_format, method.lower()): context.original_route
        for context in routes
        for method in context.methods or ()
    }
    schemas: dict[str, Schema] = spec.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    schemas.update(copy.deepcopy(dict(api.error_schemas)))
    spec["components"]["securitySchemes"] = copy.deepcopy(dict(api.schemes))
    names = [getattr(r, "name", "") for r in {id(r): r for r in by_operation.values()}.values()]
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            route = by_operation[(path, method)]
            assert isinstance(route, APIRoute)
            _refine(api, path, method, operation, route, repeated=names.count(route.name) > 1)
    if api.examples:
        _add_examples(spec, api.examples)
    return _plain_names(spec)


def _add_examples(node: Any, examples: Mapping[str, Schema]) -> None:
    """Each model's example on its schemas (by title): the component, and any inlined copy."""
    if isinstance(node, dict):
        title = node.get("title")
        if isinstance(title, str) and title in examples and "properties" in node:
            node["examples"] = [copy.deepcopy(examples[title])]
        for value in node.values():
            _add_examples(value, examples)
    elif isinstance(node, list):
        for item in node:
            _add_examples(item, examples)


def _refine(
    api: ApiSpec, path: str, method: str, operation: Schema, route: APIRoute, *, repeated: bool
) -> None:
    name = route.name
    if repeated and (version := _VERSION.search(path)):
        name += f"_{version.group(1)}"
    operation["operationId"] = name + ("_head" if method == "head" else "")
    responses: dict[str, Schema] = operation["responses"]
    if responses.get("422", {}).get("description") == "Validation Error":
        del responses["422"]
    public = api.public(route)
    if method in WRITES and _ONCE in set(_calls(route.dependant)):
        operation.setdefault("parameters", []).append(copy.deepcopy(IDEMPOTENCY_KEY))
        for code, answer in responses.items():
            if code.startswith("2"):
                answer.setdefault("headers", {}).update(copy.deepcopy(REPLAYED))
    operation.setdefault("security", [] if public else copy.deepcopy(api.security))
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "query":
            parameter["schema"] = _query_dates(parameter["schema"])
    statuses = _statuses(path, method, operation, route, public)
    if method == "head":
        # The headers of the GET: no body, and no range is served.
        statuses = [s for s in statuses if s not in (416, 500)]
        responses.pop("206", None)
        operation["summary"] = operation.get("summary", "") + " (headers only)"
    if 416 in statuses:
        operation.setdefault("parameters", []).append(copy.deepcopy(RANGE))
    error_body = {api.error_media_type: {"schema": {"$ref": REF + api.error_name}}}
    strict = path.startswith(STRICT_PREFIX)
    for status in statuses:
        add_error(responses, status, codes_of(status, method, operation, strict), error_body)
    if method == "head":
        for response in responses.values():
            response.pop("content", None)


def _query_dates(schema: Schema) -> Schema:
    if schema.get("format") == "date":
        return {
            **copy.deepcopy(LENIENT_DATE),
            **{k: v for k, v in schema.items() if k not in {"type", "format"}},
        }
    if "anyOf" in schema:
        return {**schema, "anyOf": [_query_dates(s) for s in schema["anyOf"]]}
    return schema


def _statuses(
    path: str, method: str, operation: Schema, route: APIRoute, public: bool
) -> list[int]:
    calls = set(_calls(route.dependant))
    body = operation.get("requestBody", {}).get("content", {})
    statuses = {400}
    if not public:
        statuses |= {401, 403, 429}
    if "{" in path or body:
        # What the path or the body names may not exist (a subject, a user, an entity).
        statuses.add(404)
    if method in WRITES and _ONCE in calls:
        statuses |= {409, 422}
    if body:
        statuses |= {413, 415}
    if "multipart/form-data" in body:
        statuses.add(422)
    ranges = any("*/*" in r.get("content", {}) for r in operation["responses"].values())
    if ranges:
        # A stored file whose first frame fails verification is refused before any byte.
        statuses |= {416, 500}
    if get_context in calls:
        statuses.add(503)
    statuses |= {int(s) for s in operation["responses"] if str(s).isdigit() and int(s) >= 400}
    return sorted(statuses)


def _plain_names(spec: dict[str, Any]) -> dict[str, Any]:
    """``PageOut_SubjectOut_`` → ``SubjectPage`` (FastAPI's names for generic models)."""
    schemas: dict[str, Schema] = spec["components"]["schemas"]
    renamed: dict[str, str] = {}
    for name in schemas:
        match = _GENERIC.match(name)
        if match:
            inner = match["inner"].removesuffix("Out")
            outer = match["outer"].removesuffix("Out").removesuffix("Page") or "Page"
            renamed[name] = inner + ("Page" if match["outer"] == "PageOut" else outer)
            if match["outer"] == "NumberedPageOut":
                renamed[name] = inner + "NumberedPage"
            elif match["outer"] == "ListOut":
                renamed[name] = inner + "List"
    assert len(set(renamed.values())) == len(renamed), renamed
    assert not set(renamed.values()) & set(schemas), renamed
    refs = {REF + old: REF + new for old, new in renamed.items()}

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                key: refs.get(value, value) if key == "$ref" else walk(value)
                for key, value in node.items()
            }
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    out: dict[str, Any] = walk(spec)
    out["components"]["schemas"] = {
        renamed.get(name, name): schema for name, schema in out["components"]["schemas"].items()
    }
    for new in renamed.values():
        out["components"]["schemas"][new]["title"] = new
    return out


def install(app: FastAPI, dialects: Iterable[Dialect]) -> None:
    """Serve the documents: the native one as ``app.openapi()`` (``/openapi.json``, which
    /docs and /redoc show), each dialect's at ``<prefix>/openapi.json``."""
    built: dict[str, dict[str, Any]] = {}

    def cached(key: str, make: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        if key not in built:
            built[key] = make()
        return built[key]

    def native_spec() -> dict[str, Any]:
        return cached("", lambda: build(app, native(app)))

    app.openapi = native_spec  # type: ignore[method-assign]
    router = APIRouter(include_in_schema=False, route_class=CheckedRoute)
    for dialect in dialects:
        router.add_api_route(
            f"{dialect.prefix}/openapi.json", _server(dialect, cached, app), methods=["GET"]
        )
    app.include_router(router)


def _server(
    dialect: Dialect,
    cached: Callable[[str, Callable[[], dict[str, Any]]], dict[str, Any]],
    app: FastAPI,
) -> Callable[[], Any]:
    async def serve() -> JSONResponse:
        return JSONResponse(cached(dialect.prefix, lambda: dialect_spec(app, dialect)))

    return serve


def dialect_spec(app: FastAPI, dialect: Dialect) -> dict[str, Any]:
    """A dialect's document (as served at ``<prefix>/openapi.json``)."""
    return build(app, of_dialect(dialect))


def documents(app: FastAPI, dialects: Iterable[Dialect]) -> dict[str, dict[str, Any]]:
    """Every document, by the path it is served at."""
    served = {"/openapi.json": app.openapi()}
    for dialect in dialects:
        served[f"{dialect.prefix}/openapi.json"] = dialect_spec(app, dialect)
    return served
