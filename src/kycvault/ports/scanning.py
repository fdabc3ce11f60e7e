"""The malware-scanner port."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class ScannerUnavailable(Exception):
    """The malware scanner could not be reached, failed or did not answer in time: nothing is
    known about the content."""


@dataclass(frozen=True, slots=True)
class ScanVerdict:
    """What a malware scanner said about one stream. ``signature`` names what it found;
    ``incomplete`` says the scanner stopped at one of its limits (size, time, nesting), so the
    content is not known to be clean (``signature`` then names the limit)."""

    signature: str | None = None
    incomplete: bool = False

    @property
    def clean(self) -> bool:
        return self.signature is None and not self.incomplete


class ScanStream(Protocol):
    """One file on its way to the scanner, chunk by chunk. Blocks (network)."""

    def write(self, data: bytes) -> None:
        """Raises ``ScannerUnavailable``."""
        ...

    def verdict(self) -> ScanVerdict:
        """End the stream and wait for the scanner's answer; raises ``ScannerUnavailable``."""
        ...

    def close(self) -> None:
        """Abandon the stream; safe at any time and more than once."""
        ...


class MalwareScanner(Protocol):
    """Scans files as they stream past (clamd's INSTREAM). Blocks, so services call it from
    worker threads, like the blob store."""

    def open(self) -> ScanStream:
        """Raises ``ScannerUnavailable``."""
        ...

    def check(self) -> None:
        """Raise ``ScannerUnavailable`` unless the scanner answers right now."""
        ...
