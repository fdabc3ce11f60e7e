"""The console's settings (``/console/settings``, admins only): the tenant's console users
(``services/users.py``), its API keys (``services/tenants.py``, as ``kycvault key`` manages
them) and its processing settings (``services/processing.py``).

Every form is a POST with the login session's CSRF token (``require_csrf``). A change that
succeeds answers 303 back to the page with ``?done=<what>``, which the page turns into a
fixed message (never text from the URL). Bad input answers the page again with the message
and the error's status (400, or 409 for an address in use), having stored nothing. Two
answers show a secret once and so are pages, not redirects: a new API key, and a user given
a generated password. The services check the ``admin`` scope and audit every refusal.
"""

from __future__ import annotations

import secrets
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from kycvault.api.console.auth import ConsoleSessionDep, CsrfSessionDep, form_data, form_text
from kycvault.api.console.rendering import render
from kycvault.api.deps import ContextDep
from kycvault.api.problems import status_for
from kycvault.api.routing import CheckedRoute
from kycvault.domain.processing import ProcessingSettings
from kycvault.domain.scopes import Scope, parse_lifetime
from kycvault.domain.users import Role
from kycvault.errors import Conflict, InvalidInput, NotFound
from kycvault.services import processing, tenants, users
from kycvault.services.console_sessions import ConsoleSession

router = APIRouter(prefix="/console", include_in_schema=False, route_class=CheckedRoute)

PAGE = "/console/settings"
# What ``?done=`` may say: fixed messages, so a link cannot put words on the page.
DONE = {
    "user_created": "The user was created.",
    "user_disabled": "The user was disabled and their login sessions ended.",
    "user_enabled": "The user may log in again.",
    "password_reset": "The password was changed and the user's login sessions ended.",
    "role_changed": "The user's role was changed.",
    "key_revoked": "The API key was revoked.",
    "processing_saved": "The processing settings were saved.",
}
PROCESSING_LABELS = {
    "classification": "Classify documents (guess their type)",
    "ocr": "Read text from documents (OCR)",
    "authenticity": "Check authenticity",
    "classification_overwrites_type": "A confident classification replaces the declared type",
    "searchable_text": "Make the text read from documents searchable",
}
# The lifetimes the key form offers (``parse_lifetime`` takes them).
LIFETIMES = {"": "Never", "30d": "30 days", "90d": "90 days", "365d": "1 year"}
_REFUSED = (InvalidInput, Conflict, NotFound)


async def _page(
    request: Request,
    ctx: ContextDep,
    session: ConsoleSession,
    *,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    actor = session.actor
    listed = await users.list_users(ctx, actor.tenant_id, actor=actor)
    keys = await tenants.list_keys(ctx, tenant_id=actor.tenant_id, actor=actor)
    current = await processing.get_settings(ctx, actor)
    values: dict[str, Any] = {
        "done": None,
        "error": None,
        "error_form": None,
        "new_key": None,
        "new_password": None,
        "form": {},
        **context,
    }
    return render(
        request,
        "settings.html",
        session,
        status_code=status_code,
        section="settings",
        users=listed,
        keys=keys,
        now=ctx.clock(),
        roles=[role.value for role in Role],
        scopes=[scope.value for scope in Scope],
        lifetimes=LIFETIMES,
        processing=current.as_dict(),
        processing_labels=PROCESSING_LABELS,
        **values,
    )


async def _refused(
    request: Request,
    ctx: ContextDep,
    session: ConsoleSession,
    exc: InvalidInput | Conflict | NotFound,
    which: str,
    form: dict[str, str],
) -> HTMLResponse:
    return await _page(
        request,
        ctx,
        session,
        status_code=status_for(exc),
        error=exc.detail,
        error_form=which,
        form=form,
    )


def _done(what: str) -> RedirectResponse:
    return RedirectResponse(f"{PAGE}?done={what}", status_code=303)


@router.get("/settings")
async def settings_page(
    request: Request, ctx: ContextDep, session: ConsoleSessionDep, done: str | None = None
) -> HTMLResponse:
    return await _page(request, ctx, session, done=DONE.get(done or ""))


@router.post("/settings/users")
async def create_user(request: Request, ctx: ContextDep, session: CsrfSessionDep) -> Response:
    form = await form_data(request)
    email, role = form_text(form, "email"), form_text(form, "role")
    typed = form_text(form, "password")
    # Left empty, the password is made here and shown once, for the admin to hand over.
    password = typed or secrets.token_urlsafe(15)
    actor = session.actor
    try:
        user = await users.create_user(ctx, actor.tenant_id, email, role, password, actor=actor)
    except _REFUSED as exc:
        return await _refused(
            request, ctx, session, exc, "create-user", {"email": email, "role": role}
        )
    if typed:
        return _done("user_created")
    return await _page(
        request, ctx, session, done=DONE["user_created"], new_password=(user.email, password)
    )


# What the users table's forms post to (/console/settings/users/<action>).
UserAction = Literal["disable", "enable", "password", "role"]


async def _user_change(
    request: Request, ctx: ContextDep, session: ConsoleSession, action: UserAction
) -> Response:
    form = await form_data(request)
    email = form_text(form, "email")
    actor, tenant_id = session.actor, session.actor.tenant_id
    try:
        if action == "disable":
            await users.disable_user(ctx, tenant_id, email, actor=actor)
            done = "user_disabled"
        elif action == "enable":
            await users.enable_user(ctx, tenant_id, email, actor=actor)
            done = "user_enabled"
        elif action == "password":
            password = form_text(form, "password")
            await users.reset_password(ctx, tenant_id, email, password, actor=actor)
            done = "password_reset"
        else:
            await users.set_role(ctx, tenant_id, email, form_text(form, "role"), actor=actor)
            done = "role_changed"
    except _REFUSED as exc:
        return await _refused(request, ctx, session, exc, f"user-{action}", {"email": email})
    return _done(done)


@router.post("/settings/users/{action}")
async def change_user(
    request: Request, ctx: ContextDep, session: CsrfSessionDep, action: UserAction
) -> Response:
    return await _user_change(request, ctx, session, action)


@router.post("/settings/keys")
async def create_key(request: Request, ctx: ContextDep, session: CsrfSessionDep) -> Response:
    form = await form_data(request)
    name, lifetime = form_text(form, "name"), form_text(form, "expires_in")
    chosen = [value for value in form.getlist("scope") if isinstance(value, str)]
    actor = session.actor
    try:
        if not chosen:
            # The service reads no scopes as ``admin``; a form left blank must not mean that.
            raise InvalidInput.field("scope", "required", "choose at least one scope")
        issued = await tenants.create_key(
            ctx,
            tenant_id=actor.tenant_id,
            name=name or None,
            scopes=chosen,
            expires_in=parse_lifetime(lifetime) if lifetime else None,
            actor=actor,
        )
    except _REFUSED as exc:
        return await _refused(request, ctx, session, exc, "create-key", {"name": name})
    return await _page(request, ctx, session, new_key=issued)


@router.post("/settings/keys/revoke")
async def revoke_key(request: Request, ctx: ContextDep, session: CsrfSessionDep) -> Response:
    form = await form_data(request)
    key_id = form_text(form, "key_id")
    try:
        await tenants.revoke_key(ctx, key_id=key_id, actor=session.actor)
    except _REFUSED as exc:
        return await _refused(request, ctx, session, exc, "revoke-key", {})
    return _done("key_revoked")


@router.post("/settings/processing")
async def save_processing(request: Request, ctx: ContextDep, session: CsrfSessionDep) -> Response:
    form = await form_data(request)
    # A checkbox left unticked is not sent: every setting is in the form, ticked or not.
    changes = {
        name: form_text(form, name) == "on" for name in ProcessingSettings.__dataclass_fields__
    }
    try:
        await processing.update_settings(ctx, session.actor, dict(changes))
    except _REFUSED as exc:
        return await _refused(request, ctx, session, exc, "processing", {})
    return _done("processing_saved")
