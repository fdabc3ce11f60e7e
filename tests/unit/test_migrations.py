"""The migrations alone build the schema the table definitions describe."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection

from kycvault.adapters.db import migrate
from kycvault.adapters.db.columns import UtcDateTime
from kycvault.adapters.db.database import create_database
from kycvault.adapters.db.tables import SEARCH_OBJECTS, audit_chains, audit_events, metadata
from kycvault.domain.audit_chain import SYSTEM_CHAIN, ChainWalk
from kycvault.ports.persistence.records import AuditEvent
from tests import backends
from tests.backends import Backend


def modelled(obj: object, name: str | None, kind: str, reflected: bool, other: object) -> bool:
    """The trigram search index is made by the migrations alone (see search_index.py)."""
    return not (name or "").startswith(tuple(SEARCH_OBJECTS))


@pytest.fixture(params=backends.ALL)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each kind."""
    name: str = request.param
    backends.require(name)
    if name == backends.EMBEDDED:
        yield f"sqlite:///{tmp_path / 'm.db'}"
        return
    store = Backend.create(name)
    try:
        yield store.env["KYCVAULT_DATABASE_URL"]
    finally:
        store.drop()


@pytest.mark.anyio
async def test_upgrade_to_head_matches_the_models(database_url: str) -> None:
    database = create_database(database_url)
    try:
        await migrate.upgrade(database)
        assert await migrate.current_revision(database) == migrate.head_revision()

        def diff(connection: Connection) -> list[object]:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "include_object": modelled}
            )
            return list(compare_metadata(context, metadata))

        assert await database.run_sync(diff) == []
        await migrate.upgrade(database)  # idempotent
    finally:
        await database.dispose()


@pytest.mark.anyio
async def test_audit_events_from_before_the_chain_are_numbered_and_chained(
    database_url: str,
) -> None:
    """Revision 0013 numbers and MACs the events already there, per tenant, in the order
    they were written, with the key the migrating process gives it."""
    key = bytes(range(32))
    tenants = [uuid.uuid4(), uuid.uuid4(), None]
    database = create_database(database_url)
    try:
        await migrate.upgrade(database, "0012")
        old = sa.table(
            "audit_events",
            *(sa.column(c, sa.Uuid()) for c in ("id", "tenant_id", "target_id")),
            sa.column("at", UtcDateTime()),
            *(sa.column(c) for c in ("actor", "action", "outcome", "target_type", "request_id")),
            sa.column("details", sa.JSON()),
        )
        start = datetime(2026, 1, 1, tzinfo=UTC)
        rows = [
            {
                "id": uuid.uuid4(),
                "tenant_id": tenants[n % 3],
                "at": start + timedelta(seconds=10 - n),  # written newest first here
                "actor": "kvk_0123456789abcdef",
                "action": "document.created",
                "outcome": "success",
                "target_type": "document",
                "target_id": uuid.uuid4(),
                "request_id": None,
                "details": {"files": n},
            }
            for n in range(9)
        ]
        await database.run_sync(lambda conn: conn.execute(old.insert(), rows))
        await migrate.upgrade(database, attributes={"audit_chain_key": key})

        def chains(conn: Connection) -> tuple[list[Any], list[Any]]:
            events = (
                conn.execute(
                    sa.select(audit_events).order_by(audit_events.c.chain_id, audit_events.c.seq)
                )
                .mappings()
                .all()
            )
            heads = conn.execute(sa.select(audit_chains)).mappings().all()
            return list(events), list(heads)

        events, heads = await database.run_sync(chains)
        assert len(events) == 9 and len(heads) == 3
        for head in heads:
            mine = [e for e in events if e["chain_id"] == head["chain_id"]]
            assert [e["at"] for e in mine] == sorted(e["at"] for e in mine)
            assert all(e["document_id"] == e["target_id"] for e in mine)
            walk = ChainWalk(key, head["chain_id"])
            for event in mine:
                record = AuditEvent(
                    **{f: event[f] for f in AuditEvent.__dataclass_fields__ if f in event}
                )
                fields = record.chained_fields(head["chain_id"], event["seq"])
                assert walk.check(fields, event["prev_mac"], event["mac"]) is None
            assert walk.end(head["last_seq"], head["last_mac"]) is None
        assert {h["chain_id"] for h in heads} == {t or SYSTEM_CHAIN for t in tenants}
    finally:
        await database.dispose()
