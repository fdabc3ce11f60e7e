from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kycvault.errors import InvalidInput
from kycvault.services.pagination import CursorCodec, Position, check_limit, paginate
from kycvault.services.unit_of_work import Seek

TENANT = uuid.uuid4()
codec = CursorCodec(b"s" * 32)
BASE = datetime(2026, 1, 1, tzinfo=UTC)
# 10 rows; two share a timestamp so the id tie-break matters.
ROWS = sorted(
    [(BASE + timedelta(minutes=i if i != 5 else 4), uuid.uuid4()) for i in range(10)],
    reverse=True,
)


async def fetch(seek: Seek) -> list[tuple[datetime, uuid.UUID]]:
    rows = sorted(ROWS, reverse=not seek.backward)
    if seek.position is not None:
        rows = [r for r in rows if (r < seek.position if not seek.backward else r > seek.position)]
    return rows[: seek.limit]


async def page(cursor: str | None, limit: int = 3, scope: str = "q") -> Any:
    return await paginate(
        fetch,
        codec=codec,
        tenant_id=TENANT,
        scope=scope,
        sort="-created_at",
        key=lambda r: r,
        parse=datetime.fromisoformat,
        limit=limit,
        cursor=cursor,
    )


@pytest.mark.anyio
async def test_walk_forward_and_back() -> None:
    seen = []
    cursor = None
    pages = []
    while True:
        current = await page(cursor)
        pages.append(current)
        seen.extend(current.items)
        if not current.has_more:
            assert current.next_cursor is None
            break
        cursor = current.next_cursor
    assert seen == ROWS
    assert pages[0].prev_cursor is None
    back = await page(pages[-1].prev_cursor)
    assert back.items == pages[-2].items
    first = await page(pages[1].prev_cursor)
    assert first.items == pages[0].items and not first.has_more and first.prev_cursor is None


@pytest.mark.anyio
async def test_cursors_are_bound_to_tenant_and_query() -> None:
    cursor = (await page(None)).next_cursor
    assert cursor
    with pytest.raises(InvalidInput):
        await page(cursor, scope="other filters")
    with pytest.raises(InvalidInput):
        codec.decode(cursor, tenant_id=uuid.uuid4(), scope="q", parse=datetime.fromisoformat)
    body, mac = cursor.split(".")
    for bad in (body[:-2] + "AA." + mac, cursor + "x", "garbage", "a.b.c", "", "é.é"):
        with pytest.raises(InvalidInput) as caught:
            codec.decode(bad, tenant_id=TENANT, scope="q", parse=datetime.fromisoformat)
        assert caught.value.code == "invalid_cursor"


def test_round_trip_of_a_position() -> None:
    pos = Position(BASE, uuid.uuid4(), True)
    token = codec.encode(tenant_id=TENANT, scope="s", position=pos)
    assert codec.decode(token, tenant_id=TENANT, scope="s", parse=datetime.fromisoformat) == pos


def test_limits() -> None:
    assert check_limit(None) == 50
    assert check_limit(100) == 100
    for bad in (0, 101, -1):
        with pytest.raises(InvalidInput):
            check_limit(bad)
    # Lists whose vendors page further (Argyle's 200) raise the ceiling, not the default.
    assert check_limit(200, most=1000) == 200
    assert check_limit(None, most=1000) == 50
    with pytest.raises(InvalidInput):
        check_limit(1001, most=1000)
