"""The ASGI application of an API process, over the composition root: ``app_factory`` is
what ``kycvault serve`` names to uvicorn (an import string, so that each worker process
builds its own application, after it has been handed the master key: see handover.py)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI

from kycvault.api.app import create_app
from kycvault.bootstrap import (
    Container,
    build_container,
    prepare_schema,
    start_tracing,
    sweep_grace,
)
from kycvault.bootstrap.primary import while_primary
from kycvault.config import Settings
from kycvault.process import harden
from kycvault.services import expiry, maintenance, retention_purge
from kycvault.services.context import AppContext
from kycvault.services.workers import Worker

# Allocations between two collections of the young generation (CPython's default: 700).
GC_YOUNG_THRESHOLD = 10_000


@asynccontextmanager
async def serving(
    settings: Settings, container: Container | None = None, *, settle: bool = False
) -> AsyncIterator[AppContext]:
    """An API process's context for as long as it serves: the container (built here unless
    given, and then closed here) with its schema prepared, the background work beside the
    requests when this process is the vault's primary (``_background``,
    bootstrap/primary.py), and spans sent while it serves when tracing is on."""
    built = container or build_container(settings)
    await prepare_schema(built, upgrade=settings.migrate_on_start)
    stop_tracing = start_tracing(settings, "api")
    if settle:
        settle_heap()
    try:
        async with while_primary(settings.data_dir, lambda: _background(settings, built)):
            yield built.ctx
    finally:
        if container is None:
            await built.close()
        stop_tracing()


def settle_heap() -> None:
    """Move what start-up made (routes, schemas, table metadata, compiled statements: a few
    hundred thousand objects that live as long as the process) out of the cyclic collector's
    reach, and collect the young generation less often. A request makes thousands of
    short-lived containers, so with the defaults the collector ran every few hundred and its
    full passes walked the whole start-up heap each time; what is left is what requests make.
    Memory held by reference cycles is still freed, a little later."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])


def _background(settings: Settings, built: Container) -> Callable[[], Awaitable[None]]:
    """Start the periodic housekeeping, the expiry scan, the retention purge (unless its
    interval is 0) and, where the settings keep it in the API process, a job worker; return
    how to stop them."""
    grace, every = sweep_grace(settings), settings.sweep_interval_seconds
    housekeeping = asyncio.create_task(
        maintenance.run_periodically(built.ctx, grace=grace, every_seconds=every)
    )
    expiry_scan = asyncio.create_task(
        expiry.run_periodically(built.ctx, every_seconds=settings.expiry_scan_seconds)
    )
    tasks = [housekeeping, expiry_scan]
    if settings.retention_scan_seconds > 0:
        every_purge = settings.retention_scan_seconds
        purge = retention_purge.run_periodically(built.ctx, every_seconds=every_purge)
        tasks.append(asyncio.create_task(purge))
    stop_worker = asyncio.Event()
    worker = None
    if settings.runs_in_process_worker:
        worker = asyncio.create_task(Worker(built.ctx).run(stop_worker))

    async def stop() -> None:
        stop_worker.set()
        if worker is not None:
            await worker  # finishes the job in hand; its lease covers a hard stop
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return stop


def build_app(
    settings: Settings | None = None, container: Container | None = None, *, settle: bool = False
) -> FastAPI:
    """The ASGI application over ``container``, or over one built when the application
    starts (settings from the environment unless given); with ``settle``, a process of its
    own, whose start-up heap is frozen once it has started (``settle_heap``: never where
    applications come and go in one process, whose frozen objects would never be freed)."""
    resolved = settings or Settings()
    return create_app(resolved, lambda: serving(resolved, container, settle=settle))


def app_factory() -> FastAPI:
    """Entry point for ``uvicorn --factory`` (settings from the environment): an API process,
    which will hold the master key."""
    harden()
    return build_app(settle=True)
