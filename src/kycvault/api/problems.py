"""Errors as RFC 9457 problem documents, mapped in this one place.

Body: ``{"type", "title", "status", "detail", "code", "errors"?, "request_id"}`` with
``Content-Type: application/problem+json``. ``code`` is stable and meant for programs;
``detail`` is for people. A 404 for an unknown id and for another tenant's id are identical.
A 403 ``insufficient_scope`` also names the scope the key lacks in ``required_scope``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Protocol

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from kycvault import errors
from kycvault.api.routing import allowed_methods

log = structlog.get_logger("kycvault.api")

STATUS: dict[type[errors.KycVaultError], int] = {
    errors.InvalidInput: 400,
    errors.AuthenticationFailed: 401,
    errors.PermissionDenied: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.Gone: 410,
    errors.PayloadTooLarge: 413,
    errors.UnsupportedMediaType: 415,
    errors.UnprocessableContent: 422,
    errors.TooManyRequests: 429,
    errors.IntegrityFailure: 500,
    errors.Unavailable: 503,
}
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "too_large",
    415: "unsupported_media_type",
}


class ProblemResponse(JSONResponse):
    media_type = "application/problem+json"


@dataclass(frozen=True, slots=True)
class Fault:
    """An error to answer: our status, stable code and words, and the exception it came
    from (None for HTTP-level errors), for an envelope that words a failure as its vendor
    does."""

    status: int
    code: str
    detail: str
    field_errors: Sequence[errors.FieldError] = ()
    error: errors.KycVaultError | None = None


class Envelope(Protocol):
    """How a dialect words an error (its vendor's body); the status and code are ours."""

    def __call__(self, request: Request, fault: Fault) -> Response: ...


def use_envelope(app: FastAPI, prefix: str, envelope: Envelope) -> None:
    """Word the errors of every path under ``prefix`` with ``envelope`` (a dialect's)."""
    _envelopes(app)[prefix] = envelope


def under(prefix: str, path: str) -> bool:
    """Whether ``path`` is ``prefix`` or below it."""
    return path == prefix or path.startswith(prefix + "/")


def _envelopes(app: Any) -> dict[str, Envelope]:
    table = getattr(app.state, "envelopes", None)
    if not isinstance(table, dict):
        table = app.state.envelopes = {}
    return table


def _render(
    request: Request, fault: Fault, *, headers: Mapping[str, str] | None = None
) -> Response:
    path = request.url.path
    for prefix, envelope in _envelopes(request.app).items():
        if under(prefix, path):
            response = envelope(request, fault)
            # A header the envelope set wins: it may word the challenge as its vendor does
            # (``WWW-Authenticate: Basic`` for a Basic-auth API).
            for name, value in (headers or {}).items():
                if name not in response.headers:
                    response.headers[name] = value
            return response
    return problem(
        fault.status,
        fault.code,
        fault.detail,
        request_id=_request_id(request),
        field_errors=fault.field_errors,
        headers=headers,
        members=_members(fault.error),
    )


def _members(error: errors.KycVaultError | None) -> dict[str, Any]:
    """The members a problem of this error carries besides the standard ones."""
    if isinstance(error, errors.InsufficientScope):
        return {"required_scope": error.scope}
    if isinstance(error, errors.RetentionActive):
        until = error.retain_until
        return {
            "retain_until": until.isoformat() if until is not None else None,
            "basis": error.basis,
            "period": error.period,
            "document_id": error.document_id,
        }
    return {}


def status_for(exc: errors.KycVaultError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    request_id: str | None = None,
    field_errors: Iterable[errors.FieldError] = (),
    headers: Mapping[str, str] | None = None,
    members: Mapping[str, Any] | None = None,
) -> ProblemResponse:
    body: dict[str, Any] = {
        "type": f"urn:kycvault:problem:{code}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
        **(members or {}),
    }
    listed = [{"field": e.field, "code": e.code, "message": e.message} for e in field_errors]
    if listed:
        body["errors"] = listed
    body["request_id"] = request_id
    return ProblemResponse(body, status_code=status, headers=dict(headers or {}))


def _loc(loc: Sequence[int | str]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header", "form"}:
        parts = parts[1:]
    return ".".join(parts) or "body"


def validation_errors(exc: ValidationError | RequestValidationError) -> list[errors.FieldError]:
    listed = []
    for err in exc.errors():
        code = str(err.get("type", "invalid"))
        message = str(err.get("msg", "invalid value"))
        # For unparsable JSON the location ends in a character offset, not a field.
        field = "body" if code == "json_invalid" else _loc(err.get("loc", ()))
        listed.append(errors.FieldError(field, code, message))
    return listed


def validation_problem(request: Request, exc: ValidationError | RequestValidationError) -> Response:
    listed = validation_errors(exc)
    detail = "; ".join(f"{e.field}: {e.message}" for e in listed[:5]) or "invalid request"
    return _render(request, Fault(400, "validation_error", detail, listed))


def install(app: FastAPI) -> None:
    @app.exception_handler(errors.KycVaultError)
    async def _domain(request: Request, exc: errors.KycVaultError) -> Response:
        status = status_for(exc)
        headers: dict[str, str] | None = None
        if status == 401:
            headers = {"WWW-Authenticate": 'Bearer realm="kycvault"'}
        if isinstance(exc, errors.TooManyRequests):
            headers = {"Retry-After": str(exc.retry_after)}
        if status >= 500:
            log.error("request_failed", code=exc.code, detail=exc.detail)
        return _render(
            request, Fault(status, exc.code, exc.detail, exc.errors, exc), headers=headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        return validation_problem(request, exc)

    @app.exception_handler(ValidationError)
    async def _pydantic(request: Request, exc: ValidationError) -> Response:
        return validation_problem(request, exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = getattr(exc, "code", None) or _HTTP_CODES.get(exc.status_code, "http_error")
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        headers = exc.headers
        if exc.status_code == 405:
            headers = {**(headers or {}), "Allow": allowed_methods(request.scope)}
        return _render(request, Fault(exc.status_code, code, detail), headers=headers)


def http_problem(exc: StarletteHTTPException, request_id: str | None) -> ProblemResponse:
    """Starlette's and our own HTTP-level exceptions (routing, body limits, ranges)."""
    code = getattr(exc, "code", None) or _HTTP_CODES.get(exc.status_code, "http_error")
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    return problem(exc.status_code, code, detail, request_id=request_id, headers=exc.headers)


def internal_error(request_id: str | None) -> ProblemResponse:
    """The answer to a bug: no detail leaks, the request id ties it to the log line."""
    return problem(500, "internal_error", "an unexpected error occurred", request_id=request_id)


def _request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)
