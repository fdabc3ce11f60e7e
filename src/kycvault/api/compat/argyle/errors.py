"""Argyle's error bodies, registered for ``/compat/argyle``.

Argyle's API answers as Django REST framework does: ``{"detail": "Invalid
username/password."}`` for a 401 (its documentation's example), ``{"detail": "Not found."}``,
and field errors as lists of messages under the field's name. Ours is that shape plus the
vault's stable ``code``: ``{"detail", "code", <field>: [message, …]}``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from kycvault.errors import FieldError

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


def error_response(
    request: Request, status: int, code: str, detail: str, field_errors: Sequence[FieldError]
) -> Response:
    body: dict[str, Any] = {}
    for error in field_errors:
        name = "upload" if error.code in _FILE_CODES else error.field
        body.setdefault(name, []).append(_WORDING.get(error.code, error.message))
    body["detail"] = _DETAILS.get(status, detail)
    body["code"] = code
    headers = {"WWW-Authenticate": 'Basic realm="kycvault"'} if status == 401 else None
    return JSONResponse(body, status_code=status, headers=headers)
