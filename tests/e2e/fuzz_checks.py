"""Checks for the schema-driven fuzz run (tests/e2e/test_fuzz.py), loaded by Schemathesis as
its hooks file.

Three of Schemathesis's own checks, minus what the OpenAPI document is known to get wrong
today (#21, which rewrites the document; remove each exception here as it is fixed there):

- 422 is described as FastAPI's stock ``HTTPValidationError`` (application/json), which the
  API never sends; its 422 is a problem document (content invalid or unsafe) or the dialect's
  error envelope;
- a stored file's bytes (any response with ``Content-Disposition``) are described as JSON;
- a body-less answer (Argyle's 302 to the file, Cynopsis's 200 to a deletion) is described
  as JSON;
- the date filters of the document lists also take a number as a Unix time
  (``created_from=0`` is 1970-01-01), which the document's ``format: date`` does not allow.

Every other response is compared with the document in full.
"""

from __future__ import annotations

import re
from typing import Any

import schemathesis
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
)

PHANTOM_422 = 422
DATE_FILTERS = frozenset({"created_from", "created_to", "expires_before", "expires_after"})
_NUMBER = re.compile(r"-?\d+(\.\d*)?")


def _misdocumented(response: Any, case: Any) -> bool:
    bodiless = not response.content and (
        300 <= response.status_code < 400 or case.method.upper() in {"DELETE", "HEAD"}
    )
    return (
        response.status_code == PHANTOM_422 or "content-disposition" in response.headers or bodiless
    )


@schemathesis.check
def documented_response_schema(ctx: Any, response: Any, case: Any) -> bool | None:
    if _misdocumented(response, case):
        return None
    return response_schema_conformance(ctx, response, case)


@schemathesis.check
def documented_content_type(ctx: Any, response: Any, case: Any) -> bool | None:
    if _misdocumented(response, case):
        return None
    return content_type_conformance(ctx, response, case)


@schemathesis.check
def refused_negative_data(ctx: Any, response: Any, case: Any) -> bool | None:
    query = case.query or {}
    if any(
        name in DATE_FILTERS and isinstance(value, str | int) and _NUMBER.fullmatch(str(value))
        for name, value in query.items()
    ):
        return None
    return negative_data_rejection(ctx, response, case)
