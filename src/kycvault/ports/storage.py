"""The blob-store port: where encrypted blobs live.

Every method of this port *blocks* (disk, network): the services call them from worker
threads, never on the event loop, so that a 128 MiB upload does not stall other requests.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol


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

    # An optional capability: the store's own legal hold on a blob (S3 Object Lock), which
    # keeps it from deletion by anyone with access to the store, not just through the vault.

    def supports_legal_hold(self) -> bool:
        """Whether ``set_legal_hold`` does anything here (found out once, then remembered)."""
        ...

    def set_legal_hold(self, key: str, on: bool) -> None:
        """Set (``on``) or clear the store's legal hold on a blob; nothing where the store does
        not support it, or for a missing blob. ``BlobStoreError`` if the store fails."""
        ...
