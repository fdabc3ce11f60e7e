"""Alembic environment: runs on a connection handed over by ``kycvault.adapters.db.migrate``
(so the same engine, pragmas included, is used), or on the URL in the Alembic config."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import context
from sqlalchemy import Connection

from kycvault.adapters.db.database import create_database
from kycvault.adapters.db.tables import metadata

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_on_url(url: str) -> None:
    database = create_database(url)
    try:
        await database.run_sync(_run)
    finally:
        await database.dispose()


def run() -> None:
    connection: Any = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
    else:
        asyncio.run(_run_on_url(config.get_main_option("sqlalchemy.url") or ""))


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `kycvault migrate`")
run()
