"""The upload hot path: one pass over each file's bytes with bounded memory.

For every file part the HTTP layer feeds bytes as they arrive; ``FileIntake``
- counts them and stops at the size cap (``413`` after reading at most one chunk too many),
- sniffs the first bytes and checks them against the allow-list and the extension before a
  single byte is written,
- coalesces the stream into ``Cipher.chunk_size`` batches and hands each to a worker thread
  that searches it for markup (text files), hashes it (SHA-256 of the plaintext), streams it
  to the malware scanner (when there is one), encrypts it and writes it to a staging blob,
  while the event loop goes on receiving the next batch (``hashlib``, AES-GCM, socket and
  ``write`` calls release the GIL, and ``fsync`` never runs on the loop),
- at the end makes the staged blob durable and waits for the scanner's verdict: a file that
  is not known to be clean is refused, and discarded like any refused upload.

Plaintext exists only in these in-memory batches: it never reaches a disk, a temp file or a
spool. ``UploadSession`` owns the staged files of one request: ``publish`` moves them into
place (without overwriting) once the request is known to be valid, ``discard`` removes them
when anything fails.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from dataclasses import dataclass
from uuid import UUID

from kycvault import crashpoints
from kycvault.domain.filenames import extension_of, sanitize_filename
from kycvault.domain.media import (
    ALLOWED_EXTENSIONS,
    check_extension,
    decide_media_type,
    holds_text,
    markup_refused,
)
from kycvault.domain.scopes import Scope
from kycvault.errors import MalwareDetected, PayloadTooLarge, Unavailable, UnprocessableContent
from kycvault.ports.cipher import Sealer
from kycvault.ports.scanning import ScannerUnavailable, ScanStream, ScanVerdict
from kycvault.ports.sniffing import MarkupScan
from kycvault.ports.storage import BlobStoreError, BlobWriter
from kycvault.services.authorization import require
from kycvault.services.context import Actor, AppContext
from kycvault.services.subject_keys import file_context


@dataclass(frozen=True, slots=True)
class StagedFile:
    """A file received in full and staged durably, but not yet published or recorded."""

    id: UUID
    field_index: int
    blob_key: str
    filename: str | None
    content_type: str
    size: int
    sha256: str
    wrapped_dek: bytes
    kek_id: UUID
    # Set once bound to its subject's key (``subject_keys.bind``); until then the tenant key
    # ``kek_id`` wraps the data key.
    subject_key_id: UUID | None = None


def blob_key(tenant_id: UUID, file_id: UUID) -> str:
    return f"{tenant_id.hex}/{file_id.hex}"


def _store_failure(exc: BlobStoreError) -> Unavailable:
    return Unavailable(f"the file could not be stored: {exc}", code="storage_unavailable")


def _scan_failure(exc: ScannerUnavailable) -> Unavailable:
    # Fail closed: a file the scanner could not look at is not stored.
    return Unavailable(
        f"the file could not be scanned for malware: {exc}", code="malware_scan_unavailable"
    )


def _not_clean(verdict: ScanVerdict, sha256: str) -> MalwareDetected:
    if verdict.incomplete:
        return MalwareDetected(
            "the file could not be fully scanned for malware (it exceeds the scanner's limits)",
            sha256=sha256,
            signature=verdict.signature or "limits exceeded",
            code="malware_scan_incomplete",
        )
    return MalwareDetected(
        "the file contains malware and was not stored",
        sha256=sha256,
        signature=verdict.signature or "unknown",
    )


class FileIntake:
    def __init__(
        self,
        *,
        ctx: AppContext,
        tenant_id: UUID,
        kek_id: UUID,
        tenant_key: bytes,
        field_index: int,
        filename: str | None,
        allowed_extensions: frozenset[str] = ALLOWED_EXTENSIONS,
        max_file_size: int | None = None,
    ) -> None:
        self._ctx = ctx
        self._chunk = ctx.cipher.chunk_size
        self._head = ctx.sniffer.head_size
        self._max = max_file_size or ctx.limits.max_file_size
        self.field_index = field_index
        self.filename = sanitize_filename(filename, field=f"files.{field_index}")
        self._extension = extension_of(self.filename)
        # Refuse a forbidden extension before reading any of the content.
        check_extension(self._extension, allowed=allowed_extensions)
        self.id = uuid.uuid4()
        self._tenant_id = tenant_id
        self._kek_id = kek_id
        self._key = blob_key(tenant_id, self.id)
        self._sealer: Sealer
        self._sealer, self._wrapped_dek = ctx.cipher.new_sealer(
            tenant_key, file_context(tenant_id, self.id)
        )
        self._writer: BlobWriter | None = None
        self._buffer = bytearray()
        self._size = 0
        self._hash = hashlib.sha256()
        self._media_type: str | None = None
        self._pending: asyncio.Future[None] | None = None
        self._wrote_header = False
        self._markup: MarkupScan | None = None
        self._scan: ScanStream | None = None
        self.published = False

    @property
    def size(self) -> int:
        return self._size

    async def feed(self, data: bytes | memoryview) -> None:
        if not data:
            return
        self._size += len(data)
        if self._size > self._max:
            raise PayloadTooLarge(
                f"the file is larger than the limit of {self._max} bytes", code="file_too_large"
            )
        self._buffer += data
        if self._media_type is None and len(self._buffer) >= self._head:
            self._sniff()
        # Keep at least one byte back: the last frame must be sealed as final, and only
        # finish() knows which one that is.
        while len(self._buffer) > self._chunk:
            batch = bytes(self._buffer[: self._chunk])
            del self._buffer[: self._chunk]
            await self._submit(batch, final=False)

    async def finish(self) -> StagedFile:
        if self._size == 0:
            raise UnprocessableContent("the file is empty", code="empty_file")
        if self._media_type is None:
            self._sniff()
        batch = bytes(self._buffer)
        self._buffer.clear()
        await self._submit(batch, final=True)
        await self._drain()
        assert self._media_type is not None
        return StagedFile(
            id=self.id,
            field_index=self.field_index,
            blob_key=self._key,
            filename=self.filename,
            content_type=self._media_type,
            size=self._size,
            sha256=self._hash.hexdigest(),
            wrapped_dek=self._wrapped_dek,
            kek_id=self._kek_id,
        )

    async def discard(self) -> None:
        if self._pending is not None:
            await asyncio.gather(self._pending, return_exceptions=True)
            self._pending = None
        scan, self._scan = self._scan, None
        if scan is not None:
            scan.close()
        writer = self._writer
        if writer is not None:
            await asyncio.to_thread(writer.discard)

    async def publish(self) -> None:
        assert self._writer is not None
        try:
            await asyncio.to_thread(self._writer.publish)
        except BlobStoreError as exc:
            raise _store_failure(exc) from None
        self.published = True

    def _sniff(self) -> None:
        detected = self._ctx.sniffer.sniff(bytes(self._buffer[: self._head]))
        self._media_type = decide_media_type(detected, self._extension)
        if holds_text(self._media_type):
            # The sniffer saw the head only; markup padded past it is found batch by batch.
            self._markup = self._ctx.sniffer.markup_scan()

    async def _submit(self, batch: bytes, *, final: bool) -> None:
        await self._drain()
        self._pending = asyncio.ensure_future(asyncio.to_thread(self._process, batch, final))

    async def _drain(self) -> None:
        if self._pending is None:
            return
        pending, self._pending = self._pending, None
        try:
            await pending
        except BlobStoreError as exc:
            raise _store_failure(exc) from None
        except ScannerUnavailable as exc:
            raise _scan_failure(exc) from None

    def _process(self, batch: bytes, final: bool) -> None:
        """Runs in a worker thread: look for markup, hash, scan, encrypt, write; at the end
        make it durable and have the scanner's verdict."""
        if self._markup is not None and self._markup.found_in(batch):
            raise markup_refused()
        scanner = self._ctx.scanner
        if scanner is not None and self._scan is None:
            self._scan = scanner.open()
        if self._writer is None:
            self._writer = self._ctx.blobs.create(self._key)
        self._hash.update(batch)
        if self._scan is not None:
            self._scan.write(batch)
        if not self._wrote_header:
            self._writer.write(self._sealer.header())
            self._wrote_header = True
        self._writer.write(self._sealer.seal(batch, final=final))
        if final:
            self._writer.finish()
            if self._scan is not None:
                verdict = self._scan.verdict()
                self._scan = None
                if not verdict.clean:
                    raise _not_clean(verdict, self._hash.hexdigest())
            crashpoints.reached("upload.staged")
        else:
            crashpoints.reached("upload.mid_body")


class UploadSession:
    """The files of one request, from the first byte to publication."""

    def __init__(
        self,
        ctx: AppContext,
        tenant_id: UUID,
        kek_id: UUID,
        tenant_key: bytes,
        allowed_extensions: frozenset[str] = ALLOWED_EXTENSIONS,
        max_file_size: int | None = None,
    ) -> None:
        self._ctx = ctx
        self._tenant_id = tenant_id
        self._kek_id = kek_id
        self._tenant_key = tenant_key
        # A dialect may narrow the allow-list and the size limit to what its vendor documents
        # (never widen them).
        self._allowed = allowed_extensions & ALLOWED_EXTENSIONS
        limit = ctx.limits.max_file_size
        self._max_file_size = min(max_file_size, limit) if max_file_size else limit
        self.intakes: list[FileIntake] = []
        self.staged: list[StagedFile] = []

    @classmethod
    async def open(
        cls,
        ctx: AppContext,
        tenant_id: UUID,
        *,
        allowed_extensions: frozenset[str] = ALLOWED_EXTENSIONS,
        max_file_size: int | None = None,
    ) -> UploadSession:
        kek_id, key = await ctx.keyring.current(tenant_id)
        return cls(ctx, tenant_id, kek_id, key, allowed_extensions, max_file_size)

    def start_file(self, filename: str | None) -> FileIntake:
        intake = FileIntake(
            ctx=self._ctx,
            tenant_id=self._tenant_id,
            kek_id=self._kek_id,
            tenant_key=self._tenant_key,
            field_index=len(self.intakes),
            filename=filename,
            allowed_extensions=self._allowed,
            max_file_size=self._max_file_size,
        )
        self.intakes.append(intake)
        return intake

    async def finish_file(self, intake: FileIntake) -> StagedFile:
        staged = await intake.finish()
        self.staged.append(staged)
        return staged

    async def publish(self) -> None:
        """Move every staged file into place; on failure nothing stays published."""
        try:
            for intake in self.intakes:
                await intake.publish()
        except BaseException:
            await self.discard()
            raise
        crashpoints.reached("upload.published")

    async def discard(self) -> None:
        """Remove every blob of the request, staged or published."""
        for intake in self.intakes:
            await intake.discard()

    async def discard_unpublished(self) -> None:
        """Remove what was staged but never published (a rejected or replayed request)."""
        for intake in self.intakes:
            if not intake.published:
                await intake.discard()


async def open_upload(
    ctx: AppContext,
    actor: Actor,
    *,
    allowed_extensions: frozenset[str] = ALLOWED_EXTENSIONS,
    max_file_size: int | None = None,
) -> UploadSession:
    """A session for the files of one request of ``actor``'s. Every upload becomes documents
    or their files, so it needs ``documents:write``, checked before a byte is read."""
    await require(ctx, actor, Scope.DOCUMENTS_WRITE)
    return await UploadSession.open(
        ctx, actor.tenant_id, allowed_extensions=allowed_extensions, max_file_size=max_file_size
    )
