"""The OpenAPI ``requestBody`` of routes that read their body themselves (multipart uploads,
JSON parsed under the body limit, vendors' messages), given as a route's ``openapi_extra``:
FastAPI sees no body parameter on such a route, so without one its document would say the
operation takes no body."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel

Schema = dict[str, Any]
BINARY: Schema = {"type": "string", "format": "binary"}
# A form value that must hold something besides blanks.
TEXT: Schema = {"type": "string", "minLength": 1, "pattern": r"\S"}


_UNIX_MIDNIGHT = "a Unix time at midnight UTC (a multiple of 86400)"
# A date as pydantic reads it outside strict mode (query parameters, vendors' messages): an
# ISO date, a date-time at 00:00:00, or a Unix time that falls on a midnight (0 is
# 1970-01-01). The native JSON bodies take ISO text only (``schemas.IsoDate``).
LENIENT_DATE: Schema = {
    "anyOf": [
        {"type": "string", "format": "date"},
        {"type": "string", "format": "date-time", "description": "at 00:00:00"},
        {"type": "string", "pattern": r"^-?[0-9]+(\.0*)?$", "description": _UNIX_MIDNIGHT},
    ]
}
# The same in JSON, where the Unix time may be a number too.
LENIENT_JSON_DATE: Schema = {
    "anyOf": [*LENIENT_DATE["anyOf"], {"type": "number", "description": _UNIX_MIDNIGHT}]
}


def standalone_schema(schema: Schema) -> Schema:
    """``schema`` (a model's JSON schema) with each ``#/$defs/...`` reference replaced by its
    definition: inside the OpenAPI document such a reference would point at the document's
    root, where there are no ``$defs``, and ReDoc would refuse to render the API."""
    defs = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return inline(defs[ref.removeprefix("#/$defs/")])
            return {key: inline(value) for key, value in node.items()}
        if isinstance(node, list):
            return [inline(item) for item in node]
        return node

    inlined: Schema = inline(schema)
    return inlined


def json_content(model: type[BaseModel]) -> Schema:
    return {"application/json": {"schema": standalone_schema(model.model_json_schema())}}


def form_content(
    properties: Mapping[str, Schema],
    required: Iterable[str] = (),
    encoding: Mapping[str, Schema] | None = None,
) -> Schema:
    form: Schema = {
        "schema": {"type": "object", "required": list(required), "properties": dict(properties)}
    }
    if encoding:
        form["encoding"] = dict(encoding)
    return {"multipart/form-data": form}


def body(*contents: Schema) -> Schema:
    """``openapi_extra`` for a required body in any of ``contents``' media types."""
    merged: Schema = {}
    for content in contents:
        merged.update(content)
    return {"requestBody": {"required": True, "content": merged}}
