"""``PreparedRead``: the rows a statement gives on the driver's cursor are the rows
``Connection.execute`` gives (values decoded by the columns' own types), for any number of
values of an expanding parameter; driver errors are wrapped as SQLAlchemy wraps them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from kycvault.adapters.db.columns import UtcDateTime
from kycvault.adapters.db.prepared_reads import PreparedRead

_metadata = sa.MetaData()
_items = sa.Table(
    "items",
    _metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("owner_id", sa.Uuid, nullable=False),
    sa.Column("group_id", sa.Uuid, nullable=True),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("day", sa.Date, nullable=True),
    sa.Column("flag", sa.Boolean, nullable=False),
    sa.Column("data", sa.JSON, nullable=True),
    sa.Column("kind", sa.String(10), nullable=False),
)
_OF_OWNERS = (
    sa.select(_items)
    .where(_items.c.kind == sa.bindparam("kind"), _items.c.owner_id.in_(sa.bindparam("owners")))
    .order_by(_items.c.at)
)
AT = datetime(2027, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)


@pytest.fixture
def conn() -> Iterator[sa.Connection]:
    engine = sa.create_engine("sqlite://")
    _metadata.create_all(engine)
    with engine.begin() as connection:
        yield connection
    engine.dispose()


def _fill(conn: sa.Connection) -> list[uuid.UUID]:
    owners = [uuid.uuid4() for _ in range(4)]
    group = uuid.uuid4()
    rows: list[dict[str, Any]] = [
        {
            "id": uuid.uuid4(),
            "owner_id": owners[n % 4],
            "group_id": group if n % 3 else None,
            "at": AT + timedelta(seconds=n),
            "day": date(2030, 1, 1 + n) if n % 2 else None,
            "flag": n % 2 == 0,
            "data": {"n": n, "nested": [n]} if n % 4 else None,
            "kind": "a" if n < 9 else "b",
        }
        for n in range(12)
    ]
    conn.execute(_items.insert(), rows)
    return owners


@pytest.mark.parametrize("read", [{}, {"repeated": ["group_id"], "echoes": {"owner_id": "owners"}}])
def test_rows_are_those_the_ordinary_execution_gives(
    conn: sa.Connection, read: dict[str, Any]
) -> None:
    owners = _fill(conn)
    prepared = PreparedRead(_OF_OWNERS, **read)
    assert prepared.columns == tuple(c.name for c in _items.c)
    for asked in ([owners[0]], owners[:3], owners, [owners[2]], [uuid.uuid4()]):
        for kind in ("a", "b"):
            values = {"kind": kind, "owners": asked}
            expected = [list(row) for row in conn.execute(_OF_OWNERS, values).all()]
            found = prepared.all(conn, values)
            assert found == expected
            # Equal, and of the same types (a UUID, not its hex; a datetime, not its text).
            assert [list(map(type, row)) for row in found] == [
                list(map(type, row)) for row in expected
            ]


def test_a_column_named_that_is_not_selected_is_refused() -> None:
    with pytest.raises(ValueError, match="not selected"):
        PreparedRead(_OF_OWNERS, repeated=["nothing"])


def test_a_driver_error_is_wrapped_as_sqlalchemy_wraps_it() -> None:
    engine = sa.create_engine("sqlite://")  # no table
    with engine.begin() as conn, pytest.raises(sa.exc.OperationalError) as caught:
        PreparedRead(_OF_OWNERS).all(conn, {"kind": "a", "owners": [uuid.uuid4()]})
    assert "no such table: items" in str(caught.value)
    engine.dispose()
