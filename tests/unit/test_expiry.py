"""Expiry notifications on real SQLite and PostgreSQL, on a clock moved by hand: each
threshold is told once per expiry date, a document found past several is told once (for the
nearest), a new expiry date re-arms them, documents that did not ask are left alone, and two
processes scanning the same database at once record each event once."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from kycvault.bootstrap import build_container, open_vault
from kycvault.config import Settings
from kycvault.domain import expiry as rules
from kycvault.errors import InvalidInput
from kycvault.ports.persistence.events import Event, EventFilter
from kycvault.services import documents, events, expiry, subjects
from kycvault.services.context import Actor, AppContext
from tests.backends import Backend
from tests.helpers import backend_settings
from tests.unit.clock import START, Clock

TODAY = START.date()
TOLD = (events.DOCUMENT_EXPIRING, events.DOCUMENT_EXPIRED)


@pytest.fixture
def settings(backend_pair: Backend, tmp_path: Path) -> Settings:
    return backend_settings(backend_pair, tmp_path)


def test_thresholds_reached_nearest_first() -> None:
    assert rules.reached((30, 7, 1), 31) == ()
    assert rules.reached((30, 7, 1), 30) == (30,)
    assert rules.reached((30, 7, 1), 5) == (7, 30)
    assert rules.reached((30, 7, 1), 0) == (0, 1, 7, 30)
    assert rules.reached((30, 7, 1), -3) == (0, 1, 7, 30)
    assert [(w.threshold, w.fewest, w.most) for w in rules.windows((1, 30, 7))] == [
        (30, 8, 30),
        (7, 2, 7),
        (1, 1, 1),
        (0, -rules.EXPIRED_LOOKBACK_DAYS, 0),
    ]
    assert rules.days_left(date(2027, 1, 8), date(2027, 1, 1)) == 7


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ([], "invalid_thresholds"),
        ("30", "invalid_thresholds"),
        (list(range(1, 12)), "too_many_thresholds"),
        ([7, "1"], "invalid_type"),
        ([7, True], "invalid_type"),
        ([7, 1.0], "invalid_type"),
        ([0], "out_of_range"),
        ([366], "out_of_range"),
        ([7, 7], "duplicate_threshold"),
    ],
)
def test_bad_thresholds_are_refused_with_a_code(raw: Any, code: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        rules.check_thresholds(raw)
    assert refused.value.code == code


async def _told(ctx: AppContext, actor: Actor, doc_id: UUID | None = None) -> list[Event]:
    where = EventFilter(types=TOLD, document_id=doc_id)
    return (await events.list_events(ctx, actor, where, limit=100)).items


async def _document(
    ctx: AppContext, actor: Actor, expires: date | None, *, notify: bool = True, n: int = 1
) -> UUID:
    subject = await subjects.create_subject(ctx, actor, {"external_id": f"s-{n}"})
    values: dict[str, Any] = {
        "type": "passport",
        "subject_id": subject.id,
        "id_number": "P7766554",
        "notify_before_expiry": notify,
    }
    if expires is not None:
        values["expiry_date"] = expires
    return (await documents.create_document(ctx, actor, values)).id


def _summary(found: list[Event]) -> list[tuple[str, int, int]]:
    return [(e.type, e.data["threshold"], e.data["days_left"]) for e in found]


@pytest.mark.anyio
async def test_each_threshold_once_and_the_nearest_only_when_several_passed(
    ctx: AppContext, actor: Actor, clock: Clock
) -> None:
    doc = await _document(ctx, actor, TODAY + timedelta(days=5))  # inside 30 and 7 already
    assert await expiry.scan(ctx) == 1
    assert await expiry.scan(ctx) == 0
    (first,) = await _told(ctx, actor)
    assert first.data == {
        "document_id": str(doc),
        "subject_id": first.data["subject_id"],
        "type": "passport",
        "expiry_date": (TODAY + timedelta(days=5)).isoformat(),
        "days_left": 5,
        "threshold": 7,
    }
    assert "P7766554" not in repr(first)
    clock.now += timedelta(days=3)  # 2 days left: nothing new
    assert await expiry.scan(ctx) == 0
    clock.now += timedelta(days=1, hours=11)  # 1 day left, late in the (UTC) day
    assert await expiry.scan(ctx) == 1
    clock.now += timedelta(hours=13)  # the expiry day, just after midnight UTC
    assert await expiry.scan(ctx) == 1
    clock.now += timedelta(days=3)
    assert await expiry.scan(ctx) == 0
    assert _summary(await _told(ctx, actor)) == [
        (events.DOCUMENT_EXPIRING, 7, 5),
        (events.DOCUMENT_EXPIRING, 1, 1),
        (events.DOCUMENT_EXPIRED, 0, 0),
    ]


@pytest.mark.anyio
async def test_a_new_expiry_date_rearms_the_thresholds(
    ctx: AppContext, actor: Actor, clock: Clock
) -> None:
    doc = await _document(ctx, actor, TODAY + timedelta(days=20))
    assert await expiry.scan(ctx) == 1  # 30
    await documents.update_document(ctx, actor, doc, {"expiry_date": TODAY + timedelta(days=25)})
    assert await expiry.scan(ctx) == 1  # 30 again, for the new date
    await documents.update_document(ctx, actor, doc, {"expiry_date": TODAY - timedelta(days=2)})
    assert await expiry.scan(ctx) == 1  # expired: one event, not four
    clock.now += timedelta(days=1)
    assert await expiry.scan(ctx) == 0
    assert _summary(await _told(ctx, actor, doc)) == [
        (events.DOCUMENT_EXPIRING, 30, 20),
        (events.DOCUMENT_EXPIRING, 30, 25),
        (events.DOCUMENT_EXPIRED, 0, -2),
    ]


@pytest.mark.anyio
async def test_documents_that_did_not_ask_or_have_no_date_are_left_alone(
    ctx: AppContext, actor: Actor, clock: Clock
) -> None:
    await _document(ctx, actor, TODAY + timedelta(days=3), notify=False, n=1)
    await _document(ctx, actor, None, n=2)
    far = await _document(ctx, actor, TODAY + timedelta(days=31), n=3)
    long_expired = await _document(ctx, actor, TODAY - timedelta(days=40), n=4)
    assert await expiry.scan(ctx) == 0
    clock.now += timedelta(days=1)
    assert await expiry.scan(ctx) == 1
    assert [e.document_id for e in await _told(ctx, actor)] == [far]
    assert long_expired not in {e.document_id for e in await _told(ctx, actor)}


@pytest.mark.anyio
async def test_the_tenants_own_thresholds(ctx: AppContext, actor: Actor) -> None:
    assert await expiry.get_thresholds(ctx, actor) == (30, 7, 1)
    assert await expiry.update_settings(ctx, actor, {"expiry_thresholds_days": [3, 60]}) == (
        60,
        3,
    )
    with pytest.raises(InvalidInput):
        await expiry.update_settings(ctx, actor, {"expiry_thresholds_days": [3, 3]})
    with pytest.raises(InvalidInput):
        await expiry.update_settings(ctx, actor, {"expiry_days": [3]})
    await _document(ctx, actor, TODAY + timedelta(days=45))
    await _document(ctx, actor, TODAY + timedelta(days=20), n=2)
    assert await expiry.scan(ctx) == 2
    assert sorted(e.data["threshold"] for e in await _told(ctx, actor)) == [60, 60]


@pytest.mark.anyio
async def test_two_processes_scanning_at_once_tell_each_threshold_once(
    ctx: AppContext,
    actor: Actor,
    settings: Settings,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two containers (two pools of connections, as two processes have) on one database,
    in small batches so that their transactions interleave (and the keyset pages turn)."""
    monkeypatch.setattr(expiry, "SCAN_BATCH", 4)
    made = [await _document(ctx, actor, TODAY + timedelta(days=n % 30), n=n) for n in range(60)]
    other = build_container(settings)
    recorded = 0
    try:
        await open_vault(other)
        twin = dataclasses.replace(other.ctx, clock=clock)
        for _ in range(2):
            counts = await asyncio.gather(expiry.scan(ctx), expiry.scan(twin))
            recorded += sum(counts)
            told = await _told(ctx, actor)
            assert recorded == len(told)
            clock.now += timedelta(days=6)
    finally:
        await other.close()
    per_threshold = {(e.document_id, e.data["expiry_date"], e.data["threshold"]) for e in told}
    assert len(per_threshold) == len(told)
    assert {e.document_id for e in told} == set(made)
