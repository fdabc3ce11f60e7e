"""What text from a client may hold, and the one way its JSON is read: request bodies, JSON
form fields (the native ``metadata``, Cynopsis' ``document``, Sila's ``data``) and, through
``CheckedRoute``, the bodies FastAPI parses for its body parameters.

No text input (query parameter, form field, JSON string or key) may hold a NUL character
(``nul_character``): no stored value can carry one, PostgreSQL refuses them, and a search
for one matched everything. (A path holding one names nothing: the route's 404.)

Parsing is pydantic-core's (Rust, no Python recursion, its own hard stop at 200 levels),
then one walk over the result that enforces what a document may hold:

- at most ``MAX_DEPTH`` nested arrays/objects (``json_too_deep``);
- finite numbers only: ``NaN``, ``Infinity``, a literal that overflows a double (``1e400``)
  and integers outside the signed 64-bit range are refused (``invalid_number``) rather than
  stored as ``null`` or as a number other systems cannot read back;
- no NUL character in any string or key.

A syntax error keeps the code each caller has always answered with (``validation_error`` for
a body, as pydantic words it; the field's own code for a form field).
"""

from __future__ import annotations

import math
from typing import Any, TypeVar

from pydantic import BaseModel
from pydantic_core import from_json

from kycvault.errors import FieldError, InvalidInput

M = TypeVar("M", bound=BaseModel)

# Deep enough for any real metadata; .NET's JSON reader stops at the same depth by default.
MAX_DEPTH = 64
INT_MIN = -(2**63)
INT_MAX = 2**63 - 1
NUL = "\x00"
BODY = "body"


def refused(field: str, code: str, message: str, top_code: str | None = None) -> InvalidInput:
    """A 400 about one input; ``top_code`` when the response's code differs from the
    field's (a body's syntax error is a ``validation_error`` about ``body``)."""
    return InvalidInput(
        f"{field}: {message}", code=top_code or code, errors=[FieldError(field, code, message)]
    )


def check_text(value: str, field: str) -> None:
    """Refuse a NUL character in any text input (query parameter, form field, JSON string)."""
    if NUL in value:
        raise _nul(field)


def _nul(field: str) -> InvalidInput:
    return refused(field, "nul_character", "contains a NUL character")


def load_json(raw: bytes | str, *, field: str = BODY, syntax_code: str = "validation_error") -> Any:
    """Parse client JSON (UTF-8) under the limits above, or raise ``InvalidInput`` (400)."""
    try:
        value = from_json(raw, allow_inf_nan=False)
    except ValueError as exc:
        raise _parse_failure(raw, field, syntax_code, str(exc)) from None
    _check(value, field)
    return value


def parse_model(
    raw: bytes | str, model: type[M], *, field: str = BODY, syntax_code: str = "validation_error"
) -> M:
    """``load_json`` then the model's validation (errors as pydantic's, 400)."""
    return model.model_validate(load_json(raw, field=field, syntax_code=syntax_code))


def _parse_failure(raw: bytes | str, field: str, syntax_code: str, reason: str) -> InvalidInput:
    # pydantic-core's messages are stable ("recursion limit exceeded at line 1 column 202");
    # tests/unit/test_client_input.py pins them.
    if reason.startswith("recursion limit exceeded"):
        return _too_deep(field)
    if reason.startswith("number out of range"):
        return _bad_number(field)
    try:
        # Valid but for NaN/Infinity: say so, rather than "expected value".
        from_json(raw, allow_inf_nan=True)
    except ValueError:
        return refused(field, "json_invalid", f"not valid JSON ({reason})", syntax_code)
    return _bad_number(field)


def _too_deep(field: str) -> InvalidInput:
    return refused(field, "json_too_deep", f"nested more than {MAX_DEPTH} levels deep")


def _bad_number(field: str) -> InvalidInput:
    return refused(
        field,
        "invalid_number",
        "numbers must be finite (no NaN, Infinity or overflow) and integers within 64 bits",
    )


def _check(value: Any, field: str) -> None:
    """One iterative walk over what ``from_json`` built (exact ``dict``, ``list``, ``str``,
    ``int``, ``float``, ``bool`` and ``None``): depth, numbers and NULs. Scalars are checked
    where they sit, so a 1 MiB array costs one pass and no allocation per item."""
    # The document sits in a list of its own (not a level) so that a lone scalar is checked too.
    stack: list[tuple[Any, int]] = [([value], -1)]
    while stack:
        container, depth = stack.pop()
        if depth >= MAX_DEPTH:
            raise _too_deep(field)
        if type(container) is dict:
            for key in container:
                if NUL in key:
                    raise _nul(field)
            children = container.values()
        else:
            children = container
        for child in children:
            kind = type(child)
            if kind is str:
                if NUL in child:
                    raise _nul(field)
            elif kind is int:
                if not INT_MIN <= child <= INT_MAX:
                    raise _bad_number(field)
            elif kind is float:
                if not math.isfinite(child):
                    raise _bad_number(field)
            elif kind is list or kind is dict:
                stack.append((child, depth + 1))
