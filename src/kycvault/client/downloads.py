"""Where a download goes: a path (written beside it first, then renamed, so a broken
download never leaves a truncated file under the name asked for) or a binary file object."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import IO

from kycvault.client.uploads import Progress

Destination = str | os.PathLike[str] | IO[bytes]


class Sink:
    def __init__(
        self, destination: Destination, total: int | None, progress: Progress | None
    ) -> None:
        self._destination = destination
        self._total = total
        self._progress = progress
        self._written = 0
        self._final: Path | None = None
        self._partial: Path | None = None
        if isinstance(destination, str | os.PathLike):
            self._final = Path(destination)
            self._partial = self._final.with_name(self._final.name + ".part")
            self._handle: IO[bytes] = self._partial.open("wb")
        else:
            self._handle = destination
        if progress is not None:
            progress(0, total)

    def write(self, chunk: bytes) -> None:
        self._handle.write(chunk)
        self._written += len(chunk)
        if self._progress is not None:
            self._progress(self._written, self._total)

    def finish(self) -> int:
        """Bytes written; the file in place under its name."""
        if self._final is not None and self._partial is not None:
            self._handle.close()
            self._partial.replace(self._final)
        return self._written

    def abandon(self) -> None:
        if self._partial is not None:
            self._handle.close()
            self._partial.unlink(missing_ok=True)


def content_length(headers: Mapping[str, str]) -> int | None:
    value = headers.get("content-length")
    return int(value) if isinstance(value, str) and value.isdigit() else None
