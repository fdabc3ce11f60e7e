"""The sniffing port: a file's media type from its first bytes, and markup in text files."""

from __future__ import annotations

from typing import Protocol


class Sniffer(Protocol):
    """Decides a file's media type from its first bytes (``HEAD_SIZE`` of them, or fewer when
    the file is shorter). Returns None for content it does not recognise; may return the
    generic container types of ``kycvault.domain.media`` (OLE2, OOXML, ODF) or ``MARKUP``."""

    head_size: int

    def sniff(self, head: bytes) -> str | None: ...

    def markup_scan(self) -> MarkupScan:
        """A fresh scan for markup over the whole of one text file."""
        ...


class MarkupScan(Protocol):
    """Looks for markup in a stream fed chunk by chunk, in order, in one pass and with bounded
    memory: markup split between two chunks is found too."""

    def found_in(self, chunk: bytes) -> bool:
        """True when markup ends in ``chunk`` (possibly having started in earlier ones)."""
        ...
