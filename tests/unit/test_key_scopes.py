"""Scoped and expiring API keys in the services, on real SQLite and PostgreSQL with a clock
the test moves: the scope and lifetime rules, expiry failing like an unknown key, refusals
audited (also inside an idempotent write, whose own transaction rolls back), replays needing
the original request's scopes, and keys made before scopes keeping full access."""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from alembic import command
from sqlalchemy import Connection

from kycvault.adapters.db import migrate
from kycvault.bootstrap import Container
from kycvault.config import Settings
from kycvault.domain.scopes import MAX_LIFETIME, Scope, grants, parse_lifetime, parse_scopes
from kycvault.errors import AuthenticationFailed, InsufficientScope, InvalidInput
from kycvault.ports.persistence.records import AuditEvent
from kycvault.services import (
    audit,
    authorization,
    document_removal,
    idempotency,
    subjects,
    tenants,
)
from kycvault.services.context import Actor, AppContext
from tests.backends import Backend
from tests.helpers import audit_events, backend_settings
from tests.unit.clock import Clock


@pytest.fixture
def settings(backend_pair: Backend, tmp_path: Path) -> Settings:
    return backend_settings(backend_pair, tmp_path)


def test_admin_grants_every_scope_and_others_only_themselves() -> None:
    for scope in Scope:
        assert grants({Scope.ADMIN}, scope)
        assert grants({scope}, scope)
    assert not grants({Scope.DOCUMENTS_READ}, Scope.DOCUMENTS_DOWNLOAD)
    assert not grants({Scope.DOCUMENTS_WRITE, Scope.SUBJECTS_WRITE}, Scope.DOCUMENTS_DELETE)
    assert not grants(set(Scope) - {Scope.ADMIN, Scope.AUDIT_READ}, Scope.AUDIT_READ)
    assert not grants(set(Scope) - {Scope.ADMIN}, Scope.ADMIN)


def test_scopes_are_checked_and_none_is_admin() -> None:
    assert parse_scopes([]) == (Scope.ADMIN,)
    assert parse_scopes(["subjects:read", "documents:read", "documents:read"]) == (
        Scope.DOCUMENTS_READ,
        Scope.SUBJECTS_READ,
    )
    assert parse_scopes([" documents:read "]) == (Scope.DOCUMENTS_READ,)
    for bad in ("documents", "documents:*", "ADMIN", "", "audit:write"):
        with pytest.raises(InvalidInput) as caught:
            parse_scopes([bad])
        assert caught.value.code == "unknown_scope"
        assert "documents:download" in caught.value.detail  # it lists the scopes there are


@pytest.mark.parametrize(
    ("text", "lifetime"),
    [
        ("90d", timedelta(days=90)),
        ("12h", timedelta(hours=12)),
        ("30m", timedelta(minutes=30)),
        ("1m", timedelta(minutes=1)),
        ("3650d", MAX_LIFETIME),
    ],
)
def test_lifetimes(text: str, lifetime: timedelta) -> None:
    assert parse_lifetime(text) == lifetime


@pytest.mark.parametrize(
    "text", ["", "90", "d", "0d", "-1d", "1.5d", "90 d", "1w", "90D", "P90D", "3651d", "9999999h"]
)
def test_other_lifetimes_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_lifetime(text)
    assert caught.value.code == "invalid_lifetime"
    assert caught.value.errors[0].field == "expires_in"


async def _tenant(ctx: AppContext) -> tenants.NewTenant:
    return await tenants.create_tenant(ctx, name=f"t-{secrets.token_hex(4)}")


async def _sign_in(ctx: AppContext, issued: tenants.IssuedKey) -> Actor:
    return await tenants.authenticate(ctx, key_id=issued.key.key_id, secret=issued.key_secret)


async def _unknown_key_detail(ctx: AppContext) -> str:
    """The detail of the answer to an unknown key."""
    with pytest.raises(AuthenticationFailed) as caught:
        await tenants.authenticate(
            ctx, key_id=f"kvk_{secrets.token_hex(8)}", secret=secrets.token_urlsafe(32)
        )
    assert caught.value.code == "unauthenticated"
    return caught.value.detail


@pytest.mark.anyio
async def test_a_key_expires_and_then_fails_as_an_unknown_key(
    ctx: AppContext, clock: Clock
) -> None:
    new = await _tenant(ctx)
    issued = await tenants.create_key(
        ctx,
        tenant_id=new.tenant.id,
        scopes=["documents:read"],
        expires_in=parse_lifetime("90d"),
    )
    assert issued.key.expires_at == clock.now + timedelta(days=90)
    actor = await _sign_in(ctx, issued)
    assert actor.scopes == {"documents:read"}
    listed = {k.key_id: k for k in await tenants.list_keys(ctx, tenant_id=new.tenant.id)}
    assert listed[issued.key.key_id].scopes == ("documents:read",)
    assert listed[issued.key.key_id].expires_at == issued.key.expires_at

    clock.now += timedelta(days=90) - timedelta(seconds=1)
    await _sign_in(ctx, issued)  # the last second of its life
    clock.now += timedelta(seconds=1)
    with pytest.raises(AuthenticationFailed) as expired:
        await _sign_in(ctx, issued)
    assert expired.value.code == "unauthenticated"
    assert expired.value.detail == await _unknown_key_detail(ctx)
    # the tenant's other key is untouched
    assert (await _sign_in(ctx, new.issued)).scopes == {"admin"}


@pytest.mark.anyio
async def test_a_key_made_with_a_past_expiry_never_works(ctx: AppContext, clock: Clock) -> None:
    new = await _tenant(ctx)
    issued = await tenants.create_key(
        ctx, tenant_id=new.tenant.id, expires_at=clock.now - timedelta(seconds=1)
    )
    with pytest.raises(AuthenticationFailed):
        await _sign_in(ctx, issued)
    with pytest.raises(InvalidInput):
        await tenants.create_key(ctx, tenant_id=new.tenant.id, expires_in=timedelta(0))


async def _refusals(ctx: AppContext, tenant_id: UUID) -> list[AuditEvent]:
    return [e for e in await audit_events(ctx, tenant_id) if e.action == authorization.REFUSED]


@pytest.mark.anyio
async def test_a_refusal_is_a_403_error_and_audited_without_the_secret(ctx: AppContext) -> None:
    new = await _tenant(ctx)
    issued = await tenants.create_key(ctx, tenant_id=new.tenant.id, scopes=["subjects:read"])
    reader = await _sign_in(ctx, issued)
    doc_id = uuid4()
    with pytest.raises(InsufficientScope) as caught:
        await document_removal.delete_document(ctx, reader, doc_id)
    assert caught.value.code == "insufficient_scope"
    assert caught.value.scope == "documents:delete"
    assert "documents:delete" in caught.value.detail
    (event,) = await _refusals(ctx, new.tenant.id)
    assert event.outcome == "refused"
    assert event.actor == issued.key.key_id
    assert (event.target_type, event.target_id) == ("document", doc_id)
    assert event.details == {"scope": "documents:delete"}
    assert issued.key_secret not in repr(event)
    # what it holds it may do
    assert (await subjects.list_subjects(ctx, reader)).items == []


@pytest.mark.anyio
async def test_a_refusal_inside_an_idempotent_write_is_kept_and_the_key_released(
    ctx: AppContext,
) -> None:
    new = await _tenant(ctx)
    issued = await tenants.create_key(ctx, tenant_id=new.tenant.id, scopes=["documents:read"])
    reader = await _sign_in(ctx, issued)
    admin = await _sign_in(ctx, new.issued)

    async def write() -> object:
        # a change first, in the request's transaction, then a use case the key may not use
        await subjects.create_subject(ctx, admin, {"display_name": "rolled back"})
        return await subjects.create_subject(ctx, reader, {})

    with pytest.raises(InsufficientScope):
        await idempotency.run_once(ctx, reader, "k1", "f" * 64, write, lambda _: None)
    (event,) = await _refusals(ctx, new.tenant.id)
    assert event.details == {"scope": "subjects:write"}
    assert (await subjects.list_subjects(ctx, admin)).items == []  # the change rolled back
    # the key was released: the same key runs again
    ran = await idempotency.run_once(ctx, admin, "k1", "f" * 64, _noop, lambda _: None)
    assert ran == "ran"


async def _noop() -> str:
    return "ran"


@pytest.mark.anyio
async def test_a_replay_needs_the_scopes_the_request_was_allowed(ctx: AppContext) -> None:
    new = await _tenant(ctx)
    writer = await _sign_in(
        ctx, await tenants.create_key(ctx, tenant_id=new.tenant.id, scopes=["subjects:write"])
    )
    reader_key = await tenants.create_key(ctx, tenant_id=new.tenant.id, scopes=["subjects:read"])
    reader = await _sign_in(ctx, reader_key)

    async def write() -> str:
        await subjects.create_subject(ctx, writer, {})
        return "created"

    def stored(body: str) -> idempotency.StoredResponse:
        return idempotency.StoredResponse(201, "text/plain", None, body.encode())

    assert await idempotency.run_once(ctx, writer, "k2", "a" * 64, write, stored) == "created"
    replayed = await idempotency.run_once(ctx, writer, "k2", "a" * 64, write, stored)
    assert isinstance(replayed, idempotency.StoredResponse)
    assert replayed.scopes == ("subjects:write",)
    with pytest.raises(InsufficientScope) as caught:
        await idempotency.run_once(ctx, reader, "k2", "a" * 64, write, stored)
    assert caught.value.scope == "subjects:write"
    assert [e.actor for e in await _refusals(ctx, new.tenant.id)] == [reader_key.key.key_id]
    # an admin key holds every scope
    admin = await _sign_in(ctx, new.issued)
    again = await idempotency.run_once(ctx, admin, "k2", "a" * 64, write, stored)
    assert isinstance(again, idempotency.StoredResponse)


async def _downgrade(container: Container, revision: str) -> None:
    def down(connection: Connection) -> None:
        config = migrate.alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, revision)

    await container.store.database.run_sync(down)


@pytest.mark.anyio
async def test_keys_made_before_scopes_keep_full_access(container: Container) -> None:
    ctx = container.ctx
    new = await _tenant(ctx)
    narrow = await tenants.create_key(
        ctx, tenant_id=new.tenant.id, scopes=["documents:read"], expires_in=timedelta(hours=1)
    )
    # Back to the schema before scopes (the columns go), then forward again: the rows are
    # those of keys made before scopes existed.
    await _downgrade(container, "0011")
    await migrate.upgrade(
        container.store.database, attributes={"audit_chain_key": audit.chain_key(ctx)}
    )
    keys = {k.key_id: k for k in await tenants.list_keys(ctx, tenant_id=new.tenant.id)}
    assert keys[narrow.key.key_id].scopes == ("admin",)
    assert keys[narrow.key.key_id].expires_at is None
    for issued in (new.issued, narrow):
        actor = await _sign_in(ctx, issued)
        assert actor.scopes == {"admin"}
        assert all(actor.allows(scope) for scope in Scope)
        await subjects.create_subject(ctx, actor, {})
