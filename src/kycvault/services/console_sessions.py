"""Console login sessions: log in, resume a session from its cookie, log out, CSRF.

- **Tokens.** A login makes a 256-bit random token, the cookie's value; only its SHA-256 is
  stored, so a copy of the database opens no session. The session's CSRF token is an HMAC
  of the token under a key derived from the master key: nothing more to store, and a page
  can show it without the cookie's value ever appearing in HTML.
- **One answer.** An unknown address and a wrong password fail alike
  (``invalid_credentials``) and take as long: an unknown address is checked against a dummy
  Argon2id hash (``passwords.verify_password``).
- **Throttling.** Failed logins are counted (the ``auth_failures`` counters the API's keys
  use, in buckets of their own) per e-mail address and per client address; past
  ``ConsoleSettings.login_failure_limit`` in a window, logins of that address are refused
  with 429 ``too_many_attempts`` *before* the password is checked, until the window has
  passed: unlike an API key's secret, a password can be guessed, so a right guess must not
  get through while the address is blocked.
- **Second factor.** A TOTP code is asked for when the user has enrolled one
  (``console_totp.py``) or the tenant's setting requires one: ``totp_required`` when the
  code is missing, ``invalid_credentials`` when it is wrong (counted as a failure).
- **Timeouts.** A session ends after ``idle_timeout`` without a request and
  ``absolute_timeout`` after the login; ``last_seen_at`` is written at most once per
  ``touch_interval``, not on every page view.

Every login, failed login, logout and timeout is audited, with the user as the actor
(``user:<id>``) where the user is known; the address typed is never recorded.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import ipaddress
import math
import secrets
import uuid
from dataclasses import dataclass, replace
from typing import NoReturn
from uuid import UUID

import structlog

from kycvault.domain.users import PASSWORD_MAX, User, normalise_email
from kycvault.errors import (
    CsrfFailed,
    InvalidCredentials,
    InvalidInput,
    KycVaultError,
    SessionExpired,
    TooManyRequests,
    UserDisabled,
)
from kycvault.ports.persistence.console import ConsoleSessionRecord, UserCredentials
from kycvault.services import audit, console_totp, passwords
from kycvault.services.auth_limits import address_bucket
from kycvault.services.context import Actor, AppContext
from kycvault.services.users import console_actor

log = structlog.get_logger("kycvault.console")

TOO_MANY = "too_many_attempts"
_CSRF_LABEL = "console-csrf/v1"
_WRONG = "wrong e-mail address, password or code"
# Longer than any token this module makes (43 characters); anything longer names no session.
_MAX_TOKEN = 100


@dataclass(frozen=True, slots=True)
class ConsoleLogin:
    """A new session: ``token`` goes in the cookie, ``csrf_token`` in every form."""

    token: str
    csrf_token: str
    user: User
    session_id: UUID


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    """A resumed session: the user, as the ``actor`` every use case takes (the scopes of
    the user's role), and the CSRF token its forms carry."""

    actor: Actor
    user: User
    csrf_token: str
    session_id: UUID


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def csrf_token_of(ctx: AppContext, token: str) -> str:
    key = ctx.cipher.derive_secret(_CSRF_LABEL)
    return hmac.new(key, token.encode(), hashlib.sha256).hexdigest()


def check_csrf(session: ConsoleSession, submitted: str | None) -> None:
    """Raises:
    CsrfFailed: ``submitted`` is missing or is not the session's CSRF token."""
    given = (submitted or "").encode()
    if not hmac.compare_digest(given, session.csrf_token.encode()):
        raise CsrfFailed("the form's CSRF token is missing or wrong; reload the page")


def _buckets(email: str, client_address: str | None) -> list[str]:
    """The counters a failed login counts against: the address typed (hashed: the
    counters' table is not the place for it) and the client's address."""
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:40]
    buckets = [f"console-email:{digest}"]
    if client_address:
        # An address that is no IP address (a test client's name) counts as none.
        with contextlib.suppress(ValueError):
            buckets.append("console-" + address_bucket(ipaddress.ip_address(client_address)))
    return buckets


def _too_many(seconds: int) -> TooManyRequests:
    return TooManyRequests(
        f"too many failed logins for this address; retry after {seconds} seconds",
        code=TOO_MANY,
        retry_after=seconds,
    )


async def _refuse_if_blocked(ctx: AppContext, buckets: list[str]) -> None:
    now = ctx.clock()
    async with ctx.store.read() as uow:
        until = await uow.auth_failures.blocked_until(buckets, now)
    if until is not None:
        raise _too_many(max(1, math.ceil((until - now).total_seconds())))


async def _failed(
    ctx: AppContext,
    buckets: list[str],
    found: UserCredentials | None,
    error: KycVaultError,
    *,
    client_address: str | None,
    request_id: str | None,
) -> NoReturn:
    """Count and audit a failed login, in one transaction; raise ``error``, or 429 when this
    failure crossed the limit."""
    now = ctx.clock()
    settings = ctx.console
    actor = console_actor(found.user) if found is not None else None
    event = audit.new_event(
        ctx,
        actor,
        "console.login_failed",
        target_type="user" if found is not None else None,
        target_id=found.user.id if found is not None else None,
        outcome="refused",
        details={"reason": error.code},
    )
    event = replace(event, request_id=request_id, client_address=client_address)
    async with ctx.store.write() as uow:
        until = await uow.auth_failures.count(
            buckets, now, settings.login_failure_window, settings.login_failure_limit
        )
        await uow.audit.add(event, audit.chain_key(ctx))
    log.info("console_login_failed", reason=error.code, blocked=until is not None)
    if until is not None:
        raise _too_many(max(1, math.ceil((until - now).total_seconds())))
    raise error


async def log_in(
    ctx: AppContext,
    email: str,
    password: str,
    totp_code: str | None,
    client_address: str | None,
    *,
    request_id: str | None = None,
) -> ConsoleLogin:
    """A new session for the user with this address and password (and code).

    Raises:
        TooManyRequests: ``too_many_attempts``, this address or client is blocked.
        InvalidCredentials: unknown address, wrong password, wrong code.
        TotpRequired: right password, and a code is needed.
        PermissionDenied: ``user_disabled``; ``totp_enrolment_required`` (the tenant
            requires a second factor and the user has none yet).
    """
    try:
        address: str | None = normalise_email(email)
    except InvalidInput:
        address = None
    buckets = _buckets(address or email, client_address)
    await _refuse_if_blocked(ctx, buckets)
    acceptable = address is not None and 0 < len(password) <= PASSWORD_MAX
    found: UserCredentials | None = None
    required = False
    if acceptable and address is not None:
        async with ctx.store.read() as uow:
            found = await uow.console_users.credentials(address)
            if found is not None:
                tenant = await uow.tenants.get(found.user.tenant_id)
                required = console_totp.required_by(tenant.settings if tenant else {})
    # Verified whatever happened above (a dummy hash without a user), so it takes as long.
    matches = await passwords.verify_password(
        ctx.console, found.password_hash if found else None, password[:PASSWORD_MAX]
    )
    fail = {"client_address": client_address, "request_id": request_id}
    if found is None or not matches or not acceptable:
        await _failed(ctx, buckets, found, InvalidCredentials(_WRONG), **fail)
    user = found.user
    if user.disabled:
        await _failed(ctx, buckets, found, UserDisabled("this console user is disabled"), **fail)
    if found.totp_secret is not None or required:
        console_totp.check_enrolled(found)
        if not (totp_code or "").strip():
            raise console_totp.code_needed()
        if not console_totp.verify(found.totp_secret or "", totp_code or "", ctx.clock()):
            await _failed(ctx, buckets, found, InvalidCredentials(_WRONG), **fail)
    return await _open_session(ctx, found, password, client_address, request_id)


async def _open_session(
    ctx: AppContext,
    found: UserCredentials,
    password: str,
    client_address: str | None,
    request_id: str | None,
) -> ConsoleLogin:
    user = found.user
    now = ctx.clock()
    token = secrets.token_urlsafe(32)
    record = ConsoleSessionRecord(
        id=uuid.uuid4(),
        tenant_id=user.tenant_id,
        user_id=user.id,
        token_hash=token_hash(token),
        created_at=now,
        last_seen_at=now,
    )
    # A hash made with older parameters is replaced while the password is at hand.
    rehashed = None
    if passwords.needs_rehash(ctx.console, found.password_hash):
        rehashed = await passwords.hash_password(ctx.console, password)
    actor = console_actor(user, client_address=client_address, request_id=request_id)
    async with ctx.store.write() as uow:
        await uow.console_sessions.add(record)
        if rehashed is not None:
            await uow.console_users.set_password(user.tenant_id, user.id, rehashed, now)
        await audit.record(
            ctx, uow, actor, "console.login", target_type="user", target_id=user.id,
            second_factor=found.totp_secret is not None,
        )  # fmt: skip
    return ConsoleLogin(token, csrf_token_of(ctx, token), user, record.id)


async def _end(ctx: AppContext, record: ConsoleSessionRecord, actor: Actor, action: str) -> None:
    async with ctx.store.write() as uow:
        if await uow.console_sessions.end(record.id, ctx.clock()):
            await audit.record(
                ctx, uow, actor, action, target_type="user", target_id=record.user_id
            )


async def resume(
    ctx: AppContext, token: str, client_address: str | None, *, request_id: str | None = None
) -> ConsoleSession:
    """The session of a cookie's token, its user read afresh (a new role applies at once).

    Raises:
        SessionExpired: no such session, it ended, timed out, or its user was disabled.
    """
    expired = SessionExpired("the login session has ended; log in again")
    if not token or len(token) > _MAX_TOKEN:
        raise expired
    async with ctx.store.read() as uow:
        record = await uow.console_sessions.find(token_hash(token))
        user = await uow.console_users.get(record.tenant_id, record.user_id) if record else None
    if record is None or record.ended_at is not None or user is None:
        raise expired
    actor = console_actor(user, client_address=client_address, request_id=request_id)
    now = ctx.clock()
    settings = ctx.console
    if user.disabled:
        await _end(ctx, record, actor, "console.session_ended")
        raise expired
    if (
        now - record.last_seen_at > settings.idle_timeout
        or now - record.created_at > settings.absolute_timeout
    ):
        await _end(ctx, record, actor, "console.session_expired")
        raise expired
    if now - record.last_seen_at >= settings.touch_interval:
        async with ctx.store.write() as uow:
            await uow.console_sessions.touch(record.id, now)
    return ConsoleSession(actor, user, csrf_token_of(ctx, token), record.id)


async def log_out(
    ctx: AppContext,
    token: str,
    *,
    client_address: str | None = None,
    request_id: str | None = None,
) -> None:
    """End the session of ``token``; a token that names no open session is ignored."""
    if not token or len(token) > _MAX_TOKEN:
        return
    async with ctx.store.read() as uow:
        record = await uow.console_sessions.find(token_hash(token))
        user = await uow.console_users.get(record.tenant_id, record.user_id) if record else None
    if record is None or user is None or record.ended_at is not None:
        return
    actor = console_actor(user, client_address=client_address, request_id=request_id)
    await _end(ctx, record, actor, "console.logout")
