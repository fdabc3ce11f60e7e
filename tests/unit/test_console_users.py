"""Console users and their login sessions through the services, on real SQLite and
PostgreSQL with a clock the test moves: roles and scopes, the address and password rules,
logins (one answer for an unknown address and a wrong password, throttling, disabled users,
the second factor), the idle and absolute timeouts, logout, CSRF, and the audit trail."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyotp
import pytest
import sqlalchemy as sa

from kycvault.adapters.db.console_tables import console_sessions as sessions_table
from kycvault.adapters.db.console_tables import console_users
from kycvault.bootstrap import Container
from kycvault.config import Settings
from kycvault.domain.scopes import Scope
from kycvault.domain.users import Role, User, check_password, normalise_email
from kycvault.errors import (
    Conflict,
    CsrfFailed,
    InsufficientScope,
    InvalidCredentials,
    InvalidInput,
    PermissionDenied,
    SessionExpired,
    TooManyRequests,
    TotpRequired,
    UserDisabled,
)
from kycvault.services import console_sessions, console_totp, maintenance, tenants, users
from kycvault.services.authorization import require
from kycvault.services.context import AppContext
from tests.backends import Backend
from tests.helpers import audit_events, backend_settings
from tests.unit.clock import Clock

PASSWORD = "correct horse battery"
LIMIT = 3


@pytest.fixture
def settings(backend_pair: Backend, tmp_path: Path) -> Settings:
    return backend_settings(backend_pair, tmp_path, console_login_failure_limit=LIMIT)


@pytest.fixture
async def tenant_id(ctx: AppContext) -> Any:
    return (await tenants.create_tenant(ctx, name="console")).tenant.id


async def _user(ctx: AppContext, tenant_id: Any, email: str, role: Role = Role.VIEWER) -> Any:
    return await users.create_user(ctx, tenant_id, email, role, PASSWORD)


def test_roles_map_onto_the_scopes_of_api_keys() -> None:
    assert Scope.DOCUMENTS_REVIEW.value == "documents:review"
    viewer = users.console_actor(_fake(Role.VIEWER))
    reviewer = users.console_actor(_fake(Role.REVIEWER))
    admin = users.console_actor(_fake(Role.ADMIN))
    assert viewer.allows(Scope.DOCUMENTS_READ) and viewer.allows(Scope.SUBJECTS_READ)
    assert not viewer.allows(Scope.DOCUMENTS_DOWNLOAD)
    assert not viewer.allows(Scope.DOCUMENTS_REVIEW)
    assert reviewer.allows(Scope.DOCUMENTS_DOWNLOAD) and reviewer.allows(Scope.DOCUMENTS_REVIEW)
    assert not reviewer.allows(Scope.DOCUMENTS_DELETE) and not reviewer.allows(Scope.ADMIN)
    assert all(admin.allows(scope) for scope in Scope)
    assert viewer.key_id.startswith("user:") and len(viewer.key_id) <= 40


def _fake(role: Role) -> User:
    now = datetime.now(UTC)
    return User(uuid.uuid4(), uuid.uuid4(), "a@b.example", role, now, now)


def test_addresses_and_passwords_follow_their_rules() -> None:
    assert normalise_email("  Ann.Lee@Example.ORG ") == "ann.lee@example.org"
    for bad in ("", "ann", "ann@", "@example.org", "ann@example", "a b@example.org", "a@b@c.de"):
        with pytest.raises(InvalidInput):
            normalise_email(bad)
    with pytest.raises(InvalidInput, match="at least 12"):
        check_password("short")
    with pytest.raises(InvalidInput, match="at least 12"):
        check_password(" " * 20)
    with pytest.raises(InvalidInput, match="at most 1024"):
        check_password("x" * 1025)
    check_password("x" * 1024)


@pytest.mark.anyio
async def test_a_viewer_cannot_download(ctx: AppContext, tenant_id: Any) -> None:
    await _user(ctx, tenant_id, "viewer@example.org")
    login = await console_sessions.log_in(ctx, "viewer@example.org", PASSWORD, None, "10.0.0.1")
    session = await console_sessions.resume(ctx, login.token, "10.0.0.1")
    assert session.actor.key_id == f"user:{login.user.id.hex}"
    assert session.actor.tenant_id == tenant_id
    await require(ctx, session.actor, Scope.DOCUMENTS_READ)
    with pytest.raises(InsufficientScope):
        await require(ctx, session.actor, Scope.DOCUMENTS_DOWNLOAD)
    refused = await audit_events(ctx, tenant_id, actions=("auth.scope_refused",))
    assert [e.actor for e in refused] == [session.actor.key_id]


@pytest.mark.anyio
async def test_users_are_created_listed_and_unique_across_tenants(
    ctx: AppContext, tenant_id: Any
) -> None:
    made = await _user(ctx, tenant_id, "Ann@Example.org", Role.REVIEWER)
    assert made.email == "ann@example.org" and made.role == Role.REVIEWER
    other = (await tenants.create_tenant(ctx, name="other")).tenant.id
    with pytest.raises(Conflict) as taken:
        await _user(ctx, other, "ANN@example.org")
    assert taken.value.code == "user_exists"
    assert [u.email for u in await users.list_users(ctx, tenant_id)] == ["ann@example.org"]
    assert await users.list_users(ctx, other) == []
    with pytest.raises(InvalidInput):
        await users.create_user(ctx, tenant_id, "bob@example.org", "owner", PASSWORD)
    with pytest.raises(InvalidInput):
        await users.create_user(ctx, tenant_id, "bob@example.org", "viewer", "too short")
    created = await audit_events(ctx, tenant_id, actions=("user.created",))
    assert [(e.actor, e.target_id, e.details) for e in created] == [
        ("cli", made.id, {"role": "reviewer"})
    ]
    assert "ann@example.org" not in repr(created)


@pytest.mark.anyio
async def test_an_unknown_address_and_a_wrong_password_get_one_answer(
    ctx: AppContext, tenant_id: Any
) -> None:
    await _user(ctx, tenant_id, "ann@example.org")
    answers = []
    for email, password in (("ann@example.org", "wrong password!"), ("nobody@x.org", PASSWORD)):
        with pytest.raises(InvalidCredentials) as refused:
            await console_sessions.log_in(ctx, email, password, None, None)
        answers.append((type(refused.value), refused.value.code, refused.value.detail))
    assert answers[0] == answers[1]
    failed = await audit_events(ctx, tenant_id, actions=("console.login_failed",))
    assert [(e.outcome, e.details) for e in failed] == [
        ("refused", {"reason": "invalid_credentials"})
    ]


async def _block(ctx: AppContext, email: str) -> TooManyRequests:
    """Fail logins for ``email`` up to the limit, and once more: the 429 of that one."""
    for _ in range(LIMIT):
        with pytest.raises(InvalidCredentials):
            await console_sessions.log_in(ctx, email, "wrong password!", None, None)
    with pytest.raises(TooManyRequests) as blocked:
        await console_sessions.log_in(ctx, email, "wrong password!", None, None)
    return blocked.value


@pytest.mark.anyio
async def test_failed_logins_are_throttled_per_address_typed(
    ctx: AppContext, clock: Clock, tenant_id: Any
) -> None:
    await _user(ctx, tenant_id, "ann@example.org")
    blocked = await _block(ctx, "ann@example.org")
    assert blocked.code == "too_many_attempts" and blocked.retry_after > 0
    # While blocked, even the right password is refused unchecked (a guess must not pass).
    with pytest.raises(TooManyRequests):
        await console_sessions.log_in(ctx, "Ann@Example.org", PASSWORD, None, None)
    clock.now += ctx.console.login_failure_window + timedelta(seconds=1)
    login = await console_sessions.log_in(ctx, "ann@example.org", PASSWORD, None, None)
    assert login.user.email == "ann@example.org"


@pytest.mark.anyio
async def test_housekeeping_keeps_a_block_for_the_whole_window(
    ctx: AppContext, clock: Clock, tenant_id: Any
) -> None:
    await _user(ctx, tenant_id, "ann@example.org")
    await _block(ctx, "ann@example.org")
    # Past the API's one-minute window, not the console's: the block stands.
    clock.now += ctx.limits.auth_failure_window * 2
    await maintenance.purge_expired(ctx)
    with pytest.raises(TooManyRequests):
        await console_sessions.log_in(ctx, "ann@example.org", PASSWORD, None, None)
    clock.now += ctx.console.login_failure_window
    await maintenance.purge_expired(ctx)
    await console_sessions.log_in(ctx, "ann@example.org", PASSWORD, None, None)


@pytest.mark.anyio
async def test_failed_logins_are_throttled_per_client_address(
    ctx: AppContext, tenant_id: Any
) -> None:
    await _user(ctx, tenant_id, "ann@example.org")
    for n in range(LIMIT):
        with pytest.raises(InvalidCredentials):
            await console_sessions.log_in(ctx, f"guess{n}@example.org", PASSWORD, None, "10.1.2.3")
    with pytest.raises(TooManyRequests):  # the failure past the limit
        await console_sessions.log_in(ctx, "guess@example.org", PASSWORD, None, "10.1.2.3")
    with pytest.raises(TooManyRequests):
        await console_sessions.log_in(ctx, "ann@example.org", PASSWORD, None, "10.1.2.3")
    await console_sessions.log_in(ctx, "ann@example.org", PASSWORD, None, "10.9.9.9")


@pytest.mark.anyio
async def test_disabling_a_user_refuses_logins_and_ends_sessions(
    ctx: AppContext, tenant_id: Any
) -> None:
    await _user(ctx, tenant_id, "ann@example.org")
    login = await console_sessions.log_in(ctx, "ann@example.org", PASSWORD, None, None)
    disabled = await users.disable_user(ctx, tenant_id, "ANN@example.org")
    assert disabled.disabled
    with pytest.raises(SessionExpired):
        await console_sessions.resume(ctx, login.token, None)
    with pytest.raises(UserDisabled):
        await console_sessions.log_in(ctx, "ann@example.org", PASSWORD, None, None)
    # A wrong password is told nothing about the account's state.
    with pytest.raises(InvalidCredentials):
        await console_sessions.log_in(ctx, "ann@example.org", "wrong password!", None, None)
    await users.enable_user(ctx, tenant_id, "ann@example.org")
    await console_sessions.log_in(ctx, "ann@example.org", PASSWORD, None, None)
    events = await audit_events(ctx, tenant_id, actions=("user.disabled",))
    assert events[0].details == {"sessions_ended": 1}


@pytest.mark.anyio
async def test_a_new_password_ends_sessions_and_replaces_the_old(
    ctx: AppContext, tenant_id: Any
) -> None:
    await _user(ctx, tenant_id, "ann@example.org")
    login = await console_sessions.log_in(ctx, "ann@example.org", PASSWORD, None, None)
    await users.reset_password(ctx, tenant_id, "ann@example.org", "a brand new passphrase")
    with pytest.raises(SessionExpired):
        await console_sessions.resume(ctx, login.token, None)
    with pytest.raises(InvalidCredentials):
        await console_sessions.log_in(ctx, "ann@example.org", PASSWORD, None, None)
    await console_sessions.log_in(ctx, "ann@example.org", "a brand new passphrase", None, None)
    changed = await users.set_role(ctx, tenant_id, "ann@example.org", "admin")
    assert changed.role == Role.ADMIN


@pytest.mark.anyio
async def test_totp_enrolled_is_asked_for_and_checked(
    ctx: AppContext, clock: Clock, container: Container, tenant_id: Any
) -> None:
    user = await _user(ctx, tenant_id, "ann@example.org")
    started = await console_totp.begin_totp(ctx, user)
    assert started.provisioning_uri.startswith("otpauth://totp/kycvault:ann%40example.org?")
    # Pending: a login does not ask for it yet.
    await console_sessions.log_in(ctx, "ann@example.org", PASSWORD, None, None)
    totp = pyotp.TOTP(started.secret)
    wrong = _other_code(totp, clock)
    with pytest.raises(InvalidInput):
        await console_totp.confirm_totp(ctx, user, wrong)
    await console_totp.confirm_totp(ctx, user, totp.at(clock.now))
    with pytest.raises(TotpRequired):
        await console_sessions.log_in(ctx, "ann@example.org", PASSWORD, None, None)
    with pytest.raises(InvalidCredentials):
        await console_sessions.log_in(ctx, "ann@example.org", PASSWORD, wrong, None)
    code = totp.at(clock.now)
    login = await console_sessions.log_in(ctx, "ann@example.org", PASSWORD, code, None)
    assert login.user.has_totp

    # The secret is stored sealed: the row does not hold it in clear.
    def row(conn: sa.Connection) -> Any:
        return conn.execute(sa.select(console_users)).mappings().one()

    stored = await container.store.database.run_sync(row)
    assert started.secret.encode() not in bytes(stored["totp_sealed"])
    assert stored["totp_pending_sealed"] is None


@pytest.mark.anyio
async def test_a_tenant_may_require_a_second_factor(
    ctx: AppContext, clock: Clock, tenant_id: Any
) -> None:
    await _user(ctx, tenant_id, "admin@example.org", Role.ADMIN)
    viewer = await _user(ctx, tenant_id, "viewer@example.org")
    login = await console_sessions.log_in(ctx, "admin@example.org", PASSWORD, None, None)
    session = await console_sessions.resume(ctx, login.token, None)
    viewer_session = await console_sessions.resume(
        ctx,
        (await console_sessions.log_in(ctx, "viewer@example.org", PASSWORD, None, None)).token,
        None,
    )
    with pytest.raises(InsufficientScope):
        await console_totp.set_required(ctx, viewer_session.actor, True)
    await console_totp.set_required(ctx, session.actor, True)
    # A user without a second factor cannot log in until one is enrolled.
    with pytest.raises(PermissionDenied) as refused:
        await console_sessions.log_in(ctx, "viewer@example.org", PASSWORD, None, None)
    assert refused.value.code == "totp_enrolment_required"
    started = await console_totp.begin_totp(ctx, viewer)
    totp = pyotp.TOTP(started.secret)
    await console_totp.confirm_totp(ctx, viewer, totp.at(clock.now))
    with pytest.raises(TotpRequired):
        await console_sessions.log_in(ctx, "viewer@example.org", PASSWORD, None, None)
    with pytest.raises(InvalidCredentials):
        await console_sessions.log_in(
            ctx, "viewer@example.org", PASSWORD, _other_code(totp, clock), None
        )
    await console_sessions.log_in(ctx, "viewer@example.org", PASSWORD, totp.at(clock.now), None)


def _other_code(totp: pyotp.TOTP, clock: Clock) -> str:
    """A code that is none of those accepted now (this step's, the one before or after)."""
    accepted = {totp.at(clock.now + timedelta(seconds=s)) for s in (-30, 0, 30)}
    return next(c for c in (f"{n:06d}" for n in range(10)) if c not in accepted)


@pytest.mark.anyio
async def test_idle_and_absolute_timeouts(ctx: AppContext, clock: Clock, tenant_id: Any) -> None:
    await _user(ctx, tenant_id, "ann@example.org")
    settings = ctx.console
    idle = await console_sessions.log_in(ctx, "ann@example.org", PASSWORD, None, None)
    clock.now += settings.idle_timeout - timedelta(seconds=1)
    await console_sessions.resume(ctx, idle.token, None)  # seen: the idle time starts again
    clock.now += settings.idle_timeout - timedelta(seconds=1)
    await console_sessions.resume(ctx, idle.token, None)
    clock.now += settings.idle_timeout + timedelta(seconds=1)
    with pytest.raises(SessionExpired):
        await console_sessions.resume(ctx, idle.token, None)

    old = await console_sessions.log_in(ctx, "ann@example.org", PASSWORD, None, None)
    step = settings.idle_timeout - timedelta(minutes=1)
    started = clock.now
    while clock.now - started + step <= settings.absolute_timeout:
        clock.now += step
        await console_sessions.resume(ctx, old.token, None)
    clock.now = started + settings.absolute_timeout + timedelta(seconds=1)
    with pytest.raises(SessionExpired):
        await console_sessions.resume(ctx, old.token, None)
    expired = await audit_events(ctx, tenant_id, actions=("console.session_expired",))
    assert len(expired) == 2


@pytest.mark.anyio
async def test_last_seen_is_written_at_most_once_a_minute(
    ctx: AppContext, clock: Clock, container: Container, tenant_id: Any
) -> None:
    await _user(ctx, tenant_id, "ann@example.org")
    login = await console_sessions.log_in(ctx, "ann@example.org", PASSWORD, None, None)
    started = clock.now

    def last_seen(conn: sa.Connection) -> Any:
        return conn.execute(sa.select(sessions_table.c.last_seen_at)).scalar_one()

    database = container.store.database
    clock.now += timedelta(seconds=30)
    await console_sessions.resume(ctx, login.token, None)
    assert await database.run_sync(last_seen) == started
    clock.now += timedelta(seconds=31)
    await console_sessions.resume(ctx, login.token, None)
    assert await database.run_sync(last_seen) == clock.now


@pytest.mark.anyio
async def test_logout_ends_the_session_and_csrf_is_checked(ctx: AppContext, tenant_id: Any) -> None:
    await _user(ctx, tenant_id, "ann@example.org")
    login = await console_sessions.log_in(ctx, "ann@example.org", PASSWORD, None, "10.0.0.7")
    session = await console_sessions.resume(ctx, login.token, None)
    assert session.csrf_token == login.csrf_token and login.token not in login.csrf_token
    console_sessions.check_csrf(session, login.csrf_token)
    last = "1" if login.csrf_token.endswith("0") else "0"
    for bad in (None, "", login.csrf_token[:-1] + last, login.token):
        with pytest.raises(CsrfFailed):
            console_sessions.check_csrf(session, bad)
    await console_sessions.log_out(ctx, login.token, client_address="10.0.0.7")
    with pytest.raises(SessionExpired):
        await console_sessions.resume(ctx, login.token, None)
    await console_sessions.log_out(ctx, login.token)  # twice: nothing more happens
    trail = await audit_events(ctx, tenant_id)
    actions = [e.action for e in trail if e.action.startswith("console.")]
    assert actions == ["console.logout", "console.login"]  # newest first
    assert {e.actor for e in trail if e.action.startswith("console.")} == {session.actor.key_id}
    assert trail[0].client_address == "10.0.0.7"
