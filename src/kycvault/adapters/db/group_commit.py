"""Group commit: many small writes that each must be durable before their caller goes on,
written together.

Every read of the API is audited, and its event must be committed before the answer leaves.
One transaction per read made reads pay a write transaction each (on SQLite the one writer
and a commit with fsync; on PostgreSQL a round trip per statement and a commit) and made
concurrent reads of a tenant queue on its chain head one by one. Here a caller ``submit``s
its item and waits; one task writes everything queued (up to ``max_batch``) with one call of
``write`` (one transaction), then wakes every caller of that batch with its own outcome (the
value ``write`` gave for its item, or its ``Failed`` error: one read's lookup may find
nothing while the others of its batch succeed), or fails every one of them with the batch's
error. While a batch is being written the next one queues, so an
idle store writes an item at once, and a busy one writes as many per commit as arrived
during the last.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from kycvault.errors import Unavailable

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Failed:
    """The outcome of one item that failed on its own (its batch was written)."""

    error: Exception


DEFAULT_MAX_BATCH = 256


class GroupCommit(Generic[T, R]):
    def __init__(
        self,
        write: Callable[[Sequence[T]], Awaitable[Sequence[R | Failed]]],
        *,
        max_batch: int = DEFAULT_MAX_BATCH,
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._write = write
        self._max_batch = max_batch
        self._queue: list[tuple[T, asyncio.Future[R]]] = []
        self._writer: asyncio.Task[None] | None = None
        self._closed = False

    async def submit(self, item: T) -> R:
        """Return ``item``'s outcome once its batch is committed; raise its ``Failed`` error,
        or what its batch's write raised. A caller
        cancelled while waiting does not take its item back: a batch being written cannot
        drop it, and a read that was made stays recorded."""
        if self._closed:
            raise Unavailable("the store is shutting down", code="database_unavailable")
        done: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.append((item, done))
        if self._writer is None:
            # A context of its own: the writer must not carry the first caller's (its
            # transaction scope, its request id in the log).
            self._writer = asyncio.get_running_loop().create_task(
                self._drain(), context=contextvars.Context()
            )
        return await done

    async def _drain(self) -> None:
        try:
            while self._queue:
                batch = self._queue[: self._max_batch]
                del self._queue[: self._max_batch]
                try:
                    outcomes = await self._write([item for item, _ in batch])
                except BaseException as exc:
                    for _, done in batch:
                        if not done.done():
                            done.set_exception(_for_waiter(exc))
                    if not isinstance(exc, Exception):
                        raise
                    continue
                for (_, done), outcome in zip(batch, outcomes, strict=True):
                    if done.done():
                        continue
                    if isinstance(outcome, Failed):
                        done.set_exception(outcome.error)
                    else:
                        done.set_result(outcome)
        finally:
            self._writer = None
            # Cancelled with items still queued (the loop is closing): their callers fail
            # rather than wait for ever.
            for _, done in self._queue:
                if not done.done():
                    done.set_exception(_stopped())
            self._queue.clear()

    async def close(self) -> None:
        """Refuse new items and return once every queued one is written (or failed)."""
        self._closed = True
        writer = self._writer
        if writer is not None:
            await asyncio.shield(writer)


def _stopped() -> Unavailable:
    return Unavailable("the audit record could not be written", code="database_unavailable")


def _for_waiter(exc: BaseException) -> BaseException:
    """The error each caller of a failed batch raises. A cancelled writer (the loop is
    closing) is not the callers' cancellation: they fail as unavailable instead."""
    if isinstance(exc, Exception):
        return exc
    return _stopped()
