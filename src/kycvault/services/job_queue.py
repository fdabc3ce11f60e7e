"""Enqueueing background jobs, inside the unit of work that makes what they are about: a
committed file always has its job, a rolled-back one never does (see ``workers.py``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from kycvault.domain.jobs import Job, JobKind, JobState
from kycvault.domain.models import StoredFile
from kycvault.services.context import Vault
from kycvault.services.unit_of_work import UnitOfWork


async def enqueue_file_checks(vault: Vault, uow: UnitOfWork, stored: Sequence[StoredFile]) -> None:
    now = vault.clock()
    for item in stored:
        await uow.jobs.add(
            Job(
                id=uuid.uuid4(),
                tenant_id=item.tenant_id,
                kind=JobKind.VERIFY_FILE,
                document_id=item.document_id,
                file_id=item.id,
                state=JobState.QUEUED,
                attempts=0,
                max_attempts=vault.jobs.max_attempts,
                run_after=now,
                created_at=now,
            )
        )
