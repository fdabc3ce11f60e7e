"""Request bodies the routes parse themselves: JSON read under the body limit, and the form
fields that come with multipart uploads."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import aclosing, asynccontextmanager
from typing import Any, TypeVar

from pydantic import BaseModel
from starlette.requests import Request

from kycvault.api.client_input import load_json, parse_model
from kycvault.api.deps import require_json
from kycvault.api.multipart import (
    FieldReceived,
    FileData,
    FileEnded,
    FileStarted,
    UploadEvent,
    UploadLimits,
    single_values,
    upload_events,
)
from kycvault.api.schemas import FileUploadFields
from kycvault.domain.media import ALLOWED_EXTENSIONS
from kycvault.domain.types import FileRole
from kycvault.errors import InvalidInput, MalwareDetected
from kycvault.services import audit
from kycvault.services.context import Actor, AppContext
from kycvault.services.intake import FileIntake, UploadSession, open_upload

M = TypeVar("M", bound=BaseModel)
FILE_FIELDS = frozenset({"role", "sha256"})
# OpenAPI description of the file parts and per-file fields of multipart uploads.
FILE_PARTS: dict[str, Any] = {
    "file": {
        "type": "array",
        "items": {"type": "string", "format": "binary"},
        "minItems": 1,
        "description": "1 to 5 files",
    },
    "role": {
        "type": "array",
        "items": {"type": "string", "enum": [*FileRole, ""]},
        "description": "one role per file, in order (empty: none)",
    },
    "sha256": {
        "type": "array",
        "items": {"type": "string"},
        "description": "optional SHA-256 (hex) per file; a mismatch rejects the upload",
    },
}


async def parse_json(request: Request, model: type[M]) -> M:
    await require_json(request)
    return parse_model(await request.body(), model)


@asynccontextmanager
async def receive_upload(
    request: Request,
    ctx: AppContext,
    actor: Actor,
    limits: UploadLimits,
    file_parts: list[str] | None = None,
    allowed_extensions: frozenset[str] = ALLOWED_EXTENSIONS,
    max_file_size: int | None = None,
    *,
    require_files: bool = True,
) -> AsyncIterator[tuple[UploadSession, dict[str, list[str]]]]:
    """Stream a multipart request into a new upload session. Whatever happens, the blobs
    that were staged but never published (a rejected request, an idempotent replay) are
    removed when the block ends. Published blobs belong to the transaction that records
    them, which removes them if it certainly did not commit (see ``Store.write``): removing
    them here could take the blob of a row that did commit. A dialect may narrow the
    extensions and the size limit to its vendor's. The name of each file's part goes into
    ``file_parts``, in file order. Without ``require_files`` a body of form fields only is
    accepted too (the session then holds no file)."""
    session = await open_upload(
        ctx, actor, allowed_extensions=allowed_extensions, max_file_size=max_file_size
    )
    try:
        async with aclosing(upload_events(request, limits)) as events:
            fields: dict[str, list[str]] = {}
            first = await _fields_before_files(events, fields)
            if first is not None:
                await _stage_files(events, first, session, None, fields, file_parts)
            elif require_files:
                raise _file_required()
        yield session, fields
    except MalwareDetected as exc:
        await audit.record_malware(ctx, actor, exc)
        raise
    finally:
        await session.discard_unpublished()


def _file_required() -> InvalidInput:
    return InvalidInput.field("file", "file_required", "send at least one file part")


# Reads the form fields sent before the first file part and says who is calling, and the
# filename each file part is kept under (None: the parts' own).
SignIn = Callable[[dict[str, list[str]]], Awaitable[tuple[Actor, Mapping[str, str] | None]]]


@asynccontextmanager
async def receive_upload_signed_in_form(
    request: Request,
    ctx: AppContext,
    limits: UploadLimits,
    sign_in: SignIn,
    file_parts: list[str] | None = None,
) -> AsyncIterator[tuple[Actor, UploadSession, dict[str, list[str]]]]:
    """``receive_upload`` for clients whose credentials travel in a form field that comes
    before the files (Sila signs its ``data`` field): ``sign_in`` runs on the fields read so
    far when the first file part begins, and nothing is staged before it has passed."""
    async with aclosing(upload_events(request, limits)) as events:
        fields: dict[str, list[str]] = {}
        first = await _fields_before_files(events, fields)
        actor, filenames = await sign_in(fields)  # who is asking comes before what is missing
        if first is None:
            raise _file_required()
        session = await open_upload(ctx, actor)
        try:
            await _stage_files(events, first, session, filenames, fields, file_parts)
            yield actor, session, fields
        except MalwareDetected as exc:
            await audit.record_malware(ctx, actor, exc)
            raise
        finally:
            await session.discard_unpublished()


async def _fields_before_files(
    events: AsyncIterator[UploadEvent], fields: dict[str, list[str]]
) -> FileStarted | None:
    """Read the form fields up to the first file part into ``fields``; that part's start, or
    None when the body has no file."""
    async for event in events:
        if isinstance(event, FileStarted):
            return event
        assert isinstance(event, FieldReceived)  # file data comes only after a file start
        fields.setdefault(event.name, []).append(event.value)
    return None


async def _stage_files(
    events: AsyncIterator[UploadEvent],
    first: FileStarted,
    session: UploadSession,
    filenames: Mapping[str, str] | None,
    fields: dict[str, list[str]],
    file_parts: list[str] | None,
) -> None:
    """Stage the file part that has just started and every part after it, into
    ``session``; the fields between and after them go into ``fields``. ``filenames``, when
    given, lists the file parts the request may have and the filename each is kept under
    (for clients that name their files in a form field, as Sila's ``file_metadata``)."""
    intake: FileIntake | None = _start_file(session, first, filenames, file_parts)
    async for event in events:
        if isinstance(event, FileData):
            assert intake is not None
            await intake.feed(event.chunk)
        elif isinstance(event, FileStarted):
            intake = _start_file(session, event, filenames, file_parts)
        elif isinstance(event, FileEnded):
            assert intake is not None
            await session.finish_file(intake)
            intake = None
        else:
            fields.setdefault(event.name, []).append(event.value)


def _start_file(
    session: UploadSession,
    started: FileStarted,
    filenames: Mapping[str, str] | None,
    file_parts: list[str] | None,
) -> FileIntake:
    filename = started.filename
    if filenames is not None:
        if started.part_name not in filenames:
            raise InvalidInput.field(
                started.part_name, "unexpected_file", "no file metadata was sent for this part"
            )
        filename = filenames[started.part_name]
    intake = session.start_file(filename)
    if file_parts is not None:
        file_parts.append(started.part_name)
    return intake


def split_form(fields: dict[str, list[str]], model: type[M]) -> tuple[M, FileUploadFields]:
    """Form fields → (validated metadata model, per-file roles and digests)."""
    values = {
        name: (None if value == "" else value)
        for name, value in single_values(fields, repeatable=FILE_FIELDS).items()
        if name not in FILE_FIELDS
    }
    metadata = values.get("metadata")
    if isinstance(metadata, str):
        values["metadata"] = load_json(metadata, field="metadata", syntax_code="invalid_json")
    per_file: dict[str, Any] = {
        name: [item or None for item in fields.get(name, [])] for name in FILE_FIELDS
    }
    return model.model_validate(values), FileUploadFields.model_validate(per_file)
