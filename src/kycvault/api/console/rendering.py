"""Pages from the console's Jinja2 templates (``templates/``, autoescaped), the URLs of its
static files, and its error pages.

``render(request, template, session, **context)`` is how every console page answers. Each
template extends ``base.html`` and fills its blocks ``title`` and ``content``; it receives:

- ``user``: the logged-in ``User`` (None on the login page), ``role``: its role's value
  (``viewer``, ``reviewer`` or ``admin``; ``""`` when no one is logged in), ``is_admin``;
- ``csrf_token``: the value every POST form sends in its hidden field ``csrf_token``;
- ``static_url(name)``: the URL of a file of ``static/``, versioned by its content (so it
  may be cached for a year);
- ``request`` and whatever ``context`` the page passes.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from kycvault.api.problems import Fault
from kycvault.domain.users import Role
from kycvault.errors import SessionExpired
from kycvault.services.console_sessions import ConsoleSession

HERE = Path(__file__).parent
STATIC = HERE / "static"
LOGIN = "/console/login"

_environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


@cache
def _version(name: str) -> str:
    return hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:12]


def static_url(name: str) -> str:
    return f"/console/static/{name}?v={_version(name)}"


_environment.globals["static_url"] = static_url


def render(
    request: Request,
    template: str,
    session: ConsoleSession | None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """``template`` rendered for ``session``'s user (None: no one is logged in)."""
    user = session.user if session is not None else None
    values: dict[str, Any] = {
        "request": request,
        "user": user,
        "role": user.role.value if user is not None else "",
        "is_admin": user is not None and user.role == Role.ADMIN,
        "csrf_token": session.csrf_token if session is not None else "",
        **context,
    }
    html = _environment.get_template(template).render(values)
    return HTMLResponse(html, status_code=status_code, headers=headers)


def login_redirect(request: Request) -> RedirectResponse:
    """To the login page; a page asked for with GET comes back after the login (``next``)."""
    location = LOGIN
    if request.method in {"GET", "HEAD"}:
        target = request.url.path
        if request.url.query:
            target += "?" + request.url.query
        location += "?" + urlencode({"next": target})
    return RedirectResponse(location, status_code=303)


def error_page(request: Request, fault: Fault) -> Response:
    """The console's errors as pages (the ``/console`` envelope of ``api/problems.py``); an
    ended or missing login session goes back to the login page."""
    if isinstance(fault.error, SessionExpired):
        return login_redirect(request)
    return render(
        request,
        "error.html",
        None,
        status_code=fault.status,
        status=fault.status,
        code=fault.code,
        detail=fault.detail,
    )
