"""Who is logged in to the console, and the checks every form goes through.

- ``COOKIE`` (``kycvault_console``) holds the login session's token: HttpOnly,
  SameSite=Strict, Path=/console, Secure when the console is reached over https.
- ``console_session`` (``ConsoleSessionDep``): the dependency of every page, which resumes
  the session from the cookie and gives the ``ConsoleSession`` (its ``actor`` is what the
  page passes to the services). Without a session, a GET page answers 303 to
  ``/console/login?next=<the page>`` (the ``/console`` error envelope does it, from
  ``SessionExpired``).
- ``require_csrf`` (``CsrfSessionDep``): the dependency of every POST form; the session as
  ``console_session`` gives it, once the form's hidden field ``csrf_token`` matched. A
  missing or wrong token is a 403 ``csrf_failed`` before the route runs, so nothing is
  stored. The form is parsed once here (``form_data`` gives it to the route).
- The login form has no session yet: it carries a token of its own, the value of the
  ``kycvault_console_login`` cookie (``LOGIN_COOKIE``, SameSite=Strict), so another site
  cannot post it and log a browser in to an account of its choosing.
"""

from __future__ import annotations

import secrets
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request, Response
from starlette.datastructures import FormData

from kycvault.api.client_address import client_address
from kycvault.api.client_input import check_text
from kycvault.api.deps import ContextDep
from kycvault.errors import CsrfFailed, SessionExpired
from kycvault.services import console_sessions
from kycvault.services.console_sessions import ConsoleSession

COOKIE = "kycvault_console"
LOGIN_COOKIE = "kycvault_console_login"
PATH = "/console"
HOME = "/console/subjects"
# A form of the console has a handful of fields; more is not a form of ours.
_MAX_FIELDS = 50


def address_of(request: Request) -> str | None:
    address = client_address(request)
    return str(address) if address is not None else None


def request_id_of(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


def is_https(request: Request) -> bool:
    public_url = str(getattr(request.app.state, "public_url", "") or "")
    return request.url.scheme == "https" or public_url.startswith("https://")


def set_cookie(request: Request, response: Response, name: str, value: str) -> None:
    # No Max-Age: a browser session's cookie; the server ends the login session itself.
    response.set_cookie(
        name, value, path=PATH, httponly=True, samesite="strict", secure=is_https(request)
    )


def clear_cookie(request: Request, response: Response, name: str) -> None:
    response.delete_cookie(
        name, path=PATH, httponly=True, samesite="strict", secure=is_https(request)
    )


def safe_next(value: str | None) -> str:
    """Where to go after the login: ``value`` when it is a path of the console on this
    origin (no scheme, no host, no ``//`` or backslash trick), else the subjects page."""
    if not value or len(value) > 2000 or any(c in value for c in "\\\r\n\t\x00"):
        return HOME
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or value.startswith("//"):
        return HOME
    if not (parts.path == PATH or parts.path.startswith(PATH + "/")):
        return HOME
    if parts.path in {"/console/login", "/console/logout"} or "/.." in parts.path:
        return HOME
    return value


async def form_data(request: Request) -> FormData:
    """The request's form (parsed once, then kept), every value checked for NUL."""
    form = await request.form(max_files=0, max_fields=_MAX_FIELDS)
    for name, value in form.multi_items():
        if isinstance(value, str):
            check_text(value, name)
    return form


def form_text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


async def console_session(request: Request, ctx: ContextDep) -> ConsoleSession:
    """The logged-in user's session, from the cookie.

    Raises:
        SessionExpired: no cookie, or its session ended (answered with the login page).
    """
    token = request.cookies.get(COOKIE)
    if not token:
        raise SessionExpired("log in to use the console")
    session = await console_sessions.resume(
        ctx, token, address_of(request), request_id=request_id_of(request)
    )
    request.state.key_id = session.actor.key_id
    return session


ConsoleSessionDep = Annotated[ConsoleSession, Depends(console_session)]


async def require_csrf(request: Request, session: ConsoleSessionDep) -> ConsoleSession:
    """The session of a POST form whose hidden ``csrf_token`` is the session's.

    Raises:
        CsrfFailed: 403, the token is missing or wrong.
    """
    form = await form_data(request)
    console_sessions.check_csrf(session, form_text(form, "csrf_token"))
    return session


CsrfSessionDep = Annotated[ConsoleSession, Depends(require_csrf)]


def login_token(request: Request) -> str:
    """The login form's token: the browser's ``LOGIN_COOKIE``, or a new one."""
    current = request.cookies.get(LOGIN_COOKIE, "")
    return current if 20 <= len(current) <= 100 else secrets.token_urlsafe(32)


def check_login_token(request: Request, submitted: str) -> None:
    """Raises:
    CsrfFailed: the login form's token is not the browser's cookie."""
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not secrets.compare_digest(expected.encode(), submitted.encode()):
        raise CsrfFailed("the login form expired; reload the page and log in again")
