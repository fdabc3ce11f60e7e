"""``CheckedRoute``: the route class of every router, checking what FastAPI reads for a route
before the route sees it.

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
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from kycvault.api.client_input import check_text, load_json

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


class CheckedRoute(APIRoute):
    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()
        body = self.body_field
        reads_json = body is not None and not isinstance(body.field_info, params.Form)

        async def checked(request: Request) -> Response:
            check_query(request)
            if not reads_json:
                return await handler(request)
            strict = _StrictJsonRequest(request.scope, request.receive)
            if is_json_content(request.headers.get("content-type")) and await strict.body():
                await strict.json()
            return await handler(strict)

        return checked
