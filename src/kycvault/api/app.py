"""The ASGI application: ``create_app`` wires settings, middleware and routers over the
``AppContext`` the composition root opens for it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI

from kycvault import __version__
from kycvault.api import console, dialects, docs, openapi, problems
from kycvault.api.compat import DIALECTS
from kycvault.api.middleware import RequestMiddleware
from kycvault.api.multipart import UploadLimits
from kycvault.api.routes import (
    audit,
    document_types,
    documents,
    downloads,
    erasure,
    events,
    expiry,
    files,
    legal_holds,
    ops,
    processing,
    retention,
    subjects,
    webhooks,
)
from kycvault.config import Settings
from kycvault.logs import configure
from kycvault.services import tracing
from kycvault.services.context import AppContext

DESCRIPTION = """
A self-hosted vault for KYC/KYB documents. Authenticate with `Authorization: Bearer <api_key>`
(or HTTP Basic `key_id:key_secret`). Errors are `application/problem+json` (RFC 9457) with a
stable `code`.
"""

# What the composition root hands the application: it opens the context the routes serve.
ContextOpener = Callable[[], AbstractAsyncContextManager[AppContext]]


def create_app(settings: Settings, open_context: ContextOpener) -> FastAPI:
    """The application for ``settings``. ``open_context`` comes from the composition root
    (``kycvault.bootstrap``): the routes serve the ``AppContext`` it gives for as long as
    the application runs, and whatever it runs beside them (housekeeping, a job worker)
    stops when it is closed."""
    configure(settings.log_level, settings.log_format, context=tracing.log_context)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_context() as ctx:
            app.state.ctx = ctx
            yield

    app = FastAPI(
        title="kycvault",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        # No redirect between ``/x`` and ``/x/``: Starlette builds its Location from the Host
        # header. Each path answers as declared, or 404.
        redirect_slashes=False,
        # /docs and /redoc are served by ``api.docs``, from files that ship with kycvault
        # (FastAPI's own load them from a CDN).
        docs_url=None,
        redoc_url=None,
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
    routers = (
        ops,
        subjects,
        documents,
        files,
        processing,
        downloads,
        document_types,
        audit,
        events,
        expiry,
        webhooks,
        legal_holds,
        retention,
        erasure,
        docs,
    )
    for module in routers:
        app.include_router(module.router)
    dialects.install(app, DIALECTS, upload_limits)
    openapi.install(app, DIALECTS)
    console.install(app)
    app.add_middleware(RequestMiddleware, default_body_limit=settings.max_json_body)
    if settings.tracing != "off":
        # Only now: the module imports OpenTelemetry, which tracing off never loads.
        from kycvault.api.tracing import TracingMiddleware

        app.add_middleware(TracingMiddleware)  # outermost: the access log is inside its span
    return app
