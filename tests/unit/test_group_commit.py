"""``GroupCommit`` (adapters/db/group_commit.py) with a fake write: items queued while a
batch is being written go together into the next one, in the order submitted, at most
``max_batch`` at a time; each caller returns its own outcome once its batch is written,
raises its own ``Failed`` error, or its batch's error; closing drains what is queued and
refuses what comes after."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from kycvault.adapters.db.group_commit import Failed, GroupCommit
from kycvault.errors import Unavailable

pytestmark = pytest.mark.anyio


class FakeWrite:
    """Records each batch; a batch waits for ``gate`` (when closed) and fails when it
    holds an item in ``failing``; an item in ``alone`` fails by itself. Each other item's
    outcome is its double."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.started = asyncio.Event()
        self.failing: set[int] = set()
        self.alone: set[int] = set()

    async def __call__(self, items: Sequence[int]) -> list[int | Failed]:
        self.batches.append(list(items))
        self.started.set()
        await self.gate.wait()
        if self.failing & set(items):
            raise RuntimeError(f"batch {list(items)} failed")
        return [Failed(LookupError(n)) if n in self.alone else 2 * n for n in items]


async def _queued_behind_first(
    batcher: GroupCommit[int, int], write: FakeWrite, count: int
) -> list[asyncio.Task[int]]:
    """Callers of items 0 to ``count``: item 0's batch is being written (until the gate
    opens) and the others wait in the queue."""
    write.gate.clear()
    first = asyncio.create_task(batcher.submit(0))
    await write.started.wait()
    rest = [asyncio.create_task(batcher.submit(n)) for n in range(1, count + 1)]
    await asyncio.sleep(0)
    return [first, *rest]


async def test_items_queued_during_a_write_go_in_one_batch_in_order() -> None:
    write = FakeWrite()
    batcher = GroupCommit(write, max_batch=256)
    callers = await _queued_behind_first(batcher, write, 20)
    assert all(not task.done() for task in callers)
    write.gate.set()
    await asyncio.gather(*callers)
    assert write.batches == [[0], list(range(1, 21))]


async def test_a_lone_item_is_written_at_once() -> None:
    write = FakeWrite()
    batcher = GroupCommit(write)
    assert [await batcher.submit(n) for n in range(3)] == [0, 2, 4]
    assert write.batches == [[0], [1], [2]]


async def test_batches_hold_at_most_max_batch_items_and_keep_the_order() -> None:
    write = FakeWrite()
    batcher = GroupCommit(write, max_batch=4)
    callers = await _queued_behind_first(batcher, write, 10)
    write.gate.set()
    await asyncio.gather(*callers)
    assert [len(batch) for batch in write.batches] == [1, 4, 4, 2]
    assert [n for batch in write.batches for n in batch] == list(range(11))


async def test_a_failed_batch_fails_every_caller_in_it_and_no_other() -> None:
    write = FakeWrite()
    batcher = GroupCommit(write, max_batch=5)
    write.failing = {3}
    callers = await _queued_behind_first(batcher, write, 10)
    write.gate.set()
    outcomes = await asyncio.gather(*callers, return_exceptions=True)
    assert write.batches == [[0], [1, 2, 3, 4, 5], [6, 7, 8, 9, 10]]
    failed = [n for n, outcome in enumerate(outcomes) if isinstance(outcome, RuntimeError)]
    assert failed == [1, 2, 3, 4, 5]
    assert all(outcomes[n] == 2 * n for n in (0, 6, 7, 8, 9, 10))
    # The batcher goes on after a failure.
    write.failing = set()
    await batcher.submit(11)
    assert write.batches[-1] == [11]


async def test_an_item_failing_alone_fails_its_caller_only() -> None:
    write = FakeWrite()
    batcher = GroupCommit(write, max_batch=5)
    write.alone = {2}
    callers = await _queued_behind_first(batcher, write, 4)
    write.gate.set()
    outcomes = await asyncio.gather(*callers, return_exceptions=True)
    assert write.batches == [[0], [1, 2, 3, 4]]
    assert isinstance(outcomes[2], LookupError)
    assert [outcomes[n] for n in (0, 1, 3, 4)] == [0, 2, 6, 8]


async def test_a_cancelled_caller_leaves_its_item_and_the_others_written() -> None:
    write = FakeWrite()
    batcher = GroupCommit(write)
    callers = await _queued_behind_first(batcher, write, 3)
    callers[2].cancel()
    write.gate.set()
    outcomes = await asyncio.gather(*callers, return_exceptions=True)
    assert isinstance(outcomes[2], asyncio.CancelledError)
    assert [outcomes[n] for n in (0, 1, 3)] == [0, 2, 6]
    assert write.batches == [[0], [1, 2, 3]]


async def test_close_drains_the_queue_then_refuses_new_items() -> None:
    write = FakeWrite()
    batcher = GroupCommit(write, max_batch=2)
    callers = await _queued_behind_first(batcher, write, 5)
    closing = asyncio.create_task(batcher.close())
    await asyncio.sleep(0)
    assert not closing.done()
    with pytest.raises(Unavailable):
        await batcher.submit(99)
    write.gate.set()
    await closing
    assert all(task.done() and task.exception() is None for task in callers)
    assert [n for batch in write.batches for n in batch] == list(range(6))


async def test_close_with_nothing_queued_returns_at_once() -> None:
    batcher = GroupCommit(FakeWrite())
    await batcher.close()
    with pytest.raises(Unavailable):
        await batcher.submit(1)


def test_a_batch_holds_at_least_one_item() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        GroupCommit(FakeWrite(), max_batch=0)
