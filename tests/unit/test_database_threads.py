"""The SQLite engine's thread hops under cancellation: a connection is used by one database
thread at a time, even when the task driving it is cancelled mid-step (a client gone, a
timeout), so the rollback that follows never overlaps the step still running."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from kycvault.adapters.db.sqlite import ThreadedDatabase

pytestmark = pytest.mark.anyio


@pytest.fixture
async def database(tmp_path: Path) -> ThreadedDatabase:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    return ThreadedDatabase(engine, connections=2)


async def test_a_cancelled_step_ends_before_the_cancellation_goes_on(
    database: ThreadedDatabase,
) -> None:
    running = threading.Event()
    ended: list[float] = []

    def slow_step(conn: sa.Connection) -> None:
        running.set()
        time.sleep(0.3)
        ended.append(time.monotonic())

    async def transaction() -> None:
        async with database.transaction(write=True) as conn:
            await conn.run_sync(slow_step)

    task = asyncio.create_task(transaction())
    while not running.is_set():
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    cancelled_at = time.monotonic()
    # The step ran to its end before the task finished cancelling (and rolling back).
    assert ended and ended[0] <= cancelled_at
    await database.dispose()


async def test_a_step_cancelled_again_while_it_ends_still_ends_first(
    database: ThreadedDatabase,
) -> None:
    running = threading.Event()
    ended = threading.Event()

    def slow_step() -> None:
        running.set()
        time.sleep(0.3)
        ended.set()

    task = asyncio.create_task(database.run(slow_step))
    while not running.is_set():
        await asyncio.sleep(0.01)
    task.cancel()
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert ended.is_set()
    await database.dispose()
