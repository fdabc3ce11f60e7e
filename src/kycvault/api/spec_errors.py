"""The errors an operation's OpenAPI description lists: the statuses' meanings, the stable
codes each can carry (``kycvault.errors``, ``code`` in every error body), their headers, and
the native API's problem document (RFC 9457, as ``api.problems`` makes it)."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

Schema = dict[str, Any]
REF = "#/components/schemas/"
PROBLEM = "application/problem+json"
# The stable codes each status carries most often (``code``); see kycvault.errors.
CODES: dict[int, tuple[str, ...]] = {
    400: (
        "validation_error",
        "unknown_parameter",
        "nul_character",
        "malformed_multipart",
        "too_many_files",
        "unknown_document_type",
        "mixed_pagination",
        "invalid_cursor",
    ),
    401: ("unauthenticated",),
    403: ("insufficient_scope", "forbidden"),
    404: ("not_found",),
    409: (
        "conflict",
        "idempotency_in_progress",
        "legal_hold",
        "retention_active",
        "too_many_files",
    ),
    410: ("gone",),
    413: ("too_large", "file_too_large"),
    415: ("unsupported_content_type", "unsupported_media_type", "extension_not_allowed"),
    416: ("range_not_satisfiable",),
    422: (
        "idempotency_key_reused",
        "unprocessable_content",
        "content_mismatch",
        "malware_detected",
    ),
    429: ("too_many_requests",),
    500: ("integrity_error",),
    503: ("unavailable",),
}
MEANING: dict[int, str] = {
    400: "The request is malformed or its values are invalid (`errors` names each field).",
    401: "No credentials, or a wrong or revoked API key.",
    403: "The API key lacks the scope this operation needs (`required_scope`).",
    404: "Nothing with this id (another tenant's id gets the same answer).",
    409: "The request clashes with the current state, or its `Idempotency-Key` is in use.",
    410: "The link was used already, or has expired.",
    413: "The body or a file is over its size limit.",
    415: "The body's content type, or a file's type, is not accepted.",
    416: "The requested byte range lies outside the file (`Content-Range: bytes */size`).",
    422: "The content fails its checks, or the `Idempotency-Key` was used with another body.",
    429: "Too many failed authentications from this client; retry after `Retry-After` s.",
    500: "The stored file failed verification and was not served (nothing else is).",
    503: "A dependency (the database, the blob store) is unavailable; retry later.",
}
HEADERS: dict[int, dict[str, Schema]] = {
    401: {
        "WWW-Authenticate": {"description": "the challenge", "schema": {"type": "string"}},
    },
    429: {
        "Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}},
    },
    416: {
        "Content-Range": {"description": "`bytes */<size>`", "schema": {"type": "string"}},
    },
}
FIELD_ERROR: Schema = {
    "title": "FieldError",
    "type": "object",
    "required": ["field", "code", "message"],
    "properties": {
        "field": {"type": "string", "description": "dotted path, e.g. `files.2` or `type`"},
        "code": {"type": "string"},
        "message": {"type": "string"},
    },
}
PROBLEM_SCHEMA: Schema = {
    "title": "Problem",
    "type": "object",
    "description": "An RFC 9457 problem document.",
    "required": ["type", "title", "status", "detail", "code", "request_id"],
    "properties": {
        "type": {"type": "string", "description": "`urn:kycvault:problem:<code>`"},
        "title": {"type": "string", "description": "the status's phrase"},
        "status": {"type": "integer"},
        "detail": {"type": "string", "description": "for people"},
        "code": {"type": "string", "description": "stable, for programs"},
        "errors": {"type": "array", "items": {"$ref": REF + "FieldError"}},
        "request_id": {"type": ["string", "null"]},
        "required_scope": {"type": "string", "description": "with `insufficient_scope`"},
        "retain_until": {
            "type": ["string", "null"],
            "format": "date",
            "description": "with `retention_active`",
        },
        "basis": {"type": "string", "description": "with `retention_active`"},
        "period": {"type": "string", "description": "with `retention_active`"},
        "document_id": {"type": "string", "description": "with `retention_active`"},
    },
}
# Codes only some operations answer: uploads, deletions, listings, the native API's check
# of the query.
_UPLOAD_CODES = frozenset(
    {
        "malformed_multipart",
        "file_too_large",
        "too_many_files",
        "extension_not_allowed",
        "unsupported_media_type",
        "unprocessable_content",
        "content_mismatch",
        "malware_detected",
    }
)
_DELETE_CODES = frozenset({"legal_hold", "retention_active"})
_LIST_CODES = frozenset({"mixed_pagination", "invalid_cursor"})


def codes_of(status: int, method: str, operation: Schema, strict: bool) -> list[str]:
    """The stable codes of ``status`` that this operation can give."""
    left_out: set[str] = set()
    if "multipart/form-data" not in operation.get("requestBody", {}).get("content", {}):
        left_out |= _UPLOAD_CODES
    if method != "delete":
        left_out |= _DELETE_CODES
    if method != "get":
        left_out |= _LIST_CODES
    if not strict:
        left_out.add("unknown_parameter")
    return [code for code in CODES.get(status, ()) if code not in left_out]


def add_error(
    responses: dict[str, Schema], status: int, codes: Iterable[str], body: Schema
) -> None:
    """The error response of ``status`` with its ``codes``, whose body is ``body`` (the API's
    error schema under its media type) unless the route gave one."""
    response = responses.setdefault(str(status), {})
    listed = ", ".join(f"`{code}`" for code in codes)
    described = response.get("description")
    if not described or described in {"Successful Response", "Additional Response"}:
        words = MEANING.get(status, "An error.")
        response["description"] = f"{words} Codes: {listed}." if listed else words
    if "content" not in response:
        response["content"] = copy.deepcopy(body)
    if status in HEADERS:
        response.setdefault("headers", copy.deepcopy(HEADERS[status]))
