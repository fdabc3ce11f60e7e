"""Pure ASGI middleware (no ``BaseHTTPMiddleware``, which would buffer streamed bodies).

``RequestMiddleware`` gives every request an id, enforces a body-size limit as bytes arrive,
adds the headers every response must carry, and writes one access-log line naming the route
*template* (never the raw path or query, which may carry tokens) with status and duration.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import structlog
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kycvault import crashpoints
from kycvault.api.problems import http_problem, internal_error
from kycvault.services import metrics, tracing

log = structlog.get_logger("kycvault.access")

BODY_LIMIT_KEY = "kycvault.body_limit"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_HTML_PATHS = ("/docs", "/redoc")
_DEFAULT_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'; sandbox",
    "cross-origin-resource-policy": "same-origin",
}


class BodyTooLarge(HTTPException):
    code = "body_too_large"

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")


def set_body_limit(scope: Scope, limit: int | None) -> None:
    """Let a route that streams its body raise (or lift) the default JSON-sized limit."""
    scope[BODY_LIMIT_KEY] = limit


class RequestMiddleware:
    def __init__(self, app: ASGIApp, *, default_body_limit: int) -> None:
        self.app = app
        self.default_body_limit = default_body_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        offered = headers.get("x-request-id", "")
        request_id = offered if _REQUEST_ID.match(offered) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        bound = tracing.bind_request(request_id)  # its log lines and queued jobs carry it
        crashpoints.arm_request(headers.get(crashpoints.HEADER))
        scope[BODY_LIMIT_KEY] = self.default_body_limit
        content_length = _content_length(headers.get("content-length"))
        received = sent = 0
        started = time.perf_counter()
        status = 0
        html = scope["path"].startswith(_HTML_PATHS)

        async def limited_receive() -> Message:
            nonlocal received
            limit = scope.get(BODY_LIMIT_KEY)
            if limit is not None and content_length is not None and content_length > limit:
                raise BodyTooLarge(limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if limit is not None and received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def send_with_headers(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = message["status"]
                response_headers = MutableHeaders(scope=message)
                response_headers["x-request-id"] = request_id
                for name, value in _DEFAULT_HEADERS.items():
                    if html and name == "content-security-policy":
                        continue
                    if name not in response_headers:
                        response_headers[name] = value
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_headers)
        except HTTPException as exc:
            # Raised outside a route's exception handling (e.g. the body limit while a
            # streaming route reads): still a clean problem document.
            if status:
                raise
            await http_problem(exc, request_id)(scope, receive, send_with_headers)
        except Exception as exc:
            # A bug. Answer it here rather than let Starlette's ServerErrorMiddleware answer
            # and re-raise, which makes the server drop the client's keep-alive connection.
            # Once a response has started, re-raising is the only honest way to end it.
            log.exception("unhandled_error", error_type=type(exc).__name__, request_id=request_id)
            if status:
                raise
            await internal_error(request_id)(scope, receive, send_with_headers)
        finally:
            template = route_template(scope)
            seconds = time.perf_counter() - started
            metrics.observe_request(scope["method"], template, status, seconds, received, sent)
            log.info(
                "request",
                method=scope["method"],
                route=template,
                status=status,
                duration_ms=round(seconds * 1000, 2),
                request_id=request_id,
                received_bytes=received,
            )
            tracing.unbind_request(bound)


def route_template(scope: Scope) -> str:
    """The matched route's template (``/v1/documents/{document_id}``), never the path."""
    route: Any = scope.get("route")
    return getattr(route, "path", None) or "(unmatched)"


def _content_length(value: str | None) -> int | None:
    if value is None or not value.isdigit():
        return None
    return int(value)
