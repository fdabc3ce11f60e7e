"""The repositories of the persistence port, one per kind of row.

Every repository method that touches tenant data takes the tenant id, so a missing filter
cannot leak another tenant's rows. Repository errors are translated by the adapter (a
unique-constraint clash becomes ``Conflict``, a lost connection ``Unavailable``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol
from uuid import UUID

from kycvault.domain.catalog import DocumentType
from kycvault.domain.jobs import Job, JobKind
from kycvault.domain.listing import DocumentQuery, SubjectQuery
from kycvault.domain.models import (
    ApiKey,
    Document,
    FileAnswer,
    QuestionnaireResponse,
    StoredFile,
    Subject,
    Tenant,
)
from kycvault.domain.processing import Processing
from kycvault.domain.review import Review
from kycvault.domain.types import FileRole
from kycvault.ports.persistence.records import (
    AuditChainHead,
    AuditEvent,
    AuditFilter,
    CountMismatch,
    DownloadLink,
    IdempotencyRecord,
    JobBacklog,
    Seek,
    TenantKeyRecord,
)


class TenantRepository(Protocol):
    async def add(self, tenant: Tenant) -> None: ...
    async def get(self, tenant_id: UUID) -> Tenant | None: ...
    async def get_by_name(self, name: str) -> Tenant | None: ...
    async def get_by_number(self, number: int) -> Tenant | None: ...
    async def get_by_sila_app_handle(self, handle: str) -> Tenant | None: ...
    async def set_sila_app(
        self, tenant_id: UUID, handle: str | None, address: str | None
    ) -> None: ...
    async def set_settings(self, tenant_id: UUID, settings: dict[str, Any]) -> None: ...
    async def list_all(self) -> list[Tenant]: ...
    async def next_number(self) -> int: ...
    async def allocate(self, tenant_id: UUID, kind: Literal["subject", "document"]) -> int:
        """The next per-tenant number for a subject or document (atomic within the unit)."""
        ...

    async def number_document(self, tenant_id: UUID) -> tuple[int, dict[str, Any]]:
        """``allocate(tenant_id, "document")`` and the tenant's settings with it: a new
        document needs both, and they come in one statement."""
        ...

    async def lock(self, tenant_id: UUID) -> None:
        """Hold the tenant's row until the unit ends: tenant-wide checks (a unique label)
        made after it see every concurrent change committed before it."""
        ...

    async def add_key(self, record: TenantKeyRecord) -> None: ...
    async def current_key(self, tenant_id: UUID) -> TenantKeyRecord | None: ...
    async def get_key(self, tenant_id: UUID, key_id: UUID) -> TenantKeyRecord | None: ...
    async def retire_keys(self, tenant_id: UUID, keep: UUID, at: datetime) -> None:
        """Retire every key of the tenant but ``keep``: they open what they wrap, and wrap
        nothing new."""
        ...

    async def retired_keys(self, tenant_id: UUID) -> list[UUID]: ...


class ApiKeyRepository(Protocol):
    async def add(self, key: ApiKey, secret_hash: bytes) -> None: ...
    async def find(self, key_id: str) -> tuple[ApiKey, bytes] | None: ...
    async def list_for(self, tenant_id: UUID) -> list[ApiKey]: ...
    async def revoke(self, key_id: str, at: datetime) -> ApiKey | None: ...


class SubjectRepository(Protocol):
    async def add(self, subject: Subject) -> None: ...
    async def get(self, tenant_id: UUID, subject_id: UUID) -> Subject | None: ...
    async def get_by_number(self, tenant_id: UUID, number: int) -> Subject | None: ...
    async def get_by_external_id(self, tenant_id: UUID, external_id: str) -> Subject | None: ...
    async def update(self, subject: Subject) -> None: ...
    async def delete(self, tenant_id: UUID, subject_id: UUID) -> None: ...
    async def has_documents(self, tenant_id: UUID, subject_id: UUID) -> bool: ...
    async def has_members(self, tenant_id: UUID, subject_id: UUID) -> bool: ...
    async def members(self, tenant_id: UUID, subject_id: UUID, limit: int) -> list[Subject]:
        """Up to ``limit`` subjects whose parent is ``subject_id`` (a company's KYB
        members), oldest first."""
        ...

    async def with_review_status(
        self, tenant_id: UUID, statuses: tuple[str, ...], limit: int
    ) -> list[UUID]:
        """Up to ``limit`` ids of subjects with a document whose review status is one of
        ``statuses``."""
        ...

    async def document_ids(self, tenant_id: UUID, subject_id: UUID) -> list[UUID]: ...
    async def page(
        self, tenant_id: UUID, seek: Seek, query: SubjectQuery | None = None
    ) -> list[Subject]:
        """A keyset page of the tenant's subjects, of those ``query`` lets through when given."""
        ...


class DocumentRepository(Protocol):
    async def add(self, document: Document) -> None: ...
    async def get(
        self, tenant_id: UUID, document_id: UUID, *, for_update: bool = False
    ) -> Document | None:
        """The document with its files (in upload order). ``for_update`` locks its row until
        the unit ends, so concurrent file uploads to one document are counted correctly."""
        ...

    async def file_of(
        self, tenant_id: UUID, document_id: UUID, file_id: UUID
    ) -> tuple[UUID | None, StoredFile | None] | None:
        """One file of a document and the document's subject, without the rest of the
        document: None when there is no such document, no file when it has no such one."""
        ...

    async def get_by_number(self, tenant_id: UUID, number: int) -> Document | None: ...
    async def get_many(self, tenant_id: UUID, document_ids: Sequence[UUID]) -> list[Document]:
        """The documents found among ``document_ids``, with their files, in no set order."""
        ...

    async def update(self, document: Document) -> None:
        """Its fields and derived columns; never its review (``set_review``)."""
        ...

    async def set_review(self, tenant_id: UUID, document_id: UUID, review: Review) -> None:
        """Store the document's current review (and nothing else of it)."""
        ...

    async def sync_files(self, tenant_id: UUID, document_id: UUID) -> None:
        """Recompute what a document derives from its files, after files change."""
        ...

    async def delete(self, tenant_id: UUID, document_id: UUID) -> None:
        """Delete the document and its file rows."""
        ...

    async def page(self, tenant_id: UUID, query: DocumentQuery, seek: Seek) -> list[Document]: ...
    async def set_processing(
        self,
        tenant_id: UUID,
        document_id: UUID,
        processing: Processing,
        *,
        extracted_number: str | None = None,
        content: str | None = None,
    ) -> None:
        """Store a document's processing state; with ``content`` (empty for none) also its
        extracted number and the text its search may find."""
        ...

    async def holders_of_number(
        self, tenant_id: UUID, numbers: Sequence[str], other_than: UUID | None
    ) -> int: ...
    async def holders_of_file(
        self, tenant_id: UUID, digests: Sequence[str], other_than: UUID | None
    ) -> int: ...
    async def put_text(
        self,
        tenant_id: UUID,
        document_id: UUID,
        sealed: bytes | None,
        characters: int,
        at: datetime,
    ) -> None:
        """Replace the document's text record (``None``: remove it)."""
        ...

    async def get_text(self, tenant_id: UUID, document_id: UUID) -> bytes | None: ...
    async def page_at(
        self, tenant_id: UUID, query: DocumentQuery, *, offset: int, limit: int
    ) -> list[Document]: ...
    async def count(self, tenant_id: UUID, query: DocumentQuery) -> int: ...


class FileRepository(Protocol):
    async def add(self, stored: StoredFile) -> None: ...
    async def count(self, tenant_id: UUID, document_id: UUID) -> int: ...
    async def next_position(self, tenant_id: UUID, document_id: UUID) -> int: ...
    async def delete(self, tenant_id: UUID, file_id: UUID) -> None: ...
    async def set_role(self, tenant_id: UUID, file_id: UUID, role: FileRole | None) -> None: ...
    async def rewrap(
        self,
        tenant_id: UUID,
        file_id: UUID,
        wrapped_dek: bytes,
        subject_key_id: UUID | None,
        kek_id: UUID | None = None,
    ) -> None:
        """Store a file's data key wrapped anew (by ``subject_key_id``, or the tenant key;
        ``kek_id`` when that changes too)."""
        ...

    async def under_tenant_keys(
        self, tenant_id: UUID, key_ids: Sequence[UUID], limit: int
    ) -> list[tuple[StoredFile, UUID | None]]:
        """Files whose data key one of ``key_ids`` wraps directly (no subject key), each
        with its document's subject."""
        ...

    async def of_subject_under(
        self, tenant_id: UUID, subject_id: UUID, key_ids: Sequence[UUID], limit: int
    ) -> list[StoredFile]:
        """Up to ``limit`` files of the subject's documents whose data key one of the subject
        keys ``key_ids`` wraps, or no subject key at all (files stored before subject keys)."""
        ...


class DocumentTypeRepository(Protocol):
    async def add(self, tenant_id: UUID, doc_type: DocumentType, at: datetime, by: str) -> None: ...
    async def list_for(self, tenant_id: UUID) -> list[DocumentType]: ...


class DownloadLinkRepository(Protocol):
    async def add(self, link: DownloadLink) -> None: ...
    async def find(self, token_hash: bytes) -> DownloadLink | None: ...
    async def consume(self, token_hash: bytes, now: datetime) -> DownloadLink | None:
        """Mark an unused, unexpired link used and return it, atomically: of any number of
        concurrent calls for one token exactly one gets the link."""
        ...

    async def purge_expired(self, before: datetime) -> int: ...


class IdempotencyRepository(Protocol):
    async def claim(self, record: IdempotencyRecord) -> IdempotencyRecord | None:
        """Insert ``record`` unless its key exists; return the existing record if it does."""
        ...

    async def take_over(self, stale: IdempotencyRecord, record: IdempotencyRecord) -> bool:
        """Replace an expired or abandoned record; False if someone else did it first."""
        ...

    async def renew(
        self, tenant_id: UUID, key: str, claimed_at: datetime, lease_until: datetime
    ) -> bool:
        """Extend the lease of the claim made at ``claimed_at``; False if it is not held."""
        ...

    async def complete(self, record: IdempotencyRecord, claimed_at: datetime) -> bool:
        """Store the outcome of the claim made at ``claimed_at``; False if that claim is no
        longer held (it lapsed and another request took the key over)."""
        ...

    async def release(self, tenant_id: UUID, key: str, claimed_at: datetime) -> None:
        """Forget the claim made at ``claimed_at``, if it is still in progress."""
        ...

    async def purge_target(self, tenant_id: UUID, target_id: UUID) -> None: ...
    async def purge_expired(self, before: datetime) -> int: ...


class SignatureUseRepository(Protocol):
    """Signed requests already accepted (by a digest of their signature), kept until their
    replay window ends."""

    async def add(self, tenant_id: UUID, digest: bytes, expires_at: datetime) -> bool:
        """Record a use; False when the digest is recorded already (committed by another
        transaction, in any process: the database's unique key decides)."""
        ...

    async def used(self, tenant_id: UUID, digest: bytes) -> bool: ...
    async def purge_expired(self, before: datetime) -> int: ...


class JobRepository(Protocol):
    async def add(self, job: Job) -> None: ...
    async def claim(
        self, worker: str, now: datetime, lease_until: datetime, limit: int
    ) -> list[Job]:
        """Take up to ``limit`` due jobs (and jobs whose lease lapsed) for ``worker``; no two
        workers ever hold one job at a time."""
        ...

    async def complete(
        self, job_id: UUID, worker: str, now: datetime, result: dict[str, Any]
    ) -> bool:
        """Mark the job done; False when ``worker`` no longer holds it."""
        ...

    async def retry(self, job_id: UUID, worker: str, error: str, run_after: datetime) -> bool: ...
    async def bury(self, job_id: UUID, worker: str, error: str, now: datetime) -> bool: ...
    async def for_file(self, tenant_id: UUID, file_id: UUID) -> list[Job]: ...
    async def is_queued(self, tenant_id: UUID, kind: JobKind, payload: dict[str, str]) -> bool:
        """Whether a job of ``kind`` whose payload holds ``payload`` waits unclaimed (one
        claimed already may have read what a later change alters: that change queues
        another)."""
        ...

    async def counts(self) -> dict[str, int]: ...
    async def backlog(self) -> list[JobBacklog]:
        """Queued, running and dead jobs by kind and state (for ``/metrics``)."""
        ...


class ResponseRepository(Protocol):
    async def add(self, response: QuestionnaireResponse) -> None: ...
    async def get(self, tenant_id: UUID, response_id: UUID) -> QuestionnaireResponse | None: ...
    async def delete(self, tenant_id: UUID, response_id: UUID) -> None:
        """Delete the response and its file answers (the documents stay)."""
        ...

    async def exists_for_subject(self, tenant_id: UUID, subject_id: UUID) -> bool: ...
    async def add_answer(self, answer: FileAnswer) -> None: ...
    async def get_answer(self, tenant_id: UUID, answer_id: UUID) -> FileAnswer | None: ...
    async def answers(self, tenant_id: UUID, response_id: UUID) -> list[FileAnswer]:
        """A response's file answers, oldest first."""
        ...

    async def delete_answer(self, tenant_id: UUID, answer_id: UUID) -> None: ...
    async def references(self, tenant_id: UUID, document_id: UUID) -> bool:
        """Whether any file answer references the document."""
        ...


class IntegrityRepository(Protocol):
    """The store's own consistency, across tenants (``fsck``, sweep, scrub)."""

    async def tenant_ids(self) -> set[UUID]: ...
    async def referenced(self, keys: Sequence[str]) -> set[str]:
        """Which of these blob keys a file row points at."""
        ...

    async def files_after(self, after: UUID | None, limit: int) -> list[StoredFile]:
        """Every file row, in id order, a page at a time."""
        ...

    async def file_count_mismatches(self, limit: int) -> list[CountMismatch]: ...
    async def document_count_mismatches(self) -> list[CountMismatch]: ...
    async def due_for_scrub(self, before: datetime, limit: int) -> list[StoredFile]:
        """Files last verified before ``before``, never-verified ones first."""
        ...

    async def claim_for_scrub(self, file_id: UUID, before: datetime, now: datetime) -> bool:
        """Mark a due file verified at ``now``; False if another worker claimed it first."""
        ...

    async def mark_verified(self, tenant_id: UUID, file_id: UUID, at: datetime | None) -> None: ...


class AuditRepository(Protocol):
    """The audit log: append-only, one hash chain per tenant (``domain/audit_chain.py``);
    ``key`` is the chain's MAC key, which the store never keeps."""

    async def add(self, event: AuditEvent, key: bytes) -> None: ...
    async def heads(self, chain_id: UUID | None = None) -> list[AuditChainHead]: ...
    async def chain_events(
        self, chain_id: UUID, after_seq: int, limit: int
    ) -> list[AuditEvent]: ...
    async def page(self, tenant_id: UUID, where: AuditFilter, seek: Seek) -> list[AuditEvent]: ...


class AuthFailureRepository(Protocol):
    """Failed authentications counted per bucket (a client address, a key id) in fixed
    windows, shared by every process that uses the database."""

    async def blocked_until(self, buckets: Sequence[str], now: datetime) -> datetime | None:
        """The latest end of a block on any of ``buckets`` that still runs at ``now``."""
        ...

    async def count(
        self, buckets: Sequence[str], now: datetime, window: timedelta, limit: int
    ) -> datetime | None:
        """Count one failure on each bucket, atomically across processes. A bucket whose
        window began ``window`` or more before ``now`` starts a new one at ``now``; a bucket
        whose count passes ``limit`` is blocked until ``now + window`` (its window starting
        again at ``now``). The latest block end among ``buckets``, or None."""
        ...

    async def purge_expired(
        self, before: datetime, *, console_before: datetime | None = None
    ) -> int:
        """Forget buckets whose window began before ``before`` (their blocks have ended); the
        console's login buckets (``console-…``), which run in a window of their own, before
        ``console_before`` (None: ``before``)."""
        ...
