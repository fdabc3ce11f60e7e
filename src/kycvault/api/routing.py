"""``CheckedRoute``: the route class of every router, checking what FastAPI reads for a route
before the route sees it.

- On the native API (``/v1``), a query parameter the route does not declare (itself or in
  its dependencies) is a 400 (``unknown_parameter``) naming it: a misspelt filter would
  otherwise be ignored, and a wider answer look filtered. The dialects under ``/compat``
  keep their vendors' behaviour (those APIs ignore what they do not know), and the console
  its own; so a ``/v1`` route must declare every parameter it reads.
- A NUL character in a query parameter is a 400 (``nul_character``). (Path parameters are
  left to the route: such a path names nothing, and gets the 404 of any unknown id or token,
  so that a tampered download token is not told apart from an unknown one.)
- A JSON body that FastAPI parses for a body parameter goes through ``client_input.load_json``
  instead of ``json.loads`` (which knows no depth limit and reads ``NaN`` and ``1e400``). It
  is parsed here, before FastAPI's own body handling, so that a refusal reaches the
  exception handlers and is worded in the route's envelope (FastAPI would turn any error of
  its parser into a bare "There was an error parsing the body").
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import params
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope

from kycvault.api.client_input import check_text, load_json
from kycvault.errors import FieldError, InvalidInput

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class _StrictJsonRequest(Request):
    """A request whose ``json()`` is ``load_json`` (parsed once, then kept)."""

    _strict_json: Any

    async def json(self) -> Any:
        if not hasattr(self, "_strict_json"):
            self._strict_json = load_json(await self.body())
        return self._strict_json


def is_json_content(content_type: str | None) -> bool:
    """The content types FastAPI reads as JSON: ``application/json`` and ``application/*+json``."""
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    main, _, sub = kind.partition("/")
    return main == "application" and (sub == "json" or sub.endswith("+json"))


def check_query(request: Request) -> None:
    for name, value in request.query_params.multi_items():
        check_text(name, name)
        check_text(value, name)


STRICT_PREFIX = "/v1/"


def declared_query(dependant: Dependant) -> list[str]:
    """The query parameters a route reads: its own and its dependencies', by the name a
    client sends (the alias), in the order declared."""
    names: list[str] = []
    for field in dependant.query_params:
        model = field.field_info.annotation
        if isinstance(model, type) and issubclass(model, BaseModel):
            # A parameter model: each of its fields is a parameter.
            names += [f.alias or name for name, f in model.model_fields.items()]
        else:
            names.append(field.alias)
    for sub in dependant.dependencies:
        names += declared_query(sub)
    return list(dict.fromkeys(names))


def check_known(request: Request, known: list[str]) -> None:
    unknown = sorted(set(request.query_params) - set(known))
    if unknown:
        listed = f"known: {', '.join(known)}" if known else "this route takes none"
        raise InvalidInput(
            f"unknown query parameter(s): {', '.join(unknown)} ({listed})",
            code="unknown_parameter",
            errors=[
                FieldError(name, "unknown_parameter", "not a parameter here") for name in unknown
            ],
        )


def allowed_methods(scope: Scope) -> str:
    """The ``Allow`` header of a 405: every method of the request's path (the router
    answers with the methods of the first route that matched only). Where templates
    overlap (``…/documents/upload/`` and ``…/documents/{document_id}/``), the path is the
    one with the fewest parameters, as the OpenAPI document lists its methods."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path.removeprefix(root)
    by_parameters: dict[int, set[str]] = {}
    for route in iter_route_contexts(scope["app"].routes):
        regex = getattr(route, "path_regex", None)
        if route.methods and regex is not None and regex.match(path):
            parameters = (route.path_format or "").count("{")
            by_parameters.setdefault(parameters, set()).update(route.methods)
    return ", ".join(sorted(by_parameters[min(by_parameters)])) if by_parameters else ""


class CheckedRoute(APIRoute):
    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()
        body = self.body_field
        reads_json = body is not None and not isinstance(body.field_info, params.Form)
        known = declared_query(self.dependant)

        async def checked(request: Request) -> Response:
            check_query(request)
            # By the path served, not the route's own: a router included under a prefix
            # (a dialect's) has routes whose own paths do not say where they are served.
            if request.url.path.startswith(STRICT_PREFIX):
                check_known(request, known)
            if not reads_json:
                return await handler(request)
            strict = _StrictJsonRequest(request.scope, request.receive)
            if is_json_content(request.headers.get("content-type")) and await strict.body():
                await strict.json()
            return await handler(strict)

        return checked
