"""Keyset pagination with opaque, tamper-evident cursors.

A cursor names a position (the sort value and id of a boundary row) and a direction. It is
signed with HMAC-SHA256 under a key derived from the master key, over the tenant id and a
fingerprint of the query (list, filters, sort) as well as its content: a modified cursor, a
cursor from another tenant, or a cursor replayed against different filters is a 400, never a
500 and never another tenant's rows. Positions are keys, not offsets, so pages stay stable
while rows are added or removed, and a page at any depth costs one index range scan.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

from kycvault.errors import InvalidInput
from kycvault.ports.cipher import Cipher
from kycvault.ports.persistence.records import Seek

T = TypeVar("T")
MAX_CURSOR_LENGTH = 1024
DEFAULT_LIMIT = 50
MAX_LIMIT = 100


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None
    prev_cursor: str | None
    has_more: bool


@dataclass(frozen=True, slots=True)
class Position:
    """A cursor: the key of a boundary row and the direction to read from it. A cursor is
    ``inclusive`` when its boundary row was not shown on the page it came from (it was made
    on an empty page), so turning around there must not skip that row."""

    value: Any
    id: UUID
    backward: bool
    inclusive: bool = False


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _dump_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _bad_cursor(reason: str) -> InvalidInput:
    return InvalidInput.field("cursor", "invalid_cursor", reason)


class CursorCodec:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _mac(self, tenant_id: UUID, scope: str, body: bytes) -> bytes:
        message = tenant_id.bytes + hashlib.sha256(scope.encode()).digest() + body
        return hmac.new(self._secret, message, hashlib.sha256).digest()[:16]

    def encode(self, *, tenant_id: UUID, scope: str, position: Position) -> str:
        body = json.dumps(
            [
                _dump_value(position.value),
                position.id.hex,
                1 if position.backward else 0,
                1 if position.inclusive else 0,
            ],
            separators=(",", ":"),
        ).encode()
        return f"{_b64(body)}.{_b64(self._mac(tenant_id, scope, body))}"

    def decode(
        self, token: str, *, tenant_id: UUID, scope: str, parse: Callable[[Any], Any]
    ) -> Position:
        if len(token) > MAX_CURSOR_LENGTH or token.count(".") != 1:
            raise _bad_cursor("malformed cursor")
        body_text, mac_text = token.split(".")
        try:
            body = _unb64(body_text)
            mac = _unb64(mac_text)
        except (binascii.Error, ValueError):
            raise _bad_cursor("malformed cursor") from None
        if not hmac.compare_digest(mac, self._mac(tenant_id, scope, body)):
            raise _bad_cursor("the cursor was altered or belongs to another query")
        try:
            value, id_hex, backward, inclusive = json.loads(body)
            if not isinstance(id_hex, str):
                raise TypeError(id_hex)  # UUID() fails otherwise with AttributeError
            return Position(parse(value), UUID(hex=id_hex), bool(backward), bool(inclusive))
        except (ValueError, TypeError):
            raise _bad_cursor("malformed cursor") from None


def cursor_codec(cipher: Cipher) -> CursorCodec:
    return CursorCodec(cipher.derive_secret("cursor"))


def check_limit(limit: int | None, *, most: int = MAX_LIMIT) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    if not 1 <= limit <= most:
        raise InvalidInput.field("limit", "out_of_range", f"limit must be 1 to {most}")
    return limit


async def paginate(
    fetch: Callable[[Seek], Awaitable[list[T]]],
    *,
    codec: CursorCodec,
    tenant_id: UUID,
    scope: str,
    sort: str,
    key: Callable[[T], tuple[Any, UUID]],
    parse: Callable[[Any], Any],
    limit: int,
    cursor: str | None,
    feed: bool = False,
) -> Page[T]:
    """One page of ``fetch`` in ``sort`` order. ``has_more`` says whether more rows lie beyond
    this page in the direction of travel (as Stripe's lists do). For a ``feed`` (a log that
    grows at its end) a forward page always gives a ``next_cursor`` once it has a position:
    at the end of the rows it is where the rows added later will be read from."""
    position = (
        codec.decode(cursor, tenant_id=tenant_id, scope=scope, parse=parse) if cursor else None
    )
    backward = position.backward if position else False
    rows = await fetch(
        Seek(
            sort=sort,
            limit=limit + 1,
            position=(position.value, position.id) if position else None,
            backward=backward,
            inclusive=position.inclusive if position else False,
        )
    )
    has_more = len(rows) > limit
    rows = rows[:limit]
    if backward:
        rows.reverse()

    def cursor_at(value_id: tuple[Any, UUID], back: bool, inclusive: bool = False) -> str:
        position = Position(value_id[0], value_id[1], back, inclusive)
        return codec.encode(tenant_id=tenant_id, scope=scope, position=position)

    first = key(rows[0]) if rows else None
    last = key(rows[-1]) if rows else None
    here = (position.value, position.id) if position else None
    # On an empty page the way back starts at the incoming position, which this page did not
    # show (it was excluded, or it is the row the previous page ended on): include it.
    turn_inclusive = not rows and position is not None
    if backward:
        next_cursor = (
            cursor_at(last, False)
            if last
            else cursor_at(here, False, turn_inclusive)
            if here
            else None
        )
        prev_cursor = cursor_at(first, True) if has_more and first else None
    else:
        next_cursor = cursor_at(last, False) if (has_more or feed) and last else None
        if feed and not rows and position is not None:
            next_cursor = cursor_at(here, False, position.inclusive) if here else None
        if first:
            prev_cursor = cursor_at(first, True) if here else None
        else:
            prev_cursor = cursor_at(here, True, turn_inclusive) if here else None
    return Page(rows, next_cursor, prev_cursor, has_more)
