"""The ASGI application of an API process, over the composition root: ``app_factory`` is
what ``kycvault serve`` names to uvicorn (an import string, so that each worker process
builds its own application, after it has been handed the master key: see handover.py)."""

from __future__ import annotations

import asyncio
import contextlib
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


@asynccontextmanager
async def serving(
    settings: Settings, container: Container | None = None
) -> AsyncIterator[AppContext]:
    """An API process's context for as long as it serves: the container (built here unless
    given, and then closed here) with its schema prepared, the background work beside the
    requests when this process is the vault's primary (``_background``,
    bootstrap/primary.py), and spans sent while it serves when tracing is on."""
    built = container or build_container(settings)
    await prepare_schema(built, upgrade=settings.migrate_on_start)
    stop_tracing = start_tracing(settings, "api")
    try:
        async with while_primary(settings.data_dir, lambda: _background(settings, built)):
            yield built.ctx
    finally:
        if container is None:
            await built.close()
        stop_tracing()


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


def build_app(settings: Settings | None = None, container: Container | None = None) -> FastAPI:
    """The ASGI application over ``container``, or over one built when the application
    starts (settings from the environment unless given)."""
    settings = settings or Settings()
    return create_app(settings, lambda: serving(settings, container))


def app_factory() -> FastAPI:
    """Entry point for ``uvicorn --factory`` (settings from the environment): an API process,
    which will hold the master key."""
    harden()
    return build_app()
