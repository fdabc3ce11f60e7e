"""Request bodies the routes parse themselves: JSON read under the body limit, and the form
fields that come with multipart uploads."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from pydantic import BaseModel
from starlette.requests import Request

from kycvault.api.schemas import FileUploadFields
from kycvault.api.uploads import UploadLimits, read_upload, single_values
from kycvault.errors import InvalidInput, UnsupportedMediaType
from kycvault.services.context import Actor, Vault
from kycvault.services.intake import UploadSession

M = TypeVar("M", bound=BaseModel)
FILE_FIELDS = frozenset({"role", "sha256"})


async def parse_json(request: Request, model: type[M]) -> M:
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type != "application/json":
        raise UnsupportedMediaType(
            "send application/json (or multipart/form-data where files are accepted)",
            code="unsupported_content_type",
        )
    return model.model_validate_json(await request.body())


@asynccontextmanager
async def receive_upload(
    request: Request, vault: Vault, actor: Actor, limits: UploadLimits
) -> AsyncIterator[tuple[UploadSession, dict[str, list[str]]]]:
    """Stream a multipart request into a new upload session. If anything fails, here or in
    the block, every staged or published blob of the request is removed."""
    session = await UploadSession.open(vault, actor.tenant_id)
    try:
        fields = await read_upload(request, session, limits)
        if not session.staged:
            raise InvalidInput.field("file", "file_required", "send at least one file part")
        yield session, fields
    except BaseException:
        await session.discard()
        raise


def split_form(fields: dict[str, list[str]], model: type[M]) -> tuple[M, FileUploadFields]:
    """Form fields → (validated metadata model, per-file roles and digests)."""
    values = {
        name: (None if value == "" else value)
        for name, value in single_values(fields, repeatable=FILE_FIELDS).items()
        if name not in FILE_FIELDS
    }
    metadata = values.get("metadata")
    if isinstance(metadata, str):
        try:
            values["metadata"] = json.loads(metadata)
        except json.JSONDecodeError:
            raise InvalidInput.field("metadata", "invalid_json", "not valid JSON") from None
    per_file: dict[str, Any] = {
        name: [item or None for item in fields.get(name, [])] for name in FILE_FIELDS
    }
    return model.model_validate(values), FileUploadFields.model_validate(per_file)
