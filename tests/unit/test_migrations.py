"""The migrations alone build the schema the table definitions describe."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection

from kycvault.adapters.db import migrate
from kycvault.adapters.db.database import create_database
from kycvault.adapters.db.tables import SEARCH_OBJECTS, metadata
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
