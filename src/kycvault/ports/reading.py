"""The reader port: a file's text, machine-readable zone and editing traces; a PDF's page as
an image."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from kycvault.domain.mrz_correction import Cell


class ReadingFailed(Exception):
    """A file could not be read (undecodable, over a limit, too slow); the message is the
    reason shown on the processing stage."""


@dataclass(frozen=True, slots=True)
class PageReading:
    """One page's text (``source``: ``text_layer``, ``ocr`` or ``text``) and, where a
    machine-readable zone was found on it, OCR's per-cell candidates for that zone; for a
    page read as an image, whether it shows a face of a portrait's size (None: not looked
    for, a text page, or no detector here)."""

    text: str
    source: str
    mrz: list[list[Cell]] | None = None
    portrait: bool | None = None


@dataclass(frozen=True, slots=True)
class FileReading:
    pages: list[PageReading]
    # Editing traces as found (EXIF software, XMP tools, PDF revisions, producer, dates).
    traces: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class RenderedPage:
    """A page of a PDF as a PNG, and how many of the file's pages can be shown."""

    png: bytes
    pages: int


class DocumentReader(Protocol):
    """Reads a file's plaintext: text, MRZ candidates, editing traces. Blocks (it runs
    decoders and OCR with time and memory limits), so services call it from a thread."""

    def ocr_problem(self) -> str | None:
        """None when OCR can run here; otherwise why not."""
        ...

    def read(
        self, content: bytes | Iterable[bytes], content_type: str, *, ocr: bool, today: date
    ) -> FileReading:
        """Read the plaintext ``content`` yields (chunk by chunk: the caller need not hold
        the file in memory). Raises ``ReadingFailed`` with the reason when the file cannot
        be read; whatever ``content`` raises goes through."""
        ...

    def render_page(self, content: bytes, page: int) -> RenderedPage:
        """Page ``page`` (from 0) of the PDF ``content`` as an image, decoded with the same
        confinement and limits as a reading. Raises ``ReadingFailed`` (no such page, an
        undecodable file, a limit)."""
        ...
