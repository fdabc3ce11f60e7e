"""Streaming ``multipart/form-data``: python-multipart's low-level parser fed straight from
the ASGI receive channel, read as an async iterator of events.

No ``UploadFile``, no spooled temp file: a file part comes out as ``FileStarted``, its bytes
as ``FileData`` views into the chunk just received, then ``FileEnded``; a form field comes
out whole as ``FieldReceived``, kept in memory under tight limits. The caller decides what
happens to each (stage the file, sign in first). Limits are checked as early as the bytes
allow: the number of parts when a part's headers end (before its body is read), a field's
size as it arrives; the file's extension, content type and size are the caller's intake's.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from python_multipart.exceptions import FormParserError, MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from kycvault.api.client_input import check_text
from kycvault.api.middleware import set_body_limit
from kycvault.errors import InvalidInput, UnsupportedMediaType

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

MAX_PART_HEADERS = 16
MAX_HEADER_SIZE = 8192


@dataclass
class UploadLimits:
    max_files: int
    max_fields: int
    max_field_size: int
    max_body: int
    file_fields: frozenset[str] = frozenset({"file"})


@dataclass(frozen=True, slots=True)
class FieldReceived:
    """A form field, complete, as UTF-8 text without NUL characters."""

    name: str
    value: str


@dataclass(frozen=True, slots=True)
class FileStarted:
    """A file part's headers have ended (and passed the file limits); its bytes follow."""

    part_name: str
    filename: str


@dataclass(frozen=True, slots=True)
class FileData:
    """The next bytes of the current file part: a view into the chunk they arrived in."""

    chunk: memoryview


@dataclass(frozen=True, slots=True)
class FileEnded:
    """The current file part has ended."""


UploadEvent = FieldReceived | FileStarted | FileData | FileEnded


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


class _Parts:
    """The parser's callbacks: the parts of one body turned into events as the parser meets
    them, with the limits checked on the spot. A refusal raised here stops the parser in the
    middle of a chunk; the events before it are still in ``events``."""

    def __init__(self, limits: UploadLimits) -> None:
        self._limits = limits
        self.events: list[UploadEvent] = []
        self.ended = False
        self._files = 0
        self._fields = 0
        self._header_name = bytearray()
        self._header_value = bytearray()
        self._headers: dict[str, str] = {}
        self._name = ""
        self._is_file = False
        self._value = bytearray()

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value_data,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
            "on_end": self._end,
        }

    def _part_begin(self) -> None:
        self._headers = {}
        self._name = ""
        self._is_file = False
        self._value = bytearray()

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _header_value_data(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        name = self._header_name.decode("latin-1").strip().lower()
        self._headers[name] = self._header_value.decode("latin-1")
        self._header_name.clear()
        self._header_value.clear()

    def _headers_finished(self) -> None:
        disposition = self._headers.get("content-disposition")
        if disposition is None:
            raise _malformed("a part has no Content-Disposition header")
        kind, params = parse_options_header(disposition)
        name_raw = params.get(b"name")
        if kind != b"form-data" or name_raw is None:
            raise _malformed("a part is not form-data with a name")
        # Header bytes arrive as latin-1; clients send names and filenames as UTF-8.
        self._name = name_raw.decode("utf-8", "replace")
        check_text(self._name, "form field name")
        filename = params.get(b"filename")
        limits = self._limits
        if filename is None:
            self._fields += 1
            if self._fields > limits.max_fields:
                raise InvalidInput(
                    f"more than {limits.max_fields} form fields", code="too_many_fields"
                )
            return
        if self._name not in limits.file_fields:
            expected = ", ".join(sorted(limits.file_fields))
            raise InvalidInput.field(
                self._name, "unexpected_file", f"files must be sent in a part named {expected}"
            )
        self._files += 1
        if self._files > limits.max_files:
            raise InvalidInput.field(
                self._name, "too_many_files", f"at most {limits.max_files} files per request"
            )
        self._is_file = True
        self.events.append(FileStarted(self._name, filename.decode("utf-8", "replace")))

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._is_file:
            self.events.append(FileData(memoryview(data)[start:end]))
            return
        if len(self._value) + (end - start) > self._limits.max_field_size:
            raise InvalidInput.field(
                self._name, "field_too_large", f"longer than {self._limits.max_field_size} bytes"
            )
        self._value += data[start:end]

    def _part_end(self) -> None:
        if self._is_file:
            self.events.append(FileEnded())
            return
        try:
            text = self._value.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput.field(self._name, "invalid_utf8", "not UTF-8 text") from None
        check_text(text, self._name)
        self.events.append(FieldReceived(self._name, text))

    def _end(self) -> None:
        self.ended = True


def upload_events(request: Request, limits: UploadLimits) -> AsyncGenerator[UploadEvent, None]:
    """The request's multipart body as events, read from the client as they are asked for.

    Refuses a request that is not ``multipart/form-data`` (415) before reading anything and
    lifts the body limit to ``limits.max_body``. Each chunk's events are handed out before
    the next chunk is read, so memory stays within one chunk; the iterator raises
    ``InvalidInput`` (400) at the first byte that breaks a limit or the syntax, or when the
    body ends before its closing boundary or the client goes away.
    """
    boundary = multipart_boundary(request.headers.get("content-type"))
    set_body_limit(request.scope, limits.max_body)
    parts = _Parts(limits)
    try:
        parser = MultipartParser(
            boundary,
            parts.callbacks(),
            max_header_count=MAX_PART_HEADERS,
            max_header_size=MAX_HEADER_SIZE,
        )
    except (FormParserError, ValueError) as exc:
        raise _malformed(str(exc)) from None
    return _read(request, parser, parts)


async def _read(
    request: Request, parser: MultipartParser, parts: _Parts
) -> AsyncGenerator[UploadEvent, None]:
    try:
        async for chunk in request.stream():
            if not chunk:
                continue
            refusal: InvalidInput | None = None
            try:
                parser.write(chunk)
            except (MultipartParseError, FormParserError) as exc:
                raise _malformed(str(exc) or type(exc).__name__) from None
            except InvalidInput as exc:
                # The parts before the refused one still go first: the caller may have a
                # reason of its own to refuse one of them (who is asking, a bad file type).
                refusal = exc
            events, parts.events = parts.events, []
            for event in events:
                yield event
            if refusal is not None:
                raise refusal
    except ClientDisconnect:
        raise _malformed("the client went away before the body ended") from None
    if not parts.ended:
        raise _malformed("the body ended before the closing boundary")


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
