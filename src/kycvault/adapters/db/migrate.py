"""Schema migrations, run programmatically on the service's own engine."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from kycvault.adapters.db.connection import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url:
        config.set_main_option("sqlalchemy.url", url)
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def upgrade(
    database: Database, revision: str = "head", *, attributes: Mapping[str, Any] | None = None
) -> None:
    """Bring the schema to ``revision`` in one transaction. ``attributes`` reach the
    migrations (``audit_chain_key``: the MAC key that chains existing audit events)."""

    def _upgrade(connection: Connection) -> None:
        config = alembic_config()
        config.attributes.update(attributes or {})
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    await database.run_sync(_upgrade)


async def current_revision(database: Database) -> str | None:
    def _current(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    return await database.run_sync(_current)


async def has_table(database: Database, name: str) -> bool:
    def _has(connection: Connection) -> bool:
        return sa.inspect(connection).has_table(name)

    return await database.run_sync(_has)
