"""The job queue as a table.

A claim is one ``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING``: on
PostgreSQL concurrent workers skip each other's rows instead of waiting on them; on SQLite,
which has one writer at a time, the clause is simply left out. A claim takes due queued jobs
and running jobs whose lease has lapsed (their worker died), counts an attempt and sets a
new lease. Finishing a job checks that the caller still holds it, so a worker whose lease
lapsed cannot finish a job another worker has taken over.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy import RowMapping

from kycvault.adapters.db.prepared import Prepared
from kycvault.adapters.db.repositories._base import Repo, deferrable
from kycvault.adapters.db.tables import jobs
from kycvault.domain.jobs import Job, JobKind, JobState
from kycvault.ports.persistence.records import JobBacklog


def _job(row: RowMapping) -> Job:
    return Job(
        id=row["id"],
        tenant_id=row["tenant_id"],
        kind=JobKind(row["kind"]),
        document_id=row["document_id"],
        file_id=row["file_id"],
        state=JobState(row["state"]),
        attempts=row["attempts"],
        max_attempts=row["max_attempts"],
        run_after=row["run_after"],
        created_at=row["created_at"],
        lease_until=row["lease_until"],
        locked_by=row["locked_by"],
        last_error=row["last_error"],
        finished_at=row["finished_at"],
        result=dict(row["result"] or {}),
    )


# Every upload queues two jobs: on the driver's cursor (prepared.py says why).
_INSERT = Prepared(jobs.insert())


class SqlJobs(Repo):
    @deferrable
    def add(self, job: Job) -> None:
        _INSERT.many(
            self._conn,
            [
                {
                    "id": job.id,
                    "tenant_id": job.tenant_id,
                    "kind": job.kind.value,
                    "document_id": job.document_id,
                    "file_id": job.file_id,
                    "state": job.state.value,
                    "attempts": job.attempts,
                    "max_attempts": job.max_attempts,
                    "run_after": job.run_after,
                    "lease_until": None,
                    "locked_by": None,
                    "last_error": None,
                    "result": job.result,
                    "created_at": job.created_at,
                    "finished_at": None,
                }
            ],
        )

    def claim(self, worker: str, now: datetime, lease_until: datetime, limit: int) -> list[Job]:
        due = (
            sa.select(jobs.c.id)
            .where(
                sa.or_(
                    sa.and_(jobs.c.state == JobState.QUEUED.value, jobs.c.run_after <= now),
                    sa.and_(jobs.c.state == JobState.RUNNING.value, jobs.c.lease_until < now),
                )
            )
            .order_by(jobs.c.run_after)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        ids = [row[0] for row in self._conn.execute(due)]
        if not ids:
            return []
        claimed = self._conn.execute(
            jobs.update()
            .where(jobs.c.id.in_(ids))
            .values(
                state=JobState.RUNNING.value,
                attempts=jobs.c.attempts + 1,
                lease_until=lease_until,
                locked_by=worker,
            )
            .returning(*jobs.c)
        )
        return [_job(row) for row in claimed.mappings()]

    def _finish(self, job_id: UUID, worker: str, values: dict[str, Any]) -> bool:
        done = self._conn.execute(
            jobs.update()
            .where(
                jobs.c.id == job_id,
                jobs.c.state == JobState.RUNNING.value,
                jobs.c.locked_by == worker,
            )
            .values(**values)
        )
        return done.rowcount == 1

    def complete(self, job_id: UUID, worker: str, now: datetime, result: dict[str, Any]) -> bool:
        return self._finish(
            job_id,
            worker,
            {
                "state": JobState.DONE.value,
                "finished_at": now,
                "lease_until": None,
                "result": result,
                "last_error": None,
            },
        )

    def retry(self, job_id: UUID, worker: str, error: str, run_after: datetime) -> bool:
        return self._finish(
            job_id,
            worker,
            {
                "state": JobState.QUEUED.value,
                "run_after": run_after,
                "lease_until": None,
                "locked_by": None,
                "last_error": error[:500],
            },
        )

    def bury(self, job_id: UUID, worker: str, error: str, now: datetime) -> bool:
        return self._finish(
            job_id,
            worker,
            {
                "state": JobState.DEAD.value,
                "finished_at": now,
                "lease_until": None,
                "last_error": error[:500],
            },
        )

    def for_file(self, tenant_id: UUID, file_id: UUID) -> list[Job]:
        rows = self._all(
            sa.select(jobs)
            .where(jobs.c.tenant_id == tenant_id, jobs.c.file_id == file_id)
            .order_by(jobs.c.created_at)
        )
        return [_job(row) for row in rows]

    def is_queued(self, tenant_id: UUID, kind: JobKind, payload: dict[str, str]) -> bool:
        query = sa.select(jobs.c.id).where(
            jobs.c.state == JobState.QUEUED.value,
            jobs.c.tenant_id == tenant_id,
            jobs.c.kind == kind.value,
            *(jobs.c.result[key].as_string() == value for key, value in payload.items()),
        )
        return self._conn.execute(query.limit(1)).first() is not None

    def backlog(self) -> list[JobBacklog]:
        unfinished = (JobState.QUEUED.value, JobState.RUNNING.value, JobState.DEAD.value)
        rows = self._conn.execute(
            sa.select(jobs.c.kind, jobs.c.state, sa.func.count(), sa.func.min(jobs.c.created_at))
            .where(jobs.c.state.in_(unfinished))
            .group_by(jobs.c.kind, jobs.c.state)
        ).all()
        return [JobBacklog(kind, state, int(n), oldest) for kind, state, n, oldest in rows]

    def counts(self) -> dict[str, int]:
        rows = self._conn.execute(
            sa.select(jobs.c.state, sa.func.count()).group_by(jobs.c.state)
        ).all()
        return {state: int(count) for state, count in rows}
