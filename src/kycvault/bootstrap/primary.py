"""Which API process of a vault runs the background work.

``kycvault serve`` starts one API process per CPU by default. Each answers requests, but the
in-process job worker and the periodic housekeeping (sweep, expiry scan, retention purge) run
in one of them only: several would compete for the same rows (on SQLite, for the one
writer) and take CPU from requests for nothing. The processes elect that one through an
exclusive ``flock`` on a file in the data dir: the first to take it is the primary, and the
kernel releases it when that process ends, however it ends. The others try again every
``retry_seconds``, so when the primary dies (and uvicorn starts a new process in its place)
one of the survivors, or the new process, takes the work over.

The lock is per data dir, so it also keeps two ``kycvault serve`` commands on one embedded
vault from both working; API processes on other hosts (the scaled-out shape) each have their
own data dir and each run their own housekeeping, as before. A data dir where the file
cannot be made (read-only) makes every process primary: the work runs everywhere rather
than nowhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import structlog

log = structlog.get_logger("kycvault.primary")

LOCK_FILE = "api-primary.lock"


class PrimaryLock:
    """The data dir's election lock, held for the life of the process once taken."""

    def __init__(self, data_dir: Path) -> None:
        self._path = data_dir / LOCK_FILE
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def try_take(self) -> bool:
        """Take the lock if no other process holds it (never waits)."""
        if self._fd is not None:
            return True
        try:
            fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            log.warning("primary_lock_unavailable", path=str(self._path), error=str(exc))
            return True
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None


@asynccontextmanager
async def while_primary(
    data_dir: Path,
    start: Callable[[], Callable[[], Awaitable[None]]],
    *,
    retry_seconds: float = 5.0,
) -> AsyncIterator[PrimaryLock]:
    """Call ``start`` (which begins the background work as tasks, without waiting, and returns
    how to stop it) once this process is the primary, now or later; stop the work and give
    the lock up when the block ends."""
    lock = PrimaryLock(data_dir)
    stop: Callable[[], Awaitable[None]] | None = None

    async def elect() -> None:
        nonlocal stop
        # Polled: a flock waited for in a thread could not be given up when the block ends
        # (the thread would take the lock later and keep it).
        while not lock.try_take():  # noqa: ASYNC110
            await asyncio.sleep(retry_seconds)
        log.info("primary_elected", pid=os.getpid())
        stop = start()

    election = asyncio.create_task(elect())
    try:
        yield lock
    finally:
        election.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await election
        if stop is not None:
            await stop()
        lock.release()
