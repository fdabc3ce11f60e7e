"""KYC Genie's error bodies, for ``/compat/kycgenie``.

v1 answers with the bodies of KYC Genie's documentation: field errors as
``{"file": ["File type not allowed. Allowed types: .pdf, …"]}``, ``{"detail": "Not found."}``,
``{"error": "Cannot delete document.", "details": {"reason": …}}``. v2 answers with the
envelope its SDK parses into typed errors, ``{"error", "code", "request_id", "errors"?,
"details"}``, where ``code`` is KYC Genie's (``validation_error``, ``not_found``, …) and
``details.code`` the vault's stable one; the v1 body's keys are kept in it too, so a client
written against either shape reads it. Bad files are 400s here, as KYC Genie has them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from kycvault.api.compat.kycgenie.common import ALLOWED_TYPES, MAX_FILE_SIZE_TEXT, version_of
from kycvault.api.problems import Fault
from kycvault.errors import FieldError

NOT_FOUND = "Not found."
TYPE_NOT_ALLOWED = "File type not allowed. Allowed types: " + ", ".join(
    f".{ext}" for ext in ALLOWED_TYPES
)
TOO_LARGE = f"File size exceeds maximum allowed size of {MAX_FILE_SIZE_TEXT}"
CANNOT_DELETE = "Cannot delete document."
REFERENCED = "This document is referenced in one or more responses."
UPLOAD_FAILED = "File upload failed."

# What the vault says about a file → KYC Genie's message (None: the vault's own words).
_FILE_ERRORS: dict[str, str | None] = {
    "extension_not_allowed": TYPE_NOT_ALLOWED,
    "markup_not_allowed": TYPE_NOT_ALLOWED,
    "unsupported_media_type": TYPE_NOT_ALLOWED,
    "file_too_large": TOO_LARGE,
    "empty_file": "The submitted file is empty.",
    "file_required": "No file was submitted.",
    "content_mismatch": None,
}
# Django REST framework's wording for the commonest field errors.
_FIELD_WORDING = {"missing": "This field is required.", "required": "This field is required."}
_CODES = {
    400: "validation_error",
    401: "authentication_failed",
    403: "permission_denied",
    404: "not_found",
    409: "conflict",
    # A used or expired download token no longer names a file.
    410: "not_found",
    429: "rate_limited",
}


ERROR_SCHEMA: dict[str, Any] = {
    "title": "KycGenieError",
    "type": "object",
    "description": "v2: `error`, KYC Genie's `code`, `request_id`, `details` (with the "
    "vault's stable code in `details.code`) and field `errors`. v1: KYC Genie's documented "
    "bodies, `{detail}`, `{error, details}`, or each invalid field's messages under its name.",
    "properties": {
        "error": {"type": "string"},
        "code": {"type": "string"},
        "request_id": {"type": ["string", "null"]},
        "detail": {"type": "string"},
        "details": {
            "type": "object",
            "properties": {"reason": {"type": "string"}, "code": {"type": "string"}},
        },
        "errors": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
}


@dataclass
class _Fault:
    status: int
    code: str
    message: str
    legacy: dict[str, Any]
    fields: dict[str, list[str]] = field(default_factory=dict)
    reason: str | None = None


def _fields(field_errors: Sequence[FieldError]) -> dict[str, list[str]]:
    worded: dict[str, list[str]] = {}
    for error in field_errors:
        worded.setdefault(error.field, []).append(_FIELD_WORDING.get(error.code, error.message))
    return worded


def _fault(status: int, code: str, detail: str, field_errors: Sequence[FieldError]) -> _Fault:
    if code in _FILE_ERRORS:
        message = _FILE_ERRORS[code] or detail
        return _Fault(400, "validation_error", message, {"file": [message]}, {"file": [message]})
    if code == "document_in_use":
        legacy = {"error": CANNOT_DELETE, "details": {"reason": REFERENCED}}
        return _Fault(400, "invalid_request", CANNOT_DELETE, legacy, reason=REFERENCED)
    if code == "storage_unavailable":
        legacy = {"error": UPLOAD_FAILED, "details": {"reason": detail}}
        return _Fault(500, "server_error", UPLOAD_FAILED, legacy, reason=detail)
    if status == 404:
        return _Fault(404, "not_found", NOT_FOUND, {"detail": NOT_FOUND})
    fields = _fields(field_errors)
    if fields:
        return _Fault(status, _CODES.get(status, "validation_error"), detail, dict(fields), fields)
    kind = _CODES.get(status) or ("server_error" if status >= 500 else "invalid_request")
    return _Fault(status, kind, detail, {"detail": detail, "code": code})


def error_response(request: Request, fault: Fault) -> Response:
    status, code, detail = fault.status, fault.code, fault.detail
    worded = _fault(status, code, detail, fault.field_errors)
    if version_of(request) == "v1":
        return JSONResponse(worded.legacy, status_code=worded.status)
    body: dict[str, Any] = {
        **worded.legacy,
        "error": worded.message,
        "code": worded.code,
        "request_id": getattr(request.state, "request_id", None),
        "details": {"reason": worded.reason or detail, "code": code},
    }
    if worded.fields:
        body["errors"] = worded.fields
    return JSONResponse(body, status_code=worded.status)
