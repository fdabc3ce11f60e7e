"""Streaming ``multipart/form-data``: python-multipart's low-level parser fed straight from
the ASGI receive channel.

No ``UploadFile``, no spooled temp file: file parts go byte by byte into the
``UploadSession``'s intakes (which hash, encrypt and stage them), form fields are kept in
memory under tight limits. Limits are checked as early as the bytes allow: the number of file
parts when a part's headers end (before its body is read), the extension from the part's
filename, the content type from its first bytes, and its size as it arrives.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from python_multipart.exceptions import FormParserError, MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from kycvault.api.client_input import check_text
from kycvault.api.middleware import set_body_limit
from kycvault.errors import InvalidInput, UnsupportedMediaType
from kycvault.services.intake import FileIntake, UploadSession

MAX_PART_HEADERS = 16
MAX_HEADER_SIZE = 8192


@dataclass
class UploadLimits:
    max_files: int
    max_fields: int
    max_field_size: int
    max_body: int
    file_fields: frozenset[str] = frozenset({"file"})


@dataclass(frozen=True)
class FileTarget:
    """Where a request's file parts go. ``filenames``, when given, lists the file parts the
    request may have and the filename each is kept under: for clients that name their files
    in a form field rather than in the part (Sila's ``file_metadata``)."""

    session: UploadSession
    filenames: Mapping[str, str] | None = None


# Opens the target once the fields before the first file part have arrived: for clients
# whose credentials travel in a form field, so the tenant is known only then.
OpenTarget = Callable[[dict[str, list[str]]], Awaitable[FileTarget]]


class _Files:
    def __init__(self, target: FileTarget | OpenTarget, fields: dict[str, list[str]]) -> None:
        self._target = target if isinstance(target, FileTarget) else None
        self._open = None if isinstance(target, FileTarget) else target
        self._fields = fields

    async def start(self, part_name: str, filename: str) -> FileIntake:
        if self._target is None:
            assert self._open is not None
            self._target = await self._open(self._fields)
        names = self._target.filenames
        if names is not None:
            if part_name not in names:
                raise InvalidInput.field(
                    part_name, "unexpected_file", "no file metadata was sent for this part"
                )
            filename = names[part_name]
        return self._target.session.start_file(filename)

    async def finish(self, intake: FileIntake) -> None:
        assert self._target is not None
        await self._target.session.finish_file(intake)


@dataclass
class _Part:
    headers: dict[str, str] = field(default_factory=dict)
    name: str = ""
    intake: FileIntake | None = None
    value: bytearray = field(default_factory=bytearray)


def _malformed(reason: str) -> InvalidInput:
    return InvalidInput(f"malformed multipart body: {reason}", code="malformed_multipart")


def multipart_boundary(content_type: str | None) -> bytes:
    """The boundary of a ``multipart/form-data`` request, or 415."""
    kind, params = parse_options_header(content_type or "")
    boundary = params.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise UnsupportedMediaType(
            "send multipart/form-data with a boundary", code="unsupported_content_type"
        )
    if len(boundary) > 200:
        raise _malformed("boundary too long")
    return boundary


def is_multipart(content_type: str | None) -> bool:
    return (content_type or "").split(";", 1)[0].strip().lower() == "multipart/form-data"


class _Collector:
    """Turns the parser's synchronous callbacks into a list of events handled asynchronously
    after each ``write`` (file data must be awaited into the intake)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []
        self._field = bytearray()
        self._value = bytearray()
        self.ended = False

    def callbacks(self) -> dict[str, Callable[..., None]]:
        def on_header_field(data: bytes, start: int, end: int) -> None:
            self._field += data[start:end]

        def on_header_value(data: bytes, start: int, end: int) -> None:
            self._value += data[start:end]

        def on_header_end() -> None:
            name = self._field.decode("latin-1").strip().lower()
            self.events.append(("header", (name, self._value.decode("latin-1"))))
            self._field.clear()
            self._value.clear()

        def on_part_data(data: bytes, start: int, end: int) -> None:
            self.events.append(("data", memoryview(data)[start:end]))

        def on_end() -> None:
            self.ended = True

        return {
            "on_part_begin": lambda: self.events.append(("begin", None)),
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": lambda: self.events.append(("headers", None)),
            "on_part_data": on_part_data,
            "on_part_end": lambda: self.events.append(("end", None)),
            "on_end": on_end,
        }


async def read_upload(
    request: Request,
    target: FileTarget | OpenTarget,
    limits: UploadLimits,
    file_parts: list[str] | None = None,
) -> dict[str, list[str]]:
    """Stream the request's multipart body into the target's session; return the form
    fields. The name of each file's part goes into ``file_parts``, in file order.

    Every file part is finished (staged durably) when this returns. On any error the caller
    must discard the session.
    """
    boundary = multipart_boundary(request.headers.get("content-type"))
    set_body_limit(request.scope, limits.max_body)
    collector = _Collector()
    try:
        parser = MultipartParser(
            boundary,
            collector.callbacks(),  # type: ignore[arg-type]
            max_header_count=MAX_PART_HEADERS,
            max_header_size=MAX_HEADER_SIZE,
        )
    except (FormParserError, ValueError) as exc:
        raise _malformed(str(exc)) from None
    fields: dict[str, list[str]] = {}
    files = _Files(target, fields)
    state = {"files": 0, "fields": 0}
    part = _Part()
    try:
        async for chunk in request.stream():
            if not chunk:
                continue
            try:
                parser.write(chunk)
            except (MultipartParseError, FormParserError) as exc:
                raise _malformed(str(exc) or type(exc).__name__) from None
            for kind, value in collector.events:
                part = await _handle(kind, value, part, files, limits, fields, state, file_parts)
            collector.events.clear()
    except ClientDisconnect:
        raise _malformed("the client went away before the body ended") from None
    if not collector.ended:
        raise _malformed("the body ended before the closing boundary")
    return fields


async def _handle(
    kind: str,
    value: Any,
    part: _Part,
    files: _Files,
    limits: UploadLimits,
    fields: dict[str, list[str]],
    state: dict[str, int],
    file_parts: list[str] | None,
) -> _Part:
    if kind == "begin":
        return _Part()
    if kind == "header":
        name, header_value = value
        part.headers[name] = header_value
    elif kind == "headers":
        await _start_part(part, files, limits, state)
        if part.intake is not None and file_parts is not None:
            file_parts.append(part.name)
    elif kind == "data":
        if part.intake is not None:
            await part.intake.feed(value)
        else:
            part.value += value
            if len(part.value) > limits.max_field_size:
                raise InvalidInput.field(
                    part.name, "field_too_large", f"longer than {limits.max_field_size} bytes"
                )
    elif kind == "end":
        if part.intake is not None:
            await files.finish(part.intake)
        else:
            try:
                text = part.value.decode("utf-8")
            except UnicodeDecodeError:
                raise InvalidInput.field(part.name, "invalid_utf8", "not UTF-8 text") from None
            check_text(text, part.name)
            fields.setdefault(part.name, []).append(text)
    return part


async def _start_part(
    part: _Part, files: _Files, limits: UploadLimits, state: dict[str, int]
) -> None:
    disposition = part.headers.get("content-disposition")
    if disposition is None:
        raise _malformed("a part has no Content-Disposition header")
    kind, params = parse_options_header(disposition)
    name_raw = params.get(b"name")
    if kind != b"form-data" or name_raw is None:
        raise _malformed("a part is not form-data with a name")
    # Header bytes arrive as latin-1; clients send names and filenames as UTF-8.
    part.name = name_raw.decode("utf-8", "replace")
    check_text(part.name, "form field name")
    filename = params.get(b"filename")
    if filename is None:
        state["fields"] += 1
        if state["fields"] > limits.max_fields:
            raise InvalidInput(f"more than {limits.max_fields} form fields", code="too_many_fields")
        return
    if part.name not in limits.file_fields:
        expected = ", ".join(sorted(limits.file_fields))
        raise InvalidInput.field(
            part.name, "unexpected_file", f"files must be sent in a part named {expected}"
        )
    state["files"] += 1
    if state["files"] > limits.max_files:
        raise InvalidInput.field(
            part.name, "too_many_files", f"at most {limits.max_files} files per request"
        )
    part.intake = await files.start(part.name, filename.decode("utf-8", "replace"))


def single_values(fields: dict[str, list[str]], repeatable: frozenset[str]) -> dict[str, Any]:
    """Form fields as a dict: repeatable ones as lists, others as one value (or 400)."""
    values: dict[str, Any] = {}
    for name, items in fields.items():
        if name in repeatable:
            values[name] = items
        elif len(items) > 1:
            raise InvalidInput.field(name, "duplicate_field", "given more than once")
        else:
            values[name] = items[0]
    return values
