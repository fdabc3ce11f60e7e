"""The review console: server-rendered pages under ``/console`` for the people who review
documents, on the same services as the API (the page's user acts through the ``Actor`` of
their login session, with their role's scopes).

``install(app)`` adds its routes (outside the OpenAPI document), its error pages (the
``/console`` envelope) and its security headers. ``auth.py`` has the login session's
dependencies, ``rendering.py`` the templates' ``render``; ``templates/`` and ``static/``
ship inside the package (no CDN, no external fonts: it works with the network cut).
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from kycvault.api import problems
from kycvault.api.console import documents, expiring_pages, routes, settings_pages, subject_pages
from kycvault.api.console.rendering import error_page
from kycvault.api.console.security import PREFIX, ConsoleHeaders

# The console's routers: the login and the skeleton first, then each page's.
ROUTERS: tuple[APIRouter, ...] = (
    routes.router,
    subject_pages.router,
    expiring_pages.router,
    settings_pages.router,
    documents.router,
)


def install(app: FastAPI) -> None:
    """Serve the console on ``app``. Call before the outermost middleware is added, so the
    console's headers are set inside it."""
    for router in ROUTERS:
        app.include_router(router)
    problems.use_envelope(app, PREFIX, error_page)
    app.add_middleware(ConsoleHeaders)
