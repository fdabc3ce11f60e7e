"""The ASGI application: ``create_app`` wires settings, container, middleware and routers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from kycvault import __version__
from kycvault.api import dialects, problems
from kycvault.api.compat import DIALECTS
from kycvault.api.middleware import RequestMiddleware
from kycvault.api.multipart import UploadLimits
from kycvault.api.routes import (
    audit,
    document_types,
    documents,
    downloads,
    files,
    ops,
    processing,
    subjects,
)
from kycvault.bootstrap import Container, build_container, prepare_schema, sweep_grace
from kycvault.config import Settings
from kycvault.logs import configure
from kycvault.process import harden
from kycvault.services import maintenance
from kycvault.services.workers import Worker

DESCRIPTION = """
A self-hosted vault for KYC/KYB documents. Authenticate with `Authorization: Bearer <api_key>`
(or HTTP Basic `key_id:key_secret`). Errors are `application/problem+json` (RFC 9457) with a
stable `code`.
"""


def create_app(settings: Settings | None = None, container: Container | None = None) -> FastAPI:
    settings = settings or Settings()
    configure(settings.log_level, settings.log_format)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        built = container or build_container(settings)
        await prepare_schema(built, upgrade=settings.migrate_on_start)
        app.state.container = built
        housekeeping = asyncio.create_task(
            maintenance.run_periodically(
                built.ctx,
                grace=sweep_grace(settings),
                every_seconds=settings.sweep_interval_seconds,
            )
        )
        stop_worker = asyncio.Event()
        worker = (
            asyncio.create_task(Worker(built.ctx).run(stop_worker))
            if settings.runs_in_process_worker
            else None
        )
        try:
            yield
        finally:
            stop_worker.set()
            if worker is not None:
                await worker  # finishes the job in hand; its lease covers a hard stop
            housekeeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await housekeeping
            if container is None:
                await built.close()

    app = FastAPI(
        title="kycvault",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        # No redirect between ``/x`` and ``/x/``: Starlette builds its Location from the Host
        # header. Each path answers as declared, or 404.
        redirect_slashes=False,
    )
    upload_limits = UploadLimits(
        max_files=settings.max_files_per_request,
        max_fields=settings.max_form_fields,
        max_field_size=settings.max_form_field_size,
        max_body=settings.max_request_body,
    )
    app.state.public_url = settings.resolved_public_url
    app.state.trusted_proxies = settings.trusted_proxies
    problems.install(app)
    for module in (ops, subjects, documents, files, processing, downloads, document_types, audit):
        app.include_router(module.router)
    dialects.install(app, DIALECTS, upload_limits)
    app.add_middleware(RequestMiddleware, default_body_limit=settings.max_json_body)
    return app


def app_factory() -> FastAPI:
    """Entry point for ``uvicorn --factory`` (settings from the environment): an API process,
    which will hold the master key."""
    harden()
    return create_app()
