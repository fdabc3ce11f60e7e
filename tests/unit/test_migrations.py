"""The migrations alone build the schema the table definitions describe."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection

from kycvault.adapters.db import migrate
from kycvault.adapters.db.database import create_database
from kycvault.adapters.db.tables import SEARCH_OBJECTS, metadata


def modelled(obj: object, name: str | None, kind: str, reflected: bool, other: object) -> bool:
    """The trigram search index is made by the migrations alone (see search_index.py)."""
    return not (name or "").startswith(tuple(SEARCH_OBJECTS))


@pytest.mark.anyio
async def test_upgrade_to_head_matches_the_models(tmp_path: Path) -> None:
    database = create_database(f"sqlite:///{tmp_path / 'm.db'}")
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
