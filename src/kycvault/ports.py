"""Ports: the small interfaces through which services reach the outside world.

Every method of the blob-store and cipher ports *blocks* (disk, network, CPU-heavy crypto): the
services call them from worker threads, never on the event loop, so that a 128 MiB upload does
not stall other requests.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from kycvault.domain.mrz_correction import Cell


class BlobMissing(Exception):
    """The blob a row points at is not in the store (an integrity problem, not a 404)."""


class BlobExists(Exception):
    """Publishing would overwrite an existing blob; blobs are immutable."""


class BlobStoreError(Exception):
    """The store failed (I/O error, full disk, unreachable endpoint)."""


class BlobWriter(Protocol):
    """A blob being written. Contract:

    - ``write`` appends bytes to a private staging object; nothing is visible yet.
    - ``finish`` makes the staged bytes durable (fsync) and returns how many there are.
    - ``publish`` makes the blob visible under its key, atomically and without ever
      overwriting (``BlobExists``), and durably (the directory entry is synced too).
    - ``discard`` removes whatever was staged or published; it is safe to call at any time
      and more than once.
    """

    key: str

    def write(self, data: bytes) -> None: ...

    def finish(self) -> int: ...

    def publish(self) -> None: ...

    def discard(self) -> None: ...


class BlobReader(Protocol):
    """An open blob: random-access reads of its (encrypted) bytes."""

    size: int

    def read(self, offset: int, length: int) -> bytes: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class StoredBlob:
    """A published blob as the store lists it. ``age_seconds`` counts from when it was
    published (or last changed), never from an earlier write of its staging file."""

    key: str
    size: int
    age_seconds: float


@dataclass(frozen=True, slots=True)
class StagingFile:
    """A staging (or spool) file: the ciphertext of an upload not yet published. Once an
    upload is published or discarded its staging file is gone, so one that stays is a
    leftover — unless its upload is still running. ``owner_gone`` is true when the process
    that wrote it is known to have ended (it can never be published then)."""

    name: str
    size: int
    age_seconds: float
    owner_gone: bool


class BlobStore(Protocol):
    """Where encrypted blobs live. Keys are server-generated (``<tenant>/<file id>``) and never
    derived from client input. Only ciphertext ever reaches a store."""

    def create(self, key: str) -> BlobWriter: ...

    def open(self, key: str) -> BlobReader:
        """Raises ``BlobMissing`` when there is no such blob."""
        ...

    def delete(self, key: str) -> None:
        """Remove a blob; a missing blob is not an error."""
        ...

    def check(self) -> None:
        """Raise ``BlobStoreError`` unless the store can be written and read right now."""
        ...

    def list_blobs(self) -> Iterator[StoredBlob]:
        """Every published blob (in no particular order)."""
        ...

    def staging_files(self) -> Iterator[StagingFile]:
        """Every staging file: uploads in flight and leftovers of interrupted ones."""
        ...

    def remove_staging(self, name: str) -> None:
        """Remove one staging file (a name ``staging_files`` gave); a missing one is fine."""
        ...


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


class Sealer(Protocol):
    """Encrypts one blob as a sequence of frames (chunked AEAD)."""

    def header(self) -> bytes: ...

    def seal(self, chunk: bytes, *, final: bool) -> bytes:
        """Encrypt the next plaintext chunk; every chunk but the final one has exactly
        ``Cipher.chunk_size`` bytes."""
        ...


class Opener(Protocol):
    """Decrypts frames of one blob, verifying each frame's tag."""

    def open(self, index: int, frame: bytes, *, final: bool) -> bytes:
        """Raises ``IntegrityFailure`` when the frame was altered, moved or truncated."""
        ...


class Cipher(Protocol):
    """Envelope encryption: a fresh data key per blob, wrapped by the tenant's key, which is in
    turn wrapped by the master key. ``context`` binds ciphertext to its tenant and file, so a
    blob swapped between files or tenants fails to decrypt."""

    chunk_size: int
    header_size: int
    master_key_id: str

    def new_tenant_key(self, tenant_context: bytes) -> tuple[bytes, bytes]:
        """A new tenant key: (plain key, key wrapped by the master key)."""
        ...

    def unwrap_tenant_key(self, wrapped: bytes, tenant_context: bytes) -> bytes: ...

    def new_sealer(self, tenant_key: bytes, context: bytes) -> tuple[Sealer, bytes]:
        """A sealer for a new blob, and its data key wrapped by ``tenant_key``."""
        ...

    def opener(
        self, tenant_key: bytes, wrapped_dek: bytes, context: bytes, header: bytes
    ) -> Opener:
        """An opener for the blob that starts with ``header``; a bad header or a data key
        that does not unwrap raises ``IntegrityFailure``."""
        ...

    def sealed_size(self, plain_size: int) -> int:
        """Size of the blob that holds ``plain_size`` bytes of plaintext."""
        ...

    def seal_record(self, label: str, data: bytes, aad: bytes) -> bytes:
        """Encrypt a small record (a stored response, a text) under a key derived for
        ``label``; ``aad`` binds it to its owner."""
        ...

    def open_record(self, label: str, sealed: bytes, aad: bytes) -> bytes:
        """Decrypt what ``seal_record`` made; ``IntegrityFailure`` if it was altered."""
        ...

    def derive_secret(self, label: str) -> bytes:
        """A 32-byte secret derived from the master key for ``label`` (API-key pepper,
        cursor signing key), so one key file is all an operator must keep."""
        ...


class SignatureVerifier(Protocol):
    """Who signed a message, for APIs whose clients sign requests with an Ethereum-style key
    (Sila's ``authsignature`` and ``usersignature``). Cheap enough for the event loop."""

    def signer(self, message: bytes, signature: str) -> str | None:
        """The address (``0x`` and 40 lower-case hex digits) of the secp256k1 key whose
        recoverable signature ``signature`` (hex of r, s and v; ``0x`` optional) is over
        keccak-256 of ``message``; None when the signature is malformed, is not in the low-s
        form (s at most half the group order), or recovers no key."""
        ...

    def canonical(self, signature: str) -> bytes | None:
        """r and s (64 bytes) of a well-formed low-s signature: the same bytes however it is
        written (``0x`` or not, either case, v as 27/28 or 0/1); None when it is malformed."""
        ...


class ReadingFailed(Exception):
    """A file could not be read (undecodable, over a limit, too slow); the message is the
    reason shown on the processing stage."""


@dataclass(frozen=True, slots=True)
class PageReading:
    """One page's text (``source``: ``text_layer``, ``ocr`` or ``text``) and, where a
    machine-readable zone was found on it, OCR's per-cell candidates for that zone."""

    text: str
    source: str
    mrz: list[list[Cell]] | None = None


@dataclass(frozen=True, slots=True)
class FileReading:
    pages: list[PageReading]
    # Editing traces as found (EXIF software, XMP tools, PDF revisions, producer, dates).
    traces: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


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
