"""The event log's service on real SQLite and PostgreSQL: events commit and roll back with
their change, are numbered per tenant without gaps in commit order, list with filters and
feed cursors, and are removed after the retention period in bounded batches (with their
webhook deliveries and attempts)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kycvault.config import Settings
from kycvault.domain.jobs import JobKind
from kycvault.errors import Conflict, InvalidInput, NotFound
from kycvault.ports.persistence.events import Event, EventFilter
from kycvault.ports.persistence.webhooks import Attempt, Delivery, Endpoint
from kycvault.services import (
    documents,
    events,
    maintenance,
    processing,
    subjects,
    tenants,
    webhooks,
)
from kycvault.services.context import Actor, AppContext
from kycvault.services.intake import UploadSession
from tests import backends
from tests.backends import Backend
from tests.helpers import backend_settings
from tests.unit.clock import START, Clock


@pytest.fixture
def settings(backend_pair: Backend, tmp_path: Path) -> Settings:
    return backend_settings(backend_pair, tmp_path, event_retention_days=30)


async def _all(ctx: AppContext, actor: Actor, where: EventFilter | None = None) -> list[Event]:
    page = await events.list_events(ctx, actor, where or EventFilter(), limit=100)
    return page.items


async def _subject(ctx: AppContext, actor: Actor, n: int) -> None:
    await subjects.create_subject(ctx, actor, {"external_id": f"c-{n}", "display_name": "Ann Lee"})


async def _fail_after_an_event(ctx: AppContext, actor: Actor) -> None:
    async with ctx.store.write() as uow:
        await events.record(ctx, uow, actor, events.SUBJECT_DELETED, {"subject_id": None})
        raise RuntimeError("the change fails after its event was recorded")


@pytest.mark.anyio
async def test_events_commit_with_their_change_and_are_numbered_without_gaps(
    ctx: AppContext, actor: Actor
) -> None:
    await _subject(ctx, actor, 1)
    with pytest.raises(Conflict):
        await _subject(ctx, actor, 1)  # refused: its event rolls back with it
    with pytest.raises(RuntimeError):
        await _fail_after_an_event(ctx, actor)
    await _subject(ctx, actor, 2)
    listed = await _all(ctx, actor)
    assert [e.type for e in listed] == [events.SUBJECT_CREATED] * 2
    assert [e.sequence for e in listed] == [1, 2]
    assert [e.data["subject"]["external_id"] for e in listed] == ["c-1", "c-2"]
    assert all("Ann Lee" not in repr(e.data) for e in listed)
    assert str(listed[0].subject_id) == listed[0].data["subject_id"]
    assert await events.get_event(ctx, actor, listed[1].id) == listed[1]


@pytest.mark.anyio
async def test_sequences_are_per_tenant_and_tenants_see_only_their_own(
    ctx: AppContext, actor: Actor
) -> None:
    other = await tenants.create_tenant(ctx, name="other")
    them = Actor(tenant_id=other.tenant.id, key_id=other.issued.key.key_id)
    for n in range(3):
        await _subject(ctx, actor, n)
        await _subject(ctx, them, n)
    mine, theirs = await _all(ctx, actor), await _all(ctx, them)
    assert [e.sequence for e in mine] == [1, 2, 3] == [e.sequence for e in theirs]
    assert {e.tenant_id for e in mine} == {actor.tenant_id}
    assert not {e.id for e in mine} & {e.id for e in theirs}
    with pytest.raises(NotFound):
        await events.get_event(ctx, them, mine[0].id)


@pytest.mark.anyio
async def test_several_events_of_one_unit_keep_their_order(ctx: AppContext, actor: Actor) -> None:
    async with ctx.store.write() as uow:
        for n in range(5):
            await events.record(ctx, uow, actor, events.DOCUMENT_DELETED, {"n": n})
    assert [e.data["n"] for e in await _all(ctx, actor)] == [0, 1, 2, 3, 4]


@pytest.mark.anyio
async def test_a_unit_undone_inside_an_atomic_block_takes_its_events_along(
    ctx: AppContext, actor: Actor
) -> None:
    async with ctx.store.atomic():
        async with ctx.store.write() as uow:
            await events.record(ctx, uow, actor, events.SUBJECT_DELETED, {"n": "kept"})
        with pytest.raises(RuntimeError):
            await _fail_after_an_event(ctx, actor)
        async with ctx.store.write() as uow:
            await events.record(ctx, uow, actor, events.SUBJECT_DELETED, {"n": "after"})
    listed = await _all(ctx, actor)
    assert [(e.data.get("n"), e.sequence) for e in listed] == [("kept", 1), ("after", 2)]


@pytest.mark.anyio
async def test_sequence_follows_commit_order(
    ctx: AppContext, actor: Actor, backend_pair: Backend
) -> None:
    """A transaction that recorded its event first but commits last is numbered last: a
    reader paging by sequence cannot have passed it already."""
    if backend_pair.name == backends.EMBEDDED:
        pytest.skip("SQLite has one writer at a time: transactions cannot interleave")
    recorded, release = asyncio.Event(), asyncio.Event()

    async def slow() -> None:
        async with ctx.store.write() as uow:
            await events.record(ctx, uow, actor, events.SUBJECT_DELETED, {"which": "slow"})
            await uow.tenants.get(actor.tenant_id)  # more work of the unit after the event
            recorded.set()
            await release.wait()

    task = asyncio.create_task(slow())
    await recorded.wait()
    try:
        # Numbered at its own end, the slow unit holds nothing the fast one needs yet.
        async with asyncio.timeout(10), ctx.store.write() as uow:
            await events.record(ctx, uow, actor, events.SUBJECT_DELETED, {"which": "fast"})
    finally:
        release.set()
        await task
    listed = await _all(ctx, actor)
    assert [(e.data["which"], e.sequence) for e in listed] == [("fast", 1), ("slow", 2)]


@pytest.mark.anyio
async def test_filters_and_feed_cursors(ctx: AppContext, actor: Actor, clock: Clock) -> None:
    await _subject(ctx, actor, 1)
    clock.now += timedelta(days=1)
    made = await subjects.create_subject(ctx, actor, {"external_id": "c-2"})
    await subjects.update_subject(ctx, actor, made.id, {"display_name": "Bo Ek"})
    by_type = await _all(ctx, actor, EventFilter(types=(events.SUBJECT_UPDATED,)))
    assert [(e.type, e.data["changed"]) for e in by_type] == [
        (events.SUBJECT_UPDATED, ["display_name"])
    ]
    of_subject = await _all(ctx, actor, EventFilter(subject_id=made.id))
    assert [e.type for e in of_subject] == [events.SUBJECT_CREATED, events.SUBJECT_UPDATED]
    since = EventFilter(created_from=START + timedelta(hours=1))
    assert len(await _all(ctx, actor, since)) == 2
    until = EventFilter(created_to=START)
    assert len(await _all(ctx, actor, until)) == 1
    with pytest.raises(InvalidInput):
        await _all(ctx, actor, EventFilter(types=("subject.renamed",)))

    first = await events.list_events(ctx, actor, EventFilter(), limit=2)
    assert first.has_more and first.next_cursor
    rest = await events.list_events(ctx, actor, EventFilter(), limit=2, cursor=first.next_cursor)
    assert [e.sequence for e in rest.items] == [3] and not rest.has_more
    # At the end of the log the cursor stays usable: it reads what is recorded later.
    assert rest.next_cursor is not None
    idle = await events.list_events(ctx, actor, EventFilter(), limit=2, cursor=rest.next_cursor)
    assert idle.items == [] and idle.next_cursor is not None
    await subjects.delete_subject(ctx, actor, made.id)
    later = await events.list_events(ctx, actor, EventFilter(), cursor=idle.next_cursor)
    assert [(e.sequence, e.type) for e in later.items] == [(4, events.SUBJECT_DELETED)]
    assert later.items[0].data == {"subject_id": str(made.id)}


def test_time_bounds() -> None:
    assert events.parse_time("2026-12-01", "created_from") == START.replace(hour=0)
    end = events.parse_time("2026-12-01", "created_to", end=True)
    assert end == datetime(2026, 12, 1, 23, 59, 59, 999999, tzinfo=UTC)
    assert events.parse_time("2026-12-01T12:00:00", "created_from") == START
    assert events.parse_time("2026-12-01T14:00:00+02:00", "created_from") == START
    assert events.parse_time("9999-12-31", "created_to", end=True) == datetime.max.replace(
        tzinfo=UTC
    )
    for bad in ("yesterday", "2026-13-01", "0001-01-01T00:00:00+01:00"):
        with pytest.raises(InvalidInput):
            events.parse_time(bad, "created_from")


async def _endpoint(ctx: AppContext, actor: Actor) -> Endpoint:
    now = ctx.clock()
    endpoint = Endpoint(
        id=uuid.uuid4(),
        tenant_id=actor.tenant_id,
        url="https://receiver.example/hook",
        events=["*"],
        description=None,
        enabled=True,
        created_at=now,
        updated_at=now,
        sealed_secret=b"",
    )
    async with ctx.store.write() as uow:
        await uow.webhooks.add_endpoint(endpoint)
    return endpoint


async def _claim(ctx: AppContext) -> list[Delivery]:
    now = ctx.clock()
    async with ctx.store.write() as uow:
        return await uow.webhooks.claim("w", now, now + timedelta(minutes=1), 100)


async def _attempt_all(ctx: AppContext) -> None:
    """One failed attempt of every due delivery, retried later."""
    for delivery in await _claim(ctx):
        now = ctx.clock()
        attempt = Attempt(
            id=uuid.uuid4(),
            tenant_id=delivery.tenant_id,
            endpoint_id=delivery.endpoint_id,
            event_id=delivery.event_id,
            attempted_at=now,
            status="failed",
            response_code=500,
            duration_ms=3,
            next_retry_at=now + timedelta(hours=1),
        )
        async with ctx.store.write() as uow:
            assert await uow.webhooks.finish(delivery, "w", attempt, "pending")


@pytest.mark.anyio
async def test_housekeeping_removes_old_events_in_batches(
    ctx: AppContext, actor: Actor, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(events, "PURGE_BATCH", 2)
    endpoint = await _endpoint(ctx, actor)
    async with ctx.store.write() as uow:
        for n in range(5):
            await events.record(ctx, uow, actor, events.SUBJECT_DELETED, {"n": n})
    await _attempt_all(ctx)
    clock.now += timedelta(days=20)
    await _subject(ctx, actor, 1)
    clock.now += timedelta(days=10, seconds=1)
    assert await events.purge_old(ctx) == 5
    left = await _all(ctx, actor)
    assert [(e.type, e.sequence) for e in left] == [(events.SUBJECT_CREATED, 6)]
    # The old events' deliveries and attempts went with them; the newer one's stay.
    tried = await webhooks.list_attempts(ctx, actor, endpoint.id, limit=100)
    assert tried.items == []
    assert [d.sequence for d in await _claim(ctx)] == [6]
    clock.now += timedelta(days=20)
    await maintenance.purge_expired(ctx)
    assert await _all(ctx, actor) == []
    # Numbering goes on after a purge: a cursor kept by a client stays valid.
    await _subject(ctx, actor, 2)
    assert [e.sequence for e in await _all(ctx, actor)] == [7]


@pytest.mark.anyio
async def test_processing_given_up_is_a_settled_generation(ctx: AppContext, actor: Actor) -> None:
    """A document whose processing job died has its stages failed, and says so once."""
    await processing.update_settings(ctx, actor, {"ocr": True})
    session = await UploadSession.open(ctx, actor.tenant_id)
    intake = session.start_file("statement.txt")
    await intake.feed(b"a statement\n")
    await session.finish_file(intake)
    values = {"type": "bank_statement", "id_number": "ZZ4455667", "name": "Ann Lee"}
    doc = await documents.create_document(ctx, actor, values, upload=session)
    async with ctx.store.write() as uow:
        claimed = await uow.jobs.claim("w", ctx.clock(), ctx.clock() + timedelta(minutes=5), 10)
        (job,) = [j for j in claimed if j.kind is JobKind.PROCESS_DOCUMENT]
        await processing.give_up(ctx, uow, job, "the reader kept crashing")
    found = await _all(ctx, actor, EventFilter(document_id=doc.id))
    assert [e.type for e in found] == [events.DOCUMENT_CREATED, events.DOCUMENT_PROCESSED]
    processed = found[1].data
    assert processed["stages"] == {
        "classification": "unauthorized",
        "ocr": "failed",
        "authenticity": "unauthorized",
    }
    assert processed["generation"] == 1 and processed["mrz_valid"] is None
    assert "ZZ4455667" not in repr(found) and "Ann Lee" not in repr(found)
