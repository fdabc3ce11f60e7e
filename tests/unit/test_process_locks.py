"""The two locks that let several API processes share one embedded vault: the election of
the process that runs the background work, and the queue of SQLite writers."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

from kycvault.adapters.db.sqlite import WriterLock
from kycvault.bootstrap.primary import PrimaryLock, while_primary


def test_one_holder_of_the_election_lock_at_a_time(tmp_path: Path) -> None:
    first, second = PrimaryLock(tmp_path), PrimaryLock(tmp_path)
    assert first.try_take() and first.held
    assert not second.try_take() and not second.held
    first.release()
    assert second.try_take()
    second.release()


def test_an_unwritable_data_dir_makes_every_process_primary(tmp_path: Path) -> None:
    # Rather than no process at all doing the work.
    assert PrimaryLock(tmp_path / "missing").try_take()


def test_the_work_starts_once_the_lock_is_free_and_stops_with_the_block(tmp_path: Path) -> None:
    events: list[str] = []

    def start() -> object:
        events.append("start")

        async def stop() -> None:
            events.append("stop")

        return stop

    async def scenario() -> None:
        other = PrimaryLock(tmp_path)
        assert other.try_take()
        async with while_primary(tmp_path, start, retry_seconds=0.05) as lock:  # type: ignore[arg-type]
            await asyncio.sleep(0.2)
            assert events == [] and not lock.held
            other.release()
            for _ in range(100):
                if events:
                    break
                await asyncio.sleep(0.02)
            assert events == ["start"] and lock.held
        assert events == ["start", "stop"] and not lock.held
        assert other.try_take()  # given up when the block ended
        other.release()

    asyncio.run(scenario())


def test_a_writer_waits_for_the_one_before_it_across_descriptors(tmp_path: Path) -> None:
    # Two WriterLocks on one file stand for two processes: flock conflicts between open
    # files, whichever process holds them.
    path = tmp_path / "db.writer-lock"
    one, two = WriterLock(path), WriterLock(path)
    one.acquire()
    got = threading.Event()

    def second() -> None:
        with two:
            got.set()

    thread = threading.Thread(target=second)
    thread.start()
    assert not got.wait(0.3)
    one.release()
    assert got.wait(5)
    thread.join(5)
    one.close()
    two.close()


def test_threads_of_one_process_queue_too(tmp_path: Path) -> None:
    lock = WriterLock(tmp_path / "db.writer-lock")
    inside = 0
    most = 0
    guard = threading.Lock()

    def write() -> None:
        nonlocal inside, most
        for _ in range(50):
            with lock:
                with guard:
                    inside += 1
                    most = max(most, inside)
                time.sleep(0.001)  # long enough for another thread to come in, were it let
                with guard:
                    inside -= 1

    threads = [threading.Thread(target=write) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert most == 1
    lock.close()


def test_default_api_processes_are_one_a_cpu() -> None:
    import os

    from kycvault.config import Settings

    assert Settings(workers=None).api_processes == len(os.sched_getaffinity(0))
    assert Settings(workers=3).api_processes == 3
