"""Files to upload, streamed from disk as a multipart body: never read whole into memory,
with a progress callback, and sendable again from the start on a retry."""

from __future__ import annotations

import io
import mimetypes
import os
import secrets
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import IO

CHUNK = 64 * 1024
Progress = Callable[[int, int | None], None]
"""Called as bytes move: (bytes so far, total bytes or None when unknown)."""


@dataclass(frozen=True, slots=True)
class Upload:
    """A file with what to say about it: ``source`` a path or a binary file object (read
    from its current position), ``role`` FRONT, BACK, PAGE1 or PAGE2, ``sha256`` a digest
    for the server to check."""

    source: str | os.PathLike[str] | IO[bytes]
    filename: str | None = None
    content_type: str | None = None
    role: str | None = None
    sha256: str | None = None


FileInput = str | os.PathLike[str] | IO[bytes] | Upload


@dataclass(frozen=True, slots=True)
class _Part:
    upload: Upload
    filename: str
    content_type: str
    size: int | None
    start: int | None  # a file object's position to rewind to on a retry (None: cannot)


def _part(given: FileInput) -> _Part:
    upload = given if isinstance(given, Upload) else Upload(given)
    source = upload.source
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        name = upload.filename or path.name
        size: int | None = path.stat().st_size
        start: int | None = 0
    else:
        name = upload.filename or Path(str(getattr(source, "name", "") or "upload")).name
        size, start = _extent(source)
    content_type = (
        upload.content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
    )
    return _Part(upload, name, content_type, size, start)


def _extent(handle: IO[bytes]) -> tuple[int | None, int | None]:
    """(bytes from the current position to the end, that position), or Nones when the
    object cannot seek (a pipe, a socket): then it is sent chunked, and only once."""
    try:
        if not handle.seekable():
            return None, None
        start = handle.tell()
        end = handle.seek(0, io.SEEK_END)
        handle.seek(start)
    except (OSError, ValueError, AttributeError):
        return None, None
    return end - start, start


def _quoted(name: str) -> str:
    # As browsers encode a form's filename: the quote and line breaks percent-encoded.
    return name.replace("\\", "\\\\").replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


class MultipartBody:
    """``multipart/form-data``: the form fields first (the server reads them before the
    files), then one ``file`` part per file, each read ``CHUNK`` bytes at a time."""

    def __init__(
        self,
        fields: Sequence[tuple[str, str]],
        files: Sequence[FileInput],
        progress: Progress | None = None,
    ) -> None:
        if not files:
            raise ValueError("at least one file")
        self._parts = [_part(f) for f in files]
        self._boundary = f"kycvault-{secrets.token_hex(16)}"
        per_file = [("role", p.upload.role or "") for p in self._parts]
        digests = [("sha256", p.upload.sha256 or "") for p in self._parts]
        self._fields = list(fields)
        # One per file or none: the server pairs them with the files by position.
        if any(value for _, value in per_file):
            self._fields += per_file
        if any(value for _, value in digests):
            self._fields += digests
        self._progress = progress

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self._boundary}"

    @property
    def total(self) -> int | None:
        """The files' bytes (what progress counts), None when one is of unknown size."""
        sizes = [p.size for p in self._parts]
        return None if any(s is None for s in sizes) else sum(s or 0 for s in sizes)

    @property
    def rewindable(self) -> bool:
        return all(p.start is not None for p in self._parts)

    def _field(self, name: str, value: str) -> bytes:
        return (
            f'--{self._boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
            f"{value}\r\n"
        ).encode()

    def _file_head(self, part: _Part) -> bytes:
        return (
            f"--{self._boundary}\r\n"
            f'Content-Disposition: form-data; name="file"; filename="{_quoted(part.filename)}"'
            f"\r\nContent-Type: {part.content_type}\r\n\r\n"
        ).encode()

    def _tail(self) -> bytes:
        return f"--{self._boundary}--\r\n".encode()

    @property
    def length(self) -> int | None:
        """The whole body's length (a Content-Length), None when a file's size is unknown."""
        total = self.total
        if total is None:
            return None
        framing = sum(len(self._field(n, v)) for n, v in self._fields)
        framing += sum(len(self._file_head(p)) + 2 for p in self._parts)
        return total + framing + len(self._tail())

    def __iter__(self) -> Iterator[bytes]:
        """The body from its first byte: each iteration (each attempt) reads the files anew."""
        sent = 0
        total = self.total
        if self._progress is not None:
            self._progress(0, total)
        for name, value in self._fields:
            yield self._field(name, value)
        with ExitStack() as stack:
            for part in self._parts:
                yield self._file_head(part)
                handle = self._open(part, stack)
                while chunk := handle.read(CHUNK):
                    sent += len(chunk)
                    if self._progress is not None:
                        self._progress(sent, total)
                    yield chunk
                yield b"\r\n"
        yield self._tail()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        # Local files are read in small chunks between sends: each read is a short blocking
        # call, as the event loop's own file reads are.
        for chunk in self:
            yield chunk

    @staticmethod
    def _open(part: _Part, stack: ExitStack) -> IO[bytes]:
        source = part.upload.source
        if isinstance(source, str | os.PathLike):
            return stack.enter_context(Path(source).open("rb"))
        if part.start is not None:
            source.seek(part.start)
        return source

    def headers(self) -> dict[str, str]:
        sent = {"Content-Type": self.content_type}
        length = self.length
        if length is not None:
            sent["Content-Length"] = str(length)
        return sent
