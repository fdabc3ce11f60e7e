"""Where a download goes: a path (written beside it first, then renamed, so a broken
download never leaves a truncated file under the name asked for) or a binary file object."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Self

import httpx2

from kycvault.client._http import connection_error
from kycvault.client.uploads import Progress

Destination = str | os.PathLike[str] | IO[bytes]


def content_length(headers: Mapping[str, str]) -> int | None:
    value = headers.get("content-length")
    return int(value) if isinstance(value, str) and value.isdigit() else None


class Sink:
    """``with Sink(...) as sink: sink.write(chunk)…``: the file in place when the block ends
    well, nothing left of it when it does not (a broken connection raised as
    ``APIConnectionError``)."""

    def __init__(
        self, destination: Destination, headers: Mapping[str, str], progress: Progress | None
    ) -> None:
        self._destination = destination
        self._total = content_length(headers)
        self._progress = progress
        self.written = 0
        self._final: Path | None = None
        self._partial: Path | None = None

    def __enter__(self) -> Self:
        if isinstance(self._destination, str | os.PathLike):
            self._final = Path(self._destination)
            self._partial = self._final.with_name(self._final.name + ".part")
            self._handle: IO[bytes] = self._partial.open("wb")
        else:
            self._handle = self._destination
        if self._progress is not None:
            self._progress(0, self._total)
        return self

    def write(self, chunk: bytes) -> None:
        self._handle.write(chunk)
        self.written += len(chunk)
        if self._progress is not None:
            self._progress(self.written, self._total)

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._final is not None and self._partial is not None:
            self._handle.close()
            if exc is None:
                self._partial.replace(self._final)
            else:
                self._partial.unlink(missing_ok=True)
        if isinstance(exc, httpx2.TransportError):
            raise connection_error(exc) from exc
