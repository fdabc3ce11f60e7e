"""Argyle's error bodies, registered for ``/compat/argyle``.

Argyle's API answers as Django REST framework does: ``{"detail": "Invalid
username/password."}`` for a 401 (its documentation's example), ``{"detail": "Not found."}``,
and field errors as lists of messages under the field's name (an unknown document type
as DRF words a bad choice). Ours is that shape plus the
vault's stable ``code``: ``{"detail", "code", <field>: [message, …]}``.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from kycvault.api.problems import Fault
from kycvault.errors import FieldError, KycVaultError, UnknownDocumentType

_DETAILS = {401: "Invalid username/password.", 404: "Not found."}
# Django REST framework's wording for the commonest field errors.
_WORDING = {
    "missing": "This field is required.",
    "required": "This field is required.",
    "file_required": "No file was submitted.",
    "too_many_files": "Max of 1 document per POST request.",
}
# The multipart part Argyle's upload is sent in (the vault's own checks name it ``file``).
_FILE_CODES = frozenset({"file_required"})


def _wording(error: FieldError, cause: KycVaultError | None) -> str:
    if isinstance(cause, UnknownDocumentType):
        return f'"{cause.value}" is not a valid choice.'
    return _WORDING.get(error.code, error.message)


ERROR_SCHEMA: dict[str, Any] = {
    "title": "ArgyleError",
    "type": "object",
    "description": "Django REST framework's body: `detail`, the vault's stable `code`, and "
    "each invalid field's messages under the field's name.",
    "required": ["detail", "code"],
    "properties": {"detail": {"type": "string"}, "code": {"type": "string"}},
    "additionalProperties": {"type": "array", "items": {"type": "string"}},
}


def error_response(request: Request, fault: Fault) -> Response:
    body: dict[str, Any] = {}
    for error in fault.field_errors:
        name = "upload" if error.code in _FILE_CODES else error.field
        body.setdefault(name, []).append(_wording(error, fault.error))
    body["detail"] = _DETAILS.get(fault.status, fault.detail)
    body["code"] = fault.code
    headers = {"WWW-Authenticate": 'Basic realm="kycvault"'} if fault.status == 401 else None
    return JSONResponse(body, status_code=fault.status, headers=headers)
