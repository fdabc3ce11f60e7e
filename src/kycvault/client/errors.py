"""The exceptions the client raises: one base, ``KycVaultError``, and a class per HTTP status
family, each carrying the server's problem document (RFC 9457) as attributes.

``code`` is the server's stable, machine-readable reason (``unknown_document_type``,
``legal_hold``, ``insufficient_scope``…): branch on it, not on ``detail``, which is for people.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class FieldError:
    """One entry of a problem's ``errors``: which input was wrong, and why."""

    field: str
    code: str
    message: str


class KycVaultError(Exception):
    """Anything the client could not do. ``status`` is None when no answer came."""

    status: int | None = None
    default_code = "error"

    def __init__(
        self,
        detail: str,
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        errors: list[FieldError] | None = None,
        body: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if status is not None:
            self.status = status
        self.code = code or self.default_code
        self.request_id = request_id
        self.errors = errors or []
        self.body: Mapping[str, Any] = body or {}
        self.headers: Mapping[str, str] = headers or {}

    def __str__(self) -> str:
        where = f"{self.status} " if self.status is not None else ""
        return f"{where}{self.code}: {self.detail}"


class APIConnectionError(KycVaultError):
    """No answer: the connection failed or broke (after the retries the request allowed)."""

    default_code = "connection_error"


class APITimeoutError(APIConnectionError):
    default_code = "timeout"


class APIStatusError(KycVaultError):
    """The server answered with an error status."""

    status: int


class ValidationError(APIStatusError):
    """400: the request was malformed or invalid; 422: its content failed validation."""


class AuthenticationError(APIStatusError):
    """401: no API key, or a wrong, revoked or expired one."""


class PermissionDeniedError(APIStatusError):
    """403: the key lacks a scope (``required_scope`` names it)."""

    @property
    def required_scope(self) -> str | None:
        scope = self.body.get("required_scope")
        return scope if isinstance(scope, str) else None


class NotFoundError(APIStatusError):
    """404: no such id in this tenant (another tenant's id answers the same)."""


class ConflictError(APIStatusError):
    """409: the state forbids it (``legal_hold``, ``retention_active``, ``document_in_use``…)."""


class GoneError(APIStatusError):
    """410: a download link used already or expired."""


class PayloadTooLargeError(APIStatusError):
    """413."""


class UnsupportedMediaTypeError(APIStatusError):
    """415: a file type the vault refuses."""


class RangeNotSatisfiableError(APIStatusError):
    """416."""


class RateLimitError(APIStatusError):
    """429: too many requests; ``retry_after`` says how many seconds to wait, if known."""

    @property
    def retry_after(self) -> float | None:
        return parse_retry_after(self.headers.get("retry-after"))


class ServerError(APIStatusError):
    """5xx."""


class ServiceUnavailableError(ServerError):
    """503: the server is starting, stopping or overloaded: try again later."""


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: ValidationError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    410: GoneError,
    413: PayloadTooLargeError,
    415: UnsupportedMediaTypeError,
    416: RangeNotSatisfiableError,
    422: ValidationError,
    429: RateLimitError,
    503: ServiceUnavailableError,
}


def error_class(status: int) -> type[APIStatusError]:
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    return ServerError if status >= 500 else APIStatusError


def from_response(status: int, headers: Mapping[str, str], content: bytes) -> APIStatusError:
    """The exception for an error answer: its problem document's members where it has one,
    else the first characters of whatever it said."""
    body: dict[str, Any] = {}
    try:
        parsed = json.loads(content) if content else {}
        if isinstance(parsed, dict):
            body = parsed
    except ValueError:
        pass
    detail = body.get("detail")
    if not isinstance(detail, str):
        detail = content[:200].decode("utf-8", "replace") or f"HTTP {status}"
    code = body.get("code")
    request_id = body.get("request_id") or headers.get("x-request-id")
    listed = body.get("errors")
    field_errors = [
        FieldError(str(e.get("field", "")), str(e.get("code", "")), str(e.get("message", "")))
        for e in (listed if isinstance(listed, list) else [])
        if isinstance(e, dict)
    ]
    return error_class(status)(
        detail,
        status=status,
        code=code if isinstance(code, str) else f"http_{status}",
        request_id=request_id if isinstance(request_id, str) else None,
        errors=field_errors,
        body=body,
        headers=dict(headers),
    )


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` in seconds: a number of seconds, or an HTTP date (RFC 9110)."""
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))
