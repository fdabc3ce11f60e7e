"""Background jobs: work that follows a write (checking a stored file, later reading it) and
runs outside the request, at least once, on whichever worker claims it first."""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID


class JobState(enum.StrEnum):
    QUEUED = "queued"  # waiting for ``run_after``
    RUNNING = "running"  # claimed; the claim lapses at ``lease_until``
    DONE = "done"
    DEAD = "dead"  # failed ``max_attempts`` times; kept for an operator to look at


class JobKind(enum.StrEnum):
    # Re-read a freshly stored file from the blob store, check every frame and the SHA-256:
    # proves the store kept what it acknowledged.
    VERIFY_FILE = "file.verify"
    # Read a document's files: text and OCR, MRZ, classification, authenticity signals.
    PROCESS_DOCUMENT = "document.process"
    # Move a subject's remaining files under a new generation of its key and destroy the
    # older ones, after a deletion: what was deleted is then shredded in backups too. The
    # subject is named in the job's payload (``Job.result`` while queued).
    REKEY_SUBJECT = "subject.rekey"


@dataclass(slots=True)
class Job:
    id: UUID
    tenant_id: UUID
    kind: JobKind
    document_id: UUID | None
    file_id: UUID | None
    state: JobState
    attempts: int
    max_attempts: int
    run_after: datetime
    created_at: datetime
    lease_until: datetime | None = None
    locked_by: str | None = None
    last_error: str | None = None
    finished_at: datetime | None = None
    result: dict[str, Any] = field(default_factory=dict)


def retry_delay(attempts: int, *, base: float = 2.0, cap: float = 600.0) -> timedelta:
    """Exponential backoff with full jitter after the ``attempts``-th failure: spreads the
    retries of many jobs that failed together (a store outage) instead of herding them."""
    ceiling = min(cap, base * 2 ** max(0, attempts - 1))
    return timedelta(seconds=random.uniform(ceiling / 2, ceiling))  # noqa: S311
