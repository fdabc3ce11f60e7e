"""Reading a stored file in full to prove it intact: every frame's tag, the size, and the
SHA-256 recorded at upload. Used by the check after each upload, the scrub and ``fsck``."""

from __future__ import annotations

import asyncio

from kycvault.domain.models import StoredFile
from kycvault.errors import IntegrityFailure, Unavailable
from kycvault.ports.storage import BlobMissing, BlobStoreError
from kycvault.services.context import AppContext
from kycvault.services.files import FileContent
from kycvault.services.subject_keys import file_context, wrapping_key

# What can be wrong with a stored file (``verify`` returns one, or None when it is intact).
BLOB_MISSING = "blob_missing"
WRONG_SIZE = "blob_wrong_size"
DOES_NOT_DECRYPT = "integrity_error"
CHECKSUM_MISMATCH = "checksum_mismatch"


async def verify(ctx: AppContext, stored: StoredFile) -> str | None:
    """None when the file is intact, else what is wrong with it.

    Raises:
        Unavailable: the blob store could not be read just now (nothing is known).
    """
    try:
        wrap_key = await wrapping_key(ctx, stored)
    except IntegrityFailure:  # its subject key was destroyed, or its tenant key is missing
        return DOES_NOT_DECRYPT

    def work() -> str | None:
        try:
            reader = ctx.blobs.open(stored.blob_key)
        except BlobMissing:
            return BLOB_MISSING
        try:
            if reader.size != ctx.cipher.sealed_size(stored.size):
                return WRONG_SIZE
            header = reader.read(0, ctx.cipher.header_size)
            context = file_context(stored.tenant_id, stored.id)
            try:
                opener = ctx.cipher.opener(wrap_key, stored.wrapped_dek, context, header)
                digest = FileContent(ctx, stored, reader, opener).digest()
            except IntegrityFailure:
                return DOES_NOT_DECRYPT
            return None if digest == stored.sha256 else CHECKSUM_MISMATCH
        finally:
            reader.close()

    try:
        return await asyncio.to_thread(work)
    except BlobStoreError as exc:
        raise Unavailable(
            f"the blob store could not be read: {exc}", code="storage_unavailable"
        ) from None
