"""The interactive API documentation: ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc), with
every file they load served by kycvault itself under ``/docs/static/``.

FastAPI's own pages load their JavaScript, CSS and favicon from a CDN (and ReDoc its fonts
from Google), so on a network with no way out they are blank. The pages here are FastAPI's
(``get_swagger_ui_html``, ``get_redoc_html``) pointed at the released Swagger UI and ReDoc
bundles that the ``fastapi-offline`` package ships (Swagger UI under Apache-2.0, ReDoc under
MIT; that package's own code is not used). The URLs carry that package's version, so an
upgrade names new URLs and the files can be cached for a year.

The pages run FastAPI's inline ``<script>``, so ``RequestMiddleware`` leaves them without the
API's sandboxing Content-Security-Policy (and the console's strict one covers ``/console``
only). They set their own, ``CSP``: inline script and style allowed, but nothing loaded from
or sent to another origin. ReDoc's side menu shows its maker's logo from their CDN; the
policy keeps the browser from asking for it.
"""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

from kycvault.api.routing import CheckedRoute
from kycvault.errors import NotFound

DOCS = "/docs"
REDOC = "/redoc"
STATIC = f"{DOCS}/static"
SWAGGER_JS = "swagger-ui-bundle.js"
SWAGGER_CSS = "swagger-ui.css"
REDOC_JS = "redoc.standalone.js"
FAVICON = "favicon.png"

_SHIPPED = Path(fastapi_offline.__file__).parent / "static"
# The only files served from there, with their types (the platform's mimetypes table varies:
# Python 3.11 says application/javascript).
MEDIA_TYPES = {
    SWAGGER_JS: "text/javascript; charset=utf-8",
    SWAGGER_CSS: "text/css; charset=utf-8",
    REDOC_JS: "text/javascript; charset=utf-8",
    FAVICON: "image/png",
}
_RELEASE = version("fastapi-offline")
CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; worker-src 'self' blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
_YEAR = "public, max-age=31536000, immutable"

router = APIRouter(include_in_schema=False, route_class=CheckedRoute)


def _root(request: Request) -> str:
    """The path the application is mounted at behind a proxy (as FastAPI's own pages)."""
    root: str = request.scope.get("root_path", "")
    return root.rstrip("/")


def _asset(request: Request, name: str) -> str:
    return f"{_root(request)}{STATIC}/{name}?v={_RELEASE}"


def _spec(request: Request) -> tuple[FastAPI, str]:
    app: FastAPI = request.app
    if app.openapi_url is None:
        raise NotFound("the OpenAPI document is not served", code="not_found")
    return app, _root(request) + app.openapi_url


@router.get(DOCS)
async def swagger_ui(request: Request) -> HTMLResponse:
    app, spec = _spec(request)
    page = get_swagger_ui_html(
        openapi_url=spec,
        title=f"{app.title} - Swagger UI",
        swagger_js_url=_asset(request, SWAGGER_JS),
        swagger_css_url=_asset(request, SWAGGER_CSS),
        swagger_favicon_url=_asset(request, FAVICON),
        # No call to swagger.io's online validator.
        swagger_ui_parameters={**(app.swagger_ui_parameters or {}), "validatorUrl": None},
    )
    page.headers["content-security-policy"] = CSP
    return page


@router.get(REDOC)
async def redoc(request: Request) -> HTMLResponse:
    app, spec = _spec(request)
    page = get_redoc_html(
        openapi_url=spec,
        title=f"{app.title} - ReDoc",
        redoc_js_url=_asset(request, REDOC_JS),
        redoc_favicon_url=_asset(request, FAVICON),
        with_google_fonts=False,
    )
    page.headers["content-security-policy"] = CSP
    return page


@router.get(f"{STATIC}/{{name}}")
async def static_file(name: str) -> FileResponse:
    media_type = MEDIA_TYPES.get(name)
    if media_type is None:
        raise NotFound("no such file", code="not_found")
    return FileResponse(_SHIPPED / name, media_type=media_type, headers={"Cache-Control": _YEAR})
