from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kycvault.errors import InvalidInput
from kycvault.ports.persistence.records import Seek
from kycvault.services.pagination import (
    MAX_CURSOR_LENGTH,
    CursorCodec,
    Position,
    _b64,
    check_limit,
    paginate,
)

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


# The sort values cursors carry: timestamps (created/updated), dates (expiry), names, numbers.
_SORT_VALUES = st.one_of(
    st.datetimes(timezones=st.just(UTC)),
    st.text(max_size=100),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.none(),
)


def _parse(value: Any) -> Any:
    """The inverse of the codec's dump for the values above (as each list's parser does)."""
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return value
    return value


@settings(max_examples=300, deadline=None)
@given(_SORT_VALUES, st.uuids(), st.booleans(), st.booleans(), st.text(max_size=50))
def test_any_position_round_trips(
    value: Any, row_id: uuid.UUID, backward: bool, inclusive: bool, scope: str
) -> None:
    position = Position(value, row_id, backward, inclusive)
    token = codec.encode(tenant_id=TENANT, scope=scope, position=position)
    assert len(token) <= MAX_CURSOR_LENGTH
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
    decoded = codec.decode(token, tenant_id=TENANT, scope=scope, parse=_parse)
    if isinstance(value, str) and _parse(value) is not value:
        return  # a name that reads as a timestamp: the list's own parser knows which it is
    assert decoded == position


def _decoded(token: str) -> Position | InvalidInput:
    """The position a token names, or the error that refused it."""
    try:
        return codec.decode(token, tenant_id=TENANT, scope="q", parse=datetime.fromisoformat)
    except InvalidInput as refused:
        return refused


def _refused(token: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        codec.decode(token, tenant_id=TENANT, scope="q", parse=datetime.fromisoformat)
    assert caught.value.code == "invalid_cursor"


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(codec=None, exclude_categories=()), max_size=1200))
def test_any_text_is_a_clean_invalid_cursor(token: str) -> None:
    _refused(token)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_any_altered_cursor_is_refused_or_reads_the_same(data: st.DataObject) -> None:
    position = Position(
        data.draw(st.datetimes(timezones=st.just(UTC))), data.draw(st.uuids()), False
    )
    token = codec.encode(tenant_id=TENANT, scope="q", position=position)
    at = data.draw(st.integers(min_value=0, max_value=len(token) - 1))
    edit = data.draw(st.sampled_from(["replace", "delete", "insert"]))
    char = data.draw(st.characters(codec=None, exclude_categories=()))
    altered = {
        "replace": token[:at] + char + token[at + 1 :],
        "delete": token[:at] + token[at + 1 :],
        "insert": token[:at] + char + token[at:],
    }[edit]
    if altered == token:
        return
    decoded = _decoded(altered)
    # Base64's last character carries spare bits: an edit there may decode to the very same
    # bytes, which the MAC then rightly accepts.
    assert decoded == position or (
        isinstance(decoded, InvalidInput) and decoded.code == "invalid_cursor"
    )


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=5),
    max_leaves=12,
)
# Bodies of a position's shape ([value, id, backward, inclusive]) whose parts may be anything,
# the value often a real timestamp so that the later parts are read too.
_POSITION_LIKE = st.tuples(
    st.datetimes(timezones=st.just(UTC)).map(datetime.isoformat) | _JSON, _JSON, _JSON, _JSON
).map(list)


@settings(max_examples=300, deadline=None)
@given(_JSON | _POSITION_LIKE)
def test_a_signed_body_of_the_wrong_shape_is_a_clean_invalid_cursor(body: Any) -> None:
    # Even with a valid MAC (a leaked secret, a future format), a body that is not a position
    # is refused as a cursor, never another exception.
    raw = json.dumps(body, separators=(",", ":")).encode()
    mac = codec._mac(TENANT, "q", raw)
    token = f"{_b64(raw)}.{_b64(mac)}"
    if len(token) > MAX_CURSOR_LENGTH:
        return
    decoded = _decoded(token)
    assert isinstance(decoded, Position) or decoded.code == "invalid_cursor"


@pytest.mark.parametrize("row_id", [5, ["x"], {"a": 1}, None])
def test_a_signed_cursor_whose_id_is_not_text_is_refused(row_id: Any) -> None:
    # Found by the property above: UUID(hex=5) raised AttributeError, a 500 for whoever can sign.
    raw = json.dumps([BASE.isoformat(), row_id, 0, 0]).encode()
    token = f"{_b64(raw)}.{_b64(codec._mac(TENANT, 'q', raw))}"
    _refused(token)
