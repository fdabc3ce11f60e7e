"""The console's second factor: TOTP (RFC 6238, pyotp; 30-second steps, 6 digits, one
step of clock drift accepted either way).

Enrolment takes two steps, so a user is never asked for codes of an app that did not
take the secret: ``begin_totp`` stores a new secret as *pending* and gives its
``otpauth://`` URI (the QR code's content); ``confirm_totp`` checks a code of it and makes it
the user's. Both secrets are stored sealed with the tenant key. A tenant may require a
second factor of every user (setting ``console.totp_required``); a user without one then
cannot log in until enrolled (``kycvault user totp``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import pyotp

from kycvault.domain.scopes import Scope
from kycvault.domain.users import User
from kycvault.errors import InvalidInput, NotFound, PermissionDenied, TotpRequired
from kycvault.ports.persistence.console import UserCredentials
from kycvault.services import audit, tenant_settings
from kycvault.services.authorization import require
from kycvault.services.context import Actor, AppContext
from kycvault.services.tenants import OPERATOR

SETTINGS_KEY = "console"
ISSUER = "kycvault"


@dataclass(frozen=True, slots=True)
class TotpEnrolment:
    """A pending secret (base32) and its ``otpauth://`` URI, for the authenticator app."""

    secret: str
    provisioning_uri: str


def required_by(settings: Mapping[str, Any]) -> bool:
    """Whether a tenant's settings require a second factor of every console user."""
    section = settings.get(SETTINGS_KEY)
    return isinstance(section, Mapping) and section.get("totp_required") is True


def check_enrolled(found: UserCredentials) -> None:
    """Raises:
    PermissionDenied: ``totp_enrolment_required``, the user has no second factor yet."""
    if found.totp_secret is None:
        raise PermissionDenied(
            "this tenant requires a second factor and this user has none yet: an "
            "administrator enrols one with `kycvault user totp`",
            code="totp_enrolment_required",
        )


def code_needed() -> TotpRequired:
    return TotpRequired("enter the 6-digit code of your authenticator app")


def verify(secret: str, code: str, now: datetime) -> bool:
    digits = "".join(code.split())
    if not secret or not digits.isdigit() or len(digits) != 6:
        return False
    return pyotp.TOTP(secret).verify(digits, for_time=now, valid_window=1)


def _acting(user: User, actor: Actor | None) -> Actor:
    if actor is None:
        return Actor(tenant_id=user.tenant_id, key_id=OPERATOR)
    if actor.tenant_id != user.tenant_id:
        raise NotFound("no such user", code="user_not_found")
    return actor


async def _credentials(ctx: AppContext, user: User) -> UserCredentials:
    async with ctx.store.read() as uow:
        found = await uow.console_users.credentials_of(user.tenant_id, user.id)
    if found is None:
        raise NotFound("no such user", code="user_not_found")
    return found


async def begin_totp(ctx: AppContext, user: User, *, actor: Actor | None = None) -> TotpEnrolment:
    """A new pending secret for ``user`` (replacing any pending one; an enrolled secret
    stays in force until a code of the new one confirms it)."""
    acting = _acting(user, actor)
    found = await _credentials(ctx, user)
    secret = pyotp.random_base32()
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)
    async with ctx.store.write() as uow:
        await uow.console_users.set_totp(
            user.tenant_id, user.id, secret=found.totp_secret, pending=secret, at=ctx.clock()
        )
        await audit.record(
            ctx, uow, acting, "user.totp_started", target_type="user", target_id=user.id
        )
    return TotpEnrolment(secret, uri)


async def confirm_totp(
    ctx: AppContext, user: User, code: str, *, actor: Actor | None = None
) -> User:
    """Make the pending secret the user's, given a current code of it.

    Raises:
        InvalidInput: ``totp_not_started`` (no pending secret) or ``invalid_totp``.
    """
    acting = _acting(user, actor)
    found = await _credentials(ctx, user)
    if found.totp_pending is None:
        raise InvalidInput.field("code", "totp_not_started", "start the enrolment first")
    if not verify(found.totp_pending, code, ctx.clock()):
        raise InvalidInput.field("code", "invalid_totp", "the code does not match")
    now = ctx.clock()
    async with ctx.store.write() as uow:
        await uow.console_users.set_totp(
            user.tenant_id, user.id, secret=found.totp_pending, pending=None, at=now
        )
        await audit.record(
            ctx, uow, acting, "user.totp_enrolled", target_type="user", target_id=user.id
        )
    return replace(found.user, has_totp=True, updated_at=now)


async def remove_totp(ctx: AppContext, user: User, *, actor: Actor | None = None) -> User:
    """Remove the user's second factor (a lost phone); a tenant that requires one then
    refuses the user's logins until they enrol again."""
    acting = _acting(user, actor)
    now = ctx.clock()
    async with ctx.store.write() as uow:
        await uow.console_users.set_totp(user.tenant_id, user.id, secret=None, pending=None, at=now)
        await audit.record(
            ctx, uow, acting, "user.totp_removed", target_type="user", target_id=user.id
        )
    return replace(user, has_totp=False, updated_at=now)


async def set_required(ctx: AppContext, actor: Actor, required: bool) -> dict[str, Any]:
    """Require (or stop requiring) a second factor of every console user of the actor's
    tenant (an admin's change, audited as ``settings.updated``)."""
    await require(ctx, actor, Scope.ADMIN)

    def build(current: Mapping[str, Any]) -> dict[str, Any]:
        return {**dict(current.get(SETTINGS_KEY) or {}), "totp_required": required}

    return await tenant_settings.update_section(
        ctx, actor, SETTINGS_KEY, build, ["console.totp_required"]
    )
