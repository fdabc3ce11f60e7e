"""The event log: every change a client cares about, recorded in the transaction of the
change itself (a transactional outbox: no change without its event, no event of a change
that did not commit), and listed with ``GET /v1/events`` so a client can catch up by polling.
Each event's webhook deliveries are queued with it (``webhook_delivery.py``).

An event is ``{id, type, created_at, tenant_id, sequence, data}``. ``data`` holds the ids
of the objects concerned and a small snapshot of them (see the ``*_snapshot`` functions):
what a receiver needs to decide whether to fetch the object, and nothing a log line or a
webhook receiver should not hold. Never file contents, filenames, document numbers
(``id_number``, the MRZ), names of persons (``display_name``, a document's ``name``, which
is often its holder's name or a filename), nor free-form ``metadata`` (anything may be in it).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time
from typing import Any
from uuid import UUID

import structlog

from kycvault.domain.models import Document, StoredFile, Subject
from kycvault.domain.processing import Processing
from kycvault.domain.review import ReviewStatus
from kycvault.domain.scopes import Scope
from kycvault.errors import InvalidInput, NotFound
from kycvault.ports.persistence.events import Event, EventFilter
from kycvault.ports.persistence.records import Seek
from kycvault.ports.persistence.store import UnitOfWork
from kycvault.services.authorization import require
from kycvault.services.context import Actor, AppContext
from kycvault.services.pagination import Page, check_limit, cursor_codec, paginate

log = structlog.get_logger("kycvault.events")

SUBJECT_CREATED = "subject.created"
SUBJECT_UPDATED = "subject.updated"
SUBJECT_DELETED = "subject.deleted"
SUBJECT_ERASED = "subject.erased"
DOCUMENT_CREATED = "document.created"
DOCUMENT_UPDATED = "document.updated"
DOCUMENT_DELETED = "document.deleted"
DOCUMENT_PROCESSED = "document.processed"
DOCUMENT_REVIEWED = "document.reviewed"
DOCUMENT_EXPIRING = "document.expiring"
DOCUMENT_EXPIRED = "document.expired"
FILE_ADDED = "file.added"
FILE_DELETED = "file.deleted"
LINK_REDEEMED = "download_link.redeemed"
LEGAL_HOLD_PLACED = "legal_hold.placed"
LEGAL_HOLD_LIFTED = "legal_hold.lifted"
TYPES = frozenset(
    {
        SUBJECT_CREATED,
        SUBJECT_UPDATED,
        SUBJECT_DELETED,
        SUBJECT_ERASED,
        DOCUMENT_CREATED,
        DOCUMENT_UPDATED,
        DOCUMENT_DELETED,
        DOCUMENT_PROCESSED,
        DOCUMENT_REVIEWED,
        DOCUMENT_EXPIRING,
        DOCUMENT_EXPIRED,
        FILE_ADDED,
        FILE_DELETED,
        LINK_REDEEMED,
        LEGAL_HOLD_PLACED,
        LEGAL_HOLD_LIFTED,
    }
)
# Old events are removed this many at a time, each batch in a transaction of its own.
PURGE_BATCH = 1000


def _plain(value: Any) -> Any:
    """``value`` as JSON holds it: ids and dates as text."""
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, date):  # datetimes too
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _id(value: Any) -> UUID | None:
    return value if isinstance(value, UUID) or value is None else UUID(str(value))


async def record(
    ctx: AppContext,
    uow: UnitOfWork,
    actor_or_tenant: Actor | UUID,
    type: str,
    data: Mapping[str, Any],
) -> Event:
    """Record an event of ``type`` in ``uow`` (it commits or rolls back with the change).
    ``data`` names the objects by ``subject_id``, ``document_id``, ``file_id``…; the first
    two also make the event findable by those filters."""
    if type not in TYPES:
        raise ValueError(f"not an event type: {type}")
    tenant_id = actor_or_tenant.tenant_id if isinstance(actor_or_tenant, Actor) else actor_or_tenant
    event = Event(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        type=type,
        created_at=ctx.clock(),
        data=_plain(data),
        subject_id=_id(data.get("subject_id")),
        document_id=_id(data.get("document_id")),
    )
    await uow.events.add(event)
    # Its webhook deliveries, in the same transaction (services/webhook_delivery.py).
    await uow.webhooks.enqueue(event)
    return event


def subject_snapshot(subject: Subject) -> dict[str, Any]:
    """Its kind and the client's own references (``external_id`` is the client's key for
    the subject, there to be matched); never ``display_name`` (a person's name)."""
    return {
        "subject_id": subject.id,
        "subject": {
            "number": subject.number,
            "type": subject.type.value,
            "external_id": subject.external_id,
            "parent_id": subject.parent_id,
        },
    }


def document_snapshot(doc: Document) -> dict[str, Any]:
    """What kind of document it is and when it expires (what expiry reminders and routing
    need), and its files' ids; never its ``name``, ``id_number`` or ``metadata``."""
    return {
        "document_id": doc.id,
        "subject_id": doc.subject_id,
        "document": {
            "number": doc.number,
            "type": doc.type,
            "issuing_country": doc.issuing_country,
            "issue_date": doc.issue_date,
            "expiry_date": doc.expiry_date,
            "authenticity": doc.authenticity.value if doc.authenticity else None,
            "notify_before_expiry": doc.notify_before_expiry,
            "file_ids": [f.id for f in doc.files],
        },
    }


def reviewed_snapshot(doc: Document, previous: ReviewStatus, cause: str) -> dict[str, Any]:
    """The document's snapshot and its review's status, reason code, who and when, with the
    status before and the ``cause`` (``decision``, or ``file_added`` when a new file sent
    a rejected document back to pending); never the review's free text, which may name
    people."""
    review = doc.review
    return {
        **document_snapshot(doc),
        "review": {
            "status": review.status.value,
            "reason_code": review.reason_code.value if review.reason_code else None,
            "by": review.by,
            "at": review.at,
        },
        "previous_status": previous.value,
        "cause": cause,
    }


def file_snapshot(doc: Document, stored: StoredFile) -> dict[str, Any]:
    """The file's role, media type, size and digest; never its filename (often a person's
    name) and never its content."""
    return {
        "document_id": doc.id,
        "subject_id": doc.subject_id,
        "file_id": stored.id,
        "file": {
            "role": stored.role.value if stored.role else None,
            "content_type": stored.content_type,
            "size": stored.size,
            "sha256": stored.sha256,
        },
    }


def processed_snapshot(doc: Document, processing: Processing) -> dict[str, Any]:
    """A summary of what processing found: each stage's status, the classification's
    verdict, whether an MRZ was read and valid, the authenticity score. Never the extracted
    text or the MRZ's fields (a document number, the holder's name)."""
    classification = processing.classification
    mrz = processing.extracted.get("mrz")
    return {
        "document_id": doc.id,
        "subject_id": doc.subject_id,
        "generation": processing.generation,
        "type": doc.type,
        "stages": {stage.value: status.value for stage, status in processing.stages.items()},
        "classification": (
            {k: classification.get(k) for k in ("type", "confidence", "agrees", "applied")}
            if classification
            else None
        ),
        "mrz_valid": bool(mrz.get("valid")) if isinstance(mrz, Mapping) else None,
        "authenticity_score": processing.authenticity_score,
        "authenticity_status": processing.authenticity_status,
    }


async def files_changed(
    ctx: AppContext,
    uow: UnitOfWork,
    actor: Actor,
    doc: Document,
    *,
    added: Iterable[StoredFile] = (),
    deleted: Iterable[StoredFile] = (),
) -> None:
    """One ``file.deleted`` per file removed and one ``file.added`` per file added."""
    for stored in deleted:
        data = {"document_id": doc.id, "subject_id": doc.subject_id, "file_id": stored.id}
        await record(ctx, uow, actor, FILE_DELETED, data)
    for stored in added:
        await record(ctx, uow, actor, FILE_ADDED, file_snapshot(doc, stored))


def parse_time(raw: str | None, field: str, *, end: bool = False) -> datetime | None:
    """A bound of ``created_from``/``created_to``: an ISO 8601 time (UTC when it names no
    zone), or a date meaning its whole day in UTC (from its first instant, to its last)."""
    if raw is None:
        return None
    try:
        if len(raw) == 10:
            return datetime.combine(date.fromisoformat(raw), time.max if end else time(), UTC)
        moment = datetime.fromisoformat(raw)
        # (A time near year 1 or 9999 may not exist in UTC: OverflowError.)
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise InvalidInput.field(
            field, "invalid_datetime", "an ISO 8601 date or date and time"
        ) from None


def _check(where: EventFilter) -> None:
    unknown = sorted(set(where.types) - TYPES)
    if unknown:
        raise InvalidInput.field("type", "unknown_event_type", f"no event type {unknown[0]!r}")
    if where.created_from and where.created_to and where.created_from > where.created_to:
        raise InvalidInput.field("created_to", "empty_range", "created_to is before created_from")


def _fingerprint(where: EventFilter) -> str:
    return repr(
        (
            tuple(sorted(set(where.types))),
            where.subject_id,
            where.document_id,
            where.created_from,
            where.created_to,
        )
    )


async def list_events(
    ctx: AppContext,
    actor: Actor,
    where: EventFilter,
    *,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[Event]:
    """The tenant's events matching ``where``, oldest first (in sequence order). The log is
    a feed: a page that reaches its end still gives a ``next_cursor``, from which the events
    recorded later will be read. The log is what webhooks deliver: ``webhooks:manage``."""
    await require(ctx, actor, Scope.WEBHOOKS_MANAGE, target_type="event")
    _check(where)

    async def fetch(seek: Seek) -> list[Event]:
        async with ctx.store.read() as uow:
            return await uow.events.page(actor.tenant_id, where, seek)

    def key(event: Event) -> tuple[Any, UUID]:
        assert event.sequence is not None  # stored events are numbered
        return event.sequence, event.id

    def parse(raw: Any) -> int:
        if not isinstance(raw, int) or isinstance(raw, bool):
            raise ValueError("a sequence is an integer")
        return raw

    return await paginate(
        fetch,
        codec=cursor_codec(ctx.cipher),
        tenant_id=actor.tenant_id,
        scope=f"events|{_fingerprint(where)}",
        sort="sequence",
        key=key,
        parse=parse,
        limit=check_limit(limit),
        cursor=cursor,
        feed=True,
    )


async def get_event(ctx: AppContext, actor: Actor, event_id: UUID) -> Event:
    await require(ctx, actor, Scope.WEBHOOKS_MANAGE, target_type="event", target_id=event_id)
    async with ctx.store.read() as uow:
        event = await uow.events.get(actor.tenant_id, event_id)
    if event is None:
        raise NotFound("no such event", code="event_not_found")
    return event


async def purge_old(ctx: AppContext) -> int:
    """Remove the events older than the retention period, with their webhook deliveries and
    attempts, a bounded batch per transaction (the single SQLite writer is never held for
    long); how many events went."""
    before = ctx.clock() - ctx.limits.event_retention
    removed = 0
    while True:
        async with ctx.store.write() as uow:
            batch = await uow.events.purge_before(before, PURGE_BATCH)
            # Their deliveries and attempts go with them (the oldest, a batch at a time).
            trail = await uow.webhooks.purge_before(before, PURGE_BATCH)
        removed += batch
        if batch < PURGE_BATCH and trail < PURGE_BATCH:
            break
    if removed:
        log.info("events_purged", events=removed)
    return removed


async def read_after(
    ctx: AppContext, tenant_id: UUID, after: int | None, limit: int = 100
) -> list[Event]:
    """The tenant's events after sequence ``after``, oldest first; with None, its last
    ``limit`` events (where following the log begins)."""
    if after is None:
        seek = Seek(sort="sequence", limit=limit, backward=True)
    else:  # sequences are unique per tenant: after (after, the greatest id) is after + 1
        seek = Seek(sort="sequence", limit=limit, position=(after, UUID(int=2**128 - 1)))
    async with ctx.store.read() as uow:
        found = await uow.events.page(tenant_id, EventFilter(), seek)
    return sorted(found, key=lambda e: e.sequence or 0)
