"""``kycvault fsck``: check that the store keeps its promises.

- every file row's blob exists, has the size its row implies, decrypts frame by frame and
  hashes to the SHA-256 recorded at upload;
- no document's file count disagrees with its file rows, no tenant's document count with
  its documents (what a half-done change would leave);
- no unreferenced blob is older than the orphan grace period (a blob of a tenant the
  database does not know is one an interrupted import left), and no staging file is a
  leftover (its writer gone, or older than the staging grace period).

``repair`` removes the leftovers (orphan blobs and staging files) and nothing else: a damaged
or missing blob needs an operator and a backup, never an automatic guess.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kycvault.ports.storage import BlobMissing
from kycvault.services import sweep, verification
from kycvault.services.context import AppContext
from kycvault.services.sweep import Grace

_PAGE = 200


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str
    detail: dict[str, Any]
    repaired: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, **self.detail, "repaired": self.repaired}


@dataclass(slots=True)
class Report:
    files_checked: int = 0
    bytes_checked: int = 0
    blobs_listed: int = 0
    recent_orphans: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """No finding left unrepaired."""
        return all(f.repaired for f in self.findings)

    def as_dict(self) -> dict[str, Any]:
        return {
            "clean": self.clean,
            "files_checked": self.files_checked,
            "bytes_checked": self.bytes_checked,
            "blobs_listed": self.blobs_listed,
            "recent_unreferenced_blobs": self.recent_orphans,
            "findings": [f.as_dict() for f in self.findings],
        }


Progress = Callable[[int, int], None]


async def _check_files(ctx: AppContext, report: Report, verify: bool, progress: Progress) -> None:
    after = None
    while True:
        async with ctx.store.read() as uow:
            page = await uow.integrity.files_after(after, _PAGE)
        if not page:
            return
        for stored in page:
            ids = {
                "tenant_id": str(stored.tenant_id),
                "document_id": str(stored.document_id),
                "file_id": str(stored.id),
            }
            if verify:
                problem = await verification.verify(ctx, stored)
            else:
                problem = await _exists_with_size(ctx, stored.blob_key, stored.size)
            if problem is not None:
                report.findings.append(Finding(problem, ids))
            report.files_checked += 1
            report.bytes_checked += stored.size if verify else 0
            progress(report.files_checked, report.bytes_checked)
        after = page[-1].id


async def _exists_with_size(ctx: AppContext, key: str, size: int) -> str | None:
    def work() -> str | None:
        try:
            reader = ctx.blobs.open(key)
        except BlobMissing:
            return verification.BLOB_MISSING
        try:
            ok = reader.size == ctx.cipher.sealed_size(size)
            return None if ok else verification.WRONG_SIZE
        finally:
            reader.close()

    return await asyncio.to_thread(work)


async def _check_counts(ctx: AppContext, report: Report) -> None:
    async with ctx.store.read() as uow:
        files = await uow.integrity.file_count_mismatches(1000)
        documents = await uow.integrity.document_count_mismatches()
    for mismatch in files:
        detail = {
            "tenant_id": str(mismatch.tenant_id),
            "document_id": str(mismatch.document_id),
            "recorded": mismatch.recorded,
            "actual": mismatch.actual,
        }
        report.findings.append(Finding("file_count_mismatch", detail))
    for mismatch in documents:
        detail = {
            "tenant_id": str(mismatch.tenant_id),
            "recorded": mismatch.recorded,
            "actual": mismatch.actual,
        }
        report.findings.append(Finding("document_count_mismatch", detail))


async def check(
    ctx: AppContext,
    grace: Grace,
    *,
    verify: bool = True,
    repair: bool = False,
    progress: Progress | None = None,
) -> Report:
    """Check everything (see the module docstring); with ``repair``, remove leftovers."""
    report = Report()
    await _check_files(ctx, report, verify, progress or (lambda files, size: None))
    await _check_counts(ctx, report)
    leftovers = await sweep.find(ctx, grace)
    report.blobs_listed = leftovers.blobs_seen
    report.recent_orphans = leftovers.recent_orphans
    if repair and (leftovers.orphans or leftovers.staging or leftovers.unowned):
        await sweep.remove(ctx, leftovers, unowned=True)
    for kind, blobs in (
        ("unreferenced_blob", leftovers.orphans),
        ("blob_of_unknown_tenant", leftovers.unowned),
    ):
        for blob in blobs:
            detail = {"key": blob.key, "size": blob.size, "age_seconds": round(blob.age_seconds)}
            report.findings.append(Finding(kind, detail, repaired=repair))
    for staged in leftovers.staging:
        detail = {
            "name": staged.name,
            "size": staged.size,
            "age_seconds": round(staged.age_seconds),
            "writer_gone": staged.owner_gone,
        }
        report.findings.append(Finding("staging_leftover", detail, repaired=repair))
    return report
