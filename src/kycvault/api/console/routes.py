"""The console's own routes: logging in and out, its static files, and the way in. The
pages (subjects, documents, review, expiring, settings) are routers of their own, on the
dependencies of ``auth.py`` and the ``render`` of ``rendering.py``."""

from __future__ import annotations

import mimetypes

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from kycvault.api.console.auth import (
    COOKIE,
    HOME,
    LOGIN_COOKIE,
    CsrfSessionDep,
    address_of,
    check_login_token,
    clear_cookie,
    form_data,
    form_text,
    login_token,
    request_id_of,
    safe_next,
    set_cookie,
)
from kycvault.api.console.rendering import STATIC, render
from kycvault.api.deps import ContextDep
from kycvault.api.problems import status_for
from kycvault.api.routing import CheckedRoute
from kycvault.errors import (
    AuthenticationFailed,
    NotFound,
    PermissionDenied,
    TooManyRequests,
    TotpRequired,
)
from kycvault.services import console_sessions

router = APIRouter(prefix="/console", include_in_schema=False, route_class=CheckedRoute)

# The files of static/, found once: nothing else is served from there.
_STATIC_FILES = {path.name: path for path in STATIC.iterdir() if path.is_file()}
_YEAR = "public, max-age=31536000, immutable"


def _login_page(
    request: Request,
    *,
    token: str,
    next_path: str,
    email: str = "",
    error: str | None = None,
    code_needed: bool = False,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    response = render(
        request,
        "login.html",
        None,
        status_code=status_code,
        headers=headers,
        csrf_token=token,
        next_path=next_path,
        email=email,
        error=error,
        code_needed=code_needed,
    )
    set_cookie(request, response, LOGIN_COOKIE, token)
    return response


@router.get("")
async def console_home() -> RedirectResponse:
    return RedirectResponse(HOME, status_code=303)


@router.get("/login")
async def login_form(request: Request, next: str | None = None) -> HTMLResponse:
    return _login_page(request, token=login_token(request), next_path=safe_next(next))


@router.post("/login")
async def log_in(request: Request, ctx: ContextDep) -> Response:
    form = await form_data(request)
    check_login_token(request, form_text(form, "csrf_token"))
    email = form_text(form, "email")
    next_path = safe_next(form_text(form, "next"))
    try:
        login = await console_sessions.log_in(
            ctx,
            email,
            form_text(form, "password"),
            form_text(form, "code") or None,
            address_of(request),
            request_id=request_id_of(request),
        )
    except (AuthenticationFailed, PermissionDenied, TooManyRequests) as exc:
        headers = None
        if isinstance(exc, TooManyRequests):
            headers = {"Retry-After": str(exc.retry_after)}
        return _login_page(
            request,
            token=login_token(request),
            next_path=next_path,
            email=email,
            error=exc.detail,
            code_needed=isinstance(exc, TotpRequired),
            status_code=status_for(exc),
            headers=headers,
        )
    previous = request.cookies.get(COOKIE)
    if previous:
        # This browser's earlier session, if any, ends with the new login.
        await console_sessions.log_out(ctx, previous, client_address=address_of(request))
    response = RedirectResponse(next_path, status_code=303)
    set_cookie(request, response, COOKIE, login.token)
    clear_cookie(request, response, LOGIN_COOKIE)
    return response


@router.post("/logout")
async def log_out(request: Request, ctx: ContextDep, session: CsrfSessionDep) -> Response:
    await console_sessions.log_out(
        ctx,
        request.cookies.get(COOKIE, ""),
        client_address=address_of(request),
        request_id=request_id_of(request),
    )
    response = RedirectResponse("/console/login", status_code=303)
    clear_cookie(request, response, COOKIE)
    return response


@router.get("/static/{name}")
async def static_file(name: str) -> FileResponse:
    path = _STATIC_FILES.get(name)
    if path is None:
        raise NotFound("no such file", code="not_found")
    media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    # Versioned URLs (``static_url``): a new release names new URLs, so a year is safe.
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": _YEAR})
