"""Moving a whole vault between shapes (embedded ↔ scaled-out): ``export`` writes every row
and every blob, still encrypted, to a directory; ``import`` loads it into an empty vault.

Layout of an export::

    manifest.json        format, schema revision, master-key fingerprint, per-table digests
    manifest.sig         HMAC-SHA256 of manifest.json under a key derived from the master key
    rows/<table>.jsonl   every row (see adapters/db/transfer.py)
    blobs.jsonl          every blob: key, size, SHA-256 of its ciphertext
    subject-keys.jsonl   the subject-key store's keys, wrapped by their tenant keys
    blobs/<tenant>/<id>  the ciphertext, byte for byte

Nothing is decrypted on the way: the target must run with the same master key, which the
manifest's fingerprint checks before anything is written. The manifest's MAC is checked next
(digests alone could be recomputed by whoever edits a row file; the MAC key never leaves the
vault), then every blob and every row file against its SHA-256. Blobs are published before
the rows are committed, so an interrupted import leaves unreferenced blobs at worst, never a
row without its blob.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from kycvault import crashpoints
from kycvault.domain import signed_manifest
from kycvault.errors import CommitUncertain, Conflict, IntegrityFailure, InvalidInput
from kycvault.ports.keystore import SubjectKeyRecord
from kycvault.ports.storage import BlobExists, BlobStore
from kycvault.services import vault_keys
from kycvault.services.context import AppContext

FORMAT = "kycvault-export"
VERSION = 1
# The manifest's MAC key (``Cipher.derive_secret``), used for nothing else.
MAC_LABEL = "export-mac/v1"
_PIECE = 1024 * 1024
_KEY_BATCH = 1000
# Told after each blob: (bytes copied so far, the total when known). Called from a thread.
Progress = Callable[[int, int | None], None]


@dataclass(frozen=True, slots=True)
class TransferSummary:
    tables: dict[str, int]
    blobs: int
    blob_bytes: int


def key_fingerprint(ctx: AppContext) -> str:
    return hashlib.sha256(ctx.cipher.derive_secret("export-fingerprint")).hexdigest()[:32]


def _blob_file(directory: Path, key: str) -> Path:
    tenant, name = key.split("/")
    return directory / "blobs" / tenant / name


def _copy_out(blobs: BlobStore, key: str, target: Path) -> tuple[int, str]:
    target.parent.mkdir(parents=True, exist_ok=True)
    reader = blobs.open(key)
    digest = hashlib.sha256()
    try:
        with target.open("xb") as out:
            for offset in range(0, reader.size, _PIECE):
                piece = reader.read(offset, _PIECE)
                digest.update(piece)
                out.write(piece)
    finally:
        reader.close()
    return reader.size, digest.hexdigest()


def _copy_in(blobs: BlobStore, key: str, source: Path, size: int, sha256: str) -> bool:
    """Publish one exported blob, checked against its digest; False when the very same blob
    is in place already (an import that was interrupted is simply run again)."""
    writer = blobs.create(key)
    digest = hashlib.sha256()
    try:
        with source.open("rb") as handle:
            while piece := handle.read(_PIECE):
                digest.update(piece)
                writer.write(piece)
        written = writer.finish()
        if written != size or digest.hexdigest() != sha256:
            raise IntegrityFailure(f"blob {key} in the export does not match its digest")
        writer.publish()
    except BlobExists:
        writer.discard()
        if _stored_digest(blobs, key) != (size, sha256):
            raise IntegrityFailure(f"another blob is stored under {key}") from None
        return False
    except BaseException:
        writer.discard()
        raise
    return True


def _stored_digest(blobs: BlobStore, key: str) -> tuple[int, str]:
    reader = blobs.open(key)
    try:
        digest = hashlib.sha256()
        for offset in range(0, reader.size, _PIECE):
            digest.update(reader.read(offset, _PIECE))
        return reader.size, digest.hexdigest()
    finally:
        reader.close()


def _prepare(directory: Path) -> None:
    if directory.exists() and any(directory.iterdir()):
        raise InvalidInput("the export directory must be new or empty", code="export_exists")
    directory.mkdir(parents=True, exist_ok=True)


def _export_blobs(
    blobs: BlobStore, keys: Iterator[str], directory: Path, progress: Progress | None
) -> dict[str, Any]:
    count = total = 0
    listing = hashlib.sha256()
    with (directory / "blobs.jsonl").open("wb") as index:
        for key in keys:
            size, digest = _copy_out(blobs, key, _blob_file(directory, key))
            line = json.dumps({"key": key, "size": size, "sha256": digest}).encode() + b"\n"
            listing.update(line)
            index.write(line)
            count, total = count + 1, total + size
            if progress is not None:
                progress(total, None)
    return {"count": count, "bytes": total, "sha256": listing.hexdigest()}


async def export_vault(
    ctx: AppContext, directory: Path, *, revision: str | None, progress: Progress | None = None
) -> TransferSummary:
    await asyncio.to_thread(_prepare, directory)
    tables = await ctx.store.export_rows(directory / "rows")
    keys = ctx.store.exported_blob_keys(directory / "rows")
    blobs = await asyncio.to_thread(_export_blobs, ctx.blobs, keys, directory, progress)
    subject_keys = await _export_subject_keys(ctx, directory / "subject-keys.jsonl")
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "revision": revision,
        "exported_at": ctx.clock().isoformat(),
        "key_fingerprint": key_fingerprint(ctx),
        "tables": tables,
        "blobs": blobs,
        "subject_keys": subject_keys,
    }
    text = (json.dumps(manifest, indent=2) + "\n").encode()
    signature = signed_manifest.sign(ctx.cipher.derive_secret(MAC_LABEL), MAC_LABEL, text)
    await asyncio.to_thread((directory / "manifest.json").write_bytes, text)
    await asyncio.to_thread((directory / signed_manifest.SIGNATURE_NAME).write_bytes, signature)
    rows = {name: t["rows"] for name, t in tables.items()}
    return TransferSummary(rows, blobs["count"], blobs["bytes"])


def _manifest(ctx: AppContext, directory: Path, revision: str | None) -> dict[str, Any]:
    try:
        text = (directory / "manifest.json").read_bytes()
        manifest: dict[str, Any] = json.loads(text)
    except (OSError, ValueError):
        raise InvalidInput("no readable manifest.json in the export", code="bad_export") from None
    if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        raise InvalidInput("not a kycvault export of a known version", code="bad_export")
    _adopt_root(ctx, directory)
    if manifest.get("key_fingerprint") != key_fingerprint(ctx):
        raise InvalidInput(
            "the export was made under another master key; start the target with the source's key",
            code="master_key_mismatch",
        )
    _check_signature(ctx, directory, text)
    if manifest.get("revision") != revision:
        raise InvalidInput(
            f"the export is at schema {manifest.get('revision')}, this vault at {revision}: "
            "use the same kycvault version on both sides",
            code="schema_mismatch",
        )
    return manifest


def _adopt_root(ctx: AppContext, directory: Path) -> None:
    """Take the export's root secret (unwrapped under this vault's master key), which every
    derived value in the export came from (the fingerprint, the manifest's MAC, API keys)."""
    mismatch = InvalidInput(
        "the export was made under another master key; start the target with the source's key",
        code="master_key_mismatch",
    )
    try:
        records = ctx.store.exported_vault_keys(directory / "rows")
        root = vault_keys.open_vault_key(ctx.cipher, vault_keys.current_root(records))
    except OSError:
        raise InvalidInput("the export has no vault_keys rows", code="bad_export") from None
    except IntegrityFailure:
        raise mismatch from None
    ctx.cipher.use_root(root)


def _check_signature(ctx: AppContext, directory: Path, manifest: bytes) -> None:
    """The manifest's MAC, before anything it lists is trusted. An export made before
    manifests were signed is refused too: nothing could tell it from an edited one."""
    try:
        signature = (directory / signed_manifest.SIGNATURE_NAME).read_bytes()
    except FileNotFoundError:
        raise InvalidInput(
            f"the export has no {signed_manifest.SIGNATURE_NAME}, so its manifest cannot be "
            "proven unaltered (an export made by an older kycvault: export it again with "
            "this version)",
            code="unsigned_export",
        ) from None
    key = ctx.cipher.derive_secret(MAC_LABEL)
    refused = signed_manifest.check(key, MAC_LABEL, manifest, signature)
    if refused is not None:
        raise IntegrityFailure(
            f"manifest.json is not as exported: {refused}", code="manifest_mac_mismatch"
        )


def _import_blobs(
    blobs: BlobStore,
    directory: Path,
    expected: dict[str, Any],
    published: list[str],
    progress: Progress | None,
) -> int:
    """Copy every blob in, checked; the keys published so far go into ``published``."""
    listing, total = hashlib.sha256(), 0
    with (directory / "blobs.jsonl").open("rb") as index:
        for line in index:
            listing.update(line)
            entry = json.loads(line)
            key, size = str(entry["key"]), int(entry["size"])
            if _copy_in(blobs, key, _blob_file(directory, key), size, str(entry["sha256"])):
                published.append(key)
            total += size
            if progress is not None:
                progress(total, int(expected["bytes"]))
    if listing.hexdigest() != expected["sha256"]:
        raise IntegrityFailure("blobs.jsonl does not match the manifest")
    return total


async def import_vault(
    ctx: AppContext, directory: Path, *, revision: str | None, progress: Progress | None = None
) -> TransferSummary:
    # First: reading the manifest takes over the export's root secret (see _adopt_root),
    # which only an empty vault may do.
    async with ctx.store.read() as uow:
        if await uow.tenants.list_all():
            raise Conflict("the target vault is not empty", code="vault_not_empty")
    manifest = await asyncio.to_thread(_manifest, ctx, directory, revision)
    published: list[str] = []
    try:
        total = await asyncio.to_thread(
            _import_blobs, ctx.blobs, directory, manifest["blobs"], published, progress
        )
        crashpoints.reached("import.blobs_published")
        # Before the rows: a file row must never name a key the target lacks.
        await _import_subject_keys(ctx, directory / "subject-keys.jsonl", manifest)
        await ctx.store.import_rows(directory / "rows", manifest["tables"])
        crashpoints.reached("import.rows_committed")
    except CommitUncertain:
        raise  # the rows may be committed: their blobs stay (fsck finds them if not)
    except ValueError as exc:  # a row file that does not match the manifest
        await _unpublish(ctx, published)
        raise IntegrityFailure(str(exc)) from None
    except OSError as exc:  # a file of the export is missing or unreadable
        await _unpublish(ctx, published)
        raise InvalidInput(
            f"the export is incomplete ({exc.strerror}: {exc.filename})", code="bad_export"
        ) from None
    except BaseException:
        await _unpublish(ctx, published)
        raise
    tables = {name: int(t["rows"]) for name, t in manifest["tables"].items()}
    return TransferSummary(tables, len(published), total)


async def _export_subject_keys(ctx: AppContext, path: Path) -> dict[str, Any]:
    """The subject-key store's records (still wrapped by their tenant keys): an export is a
    backup, and without them no file of a subject could be read in the target."""
    digest, count, after = hashlib.sha256(), 0, None
    with path.open("xb") as out:
        while batch := await ctx.subject_keys.store.page(after, _KEY_BATCH):
            for record in batch:
                line = (json.dumps(_key_row(record), sort_keys=True) + "\n").encode()
                digest.update(line)
                out.write(line)
            count, after = count + len(batch), batch[-1].id
    return {"count": count, "sha256": digest.hexdigest()}


def _key_row(record: SubjectKeyRecord) -> dict[str, Any]:
    return {
        "id": str(record.id),
        "tenant_id": str(record.tenant_id),
        "subject_id": str(record.subject_id),
        "generation": record.generation,
        "wrapped_key": base64.b64encode(record.wrapped_key).decode(),
        "tenant_key_id": str(record.tenant_key_id),
        "created_at": record.created_at.isoformat(),
        "retired": record.retired,
    }


async def _import_subject_keys(ctx: AppContext, path: Path, manifest: dict[str, Any]) -> None:
    expected = manifest.get("subject_keys")
    if expected is None:
        return  # an export made before subject keys existed
    data = await asyncio.to_thread(path.read_bytes)
    if hashlib.sha256(data).hexdigest() != expected["sha256"]:
        raise IntegrityFailure("subject-keys.jsonl does not match the manifest")
    for line in data.splitlines():
        row = json.loads(line)
        await ctx.subject_keys.store.add(
            SubjectKeyRecord(
                id=UUID(row["id"]),
                tenant_id=UUID(row["tenant_id"]),
                subject_id=UUID(row["subject_id"]),
                generation=int(row["generation"]),
                wrapped_key=base64.b64decode(row["wrapped_key"]),
                tenant_key_id=UUID(row["tenant_key_id"]),
                created_at=datetime.fromisoformat(row["created_at"]),
                retired=bool(row["retired"]),
            )
        )


async def _unpublish(ctx: AppContext, keys: list[str]) -> None:
    for key in keys:
        await asyncio.to_thread(ctx.blobs.delete, key)


def describe(summary: TransferSummary, started: datetime, ended: datetime) -> str:
    rows = sum(summary.tables.values())
    seconds = (ended - started).total_seconds()
    return (
        f"{rows} rows in {len(summary.tables)} tables, {summary.blobs} blobs "
        f"({summary.blob_bytes / 1e6:.1f} MB) in {seconds:.1f} s"
    )
