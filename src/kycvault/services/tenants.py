"""Tenants and their API keys, and authentication by key.

An API key is ``<key_id>.<secret>``: ``key_id`` (``kvk_`` + 16 hex digits) is public and
indexed; the 256-bit secret is shown once and stored only as HMAC-SHA256 under a server pepper
derived from the master key. The same key is accepted as ``Authorization: Bearer <api_key>``
or as HTTP Basic ``key_id:secret``. Nothing is cached, so a revoked key fails on its very next
request. A key holds scopes (``domain/scopes.py``; a key made without any holds ``admin``)
and may expire: an expired key fails exactly as a revoked or unknown one does.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from kycvault.domain.models import ApiKey, Tenant, clean_text, normalize_address
from kycvault.domain.scopes import Scope, parse_scopes
from kycvault.errors import AuthenticationFailed, Conflict, InvalidInput, NotFound, PermissionDenied
from kycvault.ports.persistence.store import UnitOfWork
from kycvault.services import audit
from kycvault.services.authorization import require
from kycvault.services.context import Actor, AppContext

KEY_PREFIX = "kvk_"
_KEY_ID = re.compile(r"kvk_[0-9a-f]{16}")
_AUTH_FAILED = "missing, invalid or revoked API key"


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A new key; ``api_key`` and ``key_secret`` are never retrievable again."""

    key: ApiKey
    key_secret: str

    @property
    def api_key(self) -> str:
        return f"{self.key.key_id}.{self.key_secret}"


@dataclass(frozen=True, slots=True)
class NewTenant:
    tenant: Tenant
    issued: IssuedKey


def _pepper(ctx: AppContext) -> bytes:
    return ctx.cipher.derive_secret("api-key-pepper")


def _hash_secret(ctx: AppContext, key_id: str, secret: str) -> bytes:
    return hmac.new(_pepper(ctx), f"{key_id}:{secret}".encode(), hashlib.sha256).digest()


def _new_key(
    ctx: AppContext,
    tenant_id: UUID,
    name: str,
    scopes: tuple[str, ...] = (Scope.ADMIN.value,),
    expires_at: datetime | None = None,
) -> tuple[IssuedKey, bytes]:
    key_id = KEY_PREFIX + secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    key = ApiKey(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        key_id=key_id,
        name=name,
        created_at=ctx.clock(),
        scopes=scopes,
        expires_at=expires_at,
    )
    return IssuedKey(key, secret), _hash_secret(ctx, key_id, secret)


# Who acts when the command line manages tenants and keys (the operator at the machine).
OPERATOR = "cli"


async def _acting(ctx: AppContext, tenant_id: UUID, actor: Actor | None) -> None:
    """An admin of ``tenant_id`` (a console user, say) manages its keys; None is the
    operator at the command line.

    Raises:
        NotFound: ``actor`` is another tenant's.
        PermissionDenied: ``actor`` lacks ``admin`` (audited).
    """
    if actor is None:
        return
    if actor.tenant_id != tenant_id:
        raise NotFound("no such tenant", code="tenant_not_found")
    await require(ctx, actor, Scope.ADMIN, target_type="api_key")


async def _audit_key(
    ctx: AppContext, uow: UnitOfWork, key: ApiKey, action: str, actor: Actor | None = None
) -> None:
    """A key made or revoked, in its tenant's trail: the key's id, never its secret."""
    await audit.record(
        ctx,
        uow,
        actor or Actor(tenant_id=key.tenant_id, key_id=OPERATOR),
        action,
        target_type="api_key",
        target_id=key.id,
        key_id=key.key_id,
    )


def _key_name(name: str | None) -> str:
    return clean_text(name, field_name="name", max_length=200) or "default"


async def create_tenant(ctx: AppContext, *, name: str, key_name: str | None = None) -> NewTenant:
    """A tenant with its encryption key and a first API key."""
    clean = clean_text(name, field_name="name", max_length=200)
    if clean is None:
        raise InvalidInput.field("name", "required", "a tenant needs a name")
    now = ctx.clock()
    async with ctx.store.write() as uow:
        if await uow.tenants.get_by_name(clean) is not None:
            raise Conflict(f"a tenant named {clean!r} exists", code="tenant_exists")
        tenant = Tenant(
            id=uuid.uuid4(), number=await uow.tenants.next_number(), name=clean, created_at=now
        )
        await uow.tenants.add(tenant)
        await ctx.keyring.create_for(uow, tenant.id, now)
        issued, secret_hash = _new_key(ctx, tenant.id, _key_name(key_name))
        await uow.api_keys.add(issued.key, secret_hash)
        await _audit_key(ctx, uow, issued.key, "key.created")
    return NewTenant(tenant, issued)


async def find_tenant(ctx: AppContext, ref: str) -> Tenant:
    """A tenant by id, domain number or name (for the CLI)."""
    async with ctx.store.read() as uow:
        tenant = None
        try:
            tenant = await uow.tenants.get(UUID(ref))
        except ValueError:
            if ref.isdigit():
                tenant = await uow.tenants.get_by_number(int(ref))
            if tenant is None:
                tenant = await uow.tenants.get_by_name(ref)
    if tenant is None:
        raise NotFound(f"no tenant {ref!r}", code="tenant_not_found")
    return tenant


async def list_tenants(ctx: AppContext) -> list[Tenant]:
    async with ctx.store.read() as uow:
        return await uow.tenants.list_all()


async def register_sila_app(
    ctx: AppContext, *, tenant_id: UUID, handle: str | None, address: str | None
) -> Tenant:
    """Set (or, with empty values, clear) the app handle and app address the tenant's
    Sila-signed requests carry. The handle names exactly one tenant; the address is the one
    ``authsignature`` must recover."""
    clean_handle = clean_text(handle, field_name="sila_app_handle", max_length=100)
    clean_address = normalize_address(address, field_name="sila_app_address")
    if (clean_handle is None) != (clean_address is None):
        raise InvalidInput.field(
            "sila_app_address", "required", "give the app handle and the app address together"
        )
    taken = Conflict("another tenant has that Sila app handle", code="sila_app_handle_taken")
    try:
        async with ctx.store.write() as uow:
            tenant = await uow.tenants.get(tenant_id)
            if tenant is None:
                raise NotFound("no such tenant", code="tenant_not_found")
            if clean_handle is not None:
                holder = await uow.tenants.get_by_sila_app_handle(clean_handle)
                if holder is not None and holder.id != tenant_id:
                    raise taken
            await uow.tenants.set_sila_app(tenant_id, clean_handle, clean_address)
    except Conflict as exc:
        # Two tenants claiming one handle at once: the unique index stops the second.
        if exc.code == "conflict":
            raise taken from None
        raise
    tenant.sila_app_handle, tenant.sila_app_address = clean_handle, clean_address
    return tenant


async def create_key(
    ctx: AppContext,
    *,
    tenant_id: UUID,
    name: str | None = None,
    scopes: Iterable[str] = (),
    expires_in: timedelta | None = None,
    expires_at: datetime | None = None,
    actor: Actor | None = None,
) -> IssuedKey:
    """A new key of the tenant holding ``scopes`` (none: ``admin``), expiring ``expires_in``
    from now or at ``expires_at`` (neither: never); made by ``actor`` (an admin of the
    tenant) or, None, the operator.

    Raises:
        InvalidInput: an unknown scope, or a lifetime that is not positive.
        NotFound: no such tenant.
        PermissionDenied: ``actor`` is not an admin.
    """
    await _acting(ctx, tenant_id, actor)
    if expires_in is not None:
        if expires_in <= timedelta(0):
            raise InvalidInput.field("expires_in", "invalid_lifetime", "must be positive")
        expires_at = ctx.clock() + expires_in
    chosen = tuple(scope.value for scope in parse_scopes(scopes))
    async with ctx.store.write() as uow:
        if await uow.tenants.get(tenant_id) is None:
            raise NotFound("no such tenant", code="tenant_not_found")
        issued, secret_hash = _new_key(ctx, tenant_id, _key_name(name), chosen, expires_at)
        await uow.api_keys.add(issued.key, secret_hash)
        await _audit_key(ctx, uow, issued.key, "key.created", actor)
    return issued


async def list_keys(
    ctx: AppContext, *, tenant_id: UUID, actor: Actor | None = None
) -> list[ApiKey]:
    """The tenant's API keys (ids, never secrets); an admin's read is audited (``key.listed``)."""
    await _acting(ctx, tenant_id, actor)
    async with ctx.store.read() as uow:
        found = await uow.api_keys.list_for(tenant_id)
    if actor is not None:
        await audit.record_alone(ctx, actor, "key.listed", count=len(found))
    return found


async def revoke_key(ctx: AppContext, *, key_id: str, actor: Actor | None = None) -> ApiKey:
    """Revoke a key; with ``actor``, only a key of the actor's tenant (another's is not found).

    Raises:
        NotFound: ``key_not_found``.
        PermissionDenied: ``actor`` is not an admin.
    """
    if actor is not None:
        await _acting(ctx, actor.tenant_id, actor)
    async with ctx.store.write() as uow:
        if actor is not None:
            found = await uow.api_keys.find(key_id)
            if found is None or found[0].tenant_id != actor.tenant_id:
                raise NotFound(f"no API key {key_id!r}", code="key_not_found")
        key = await uow.api_keys.revoke(key_id, ctx.clock())
        if key is not None:
            await _audit_key(ctx, uow, key, "key.revoked", actor)
    if key is None:
        raise NotFound(f"no API key {key_id!r}", code="key_not_found")
    ctx.keys.changed()  # committed: no process goes on with what it remembered of the key
    return key


def is_key_id(value: str) -> bool:
    """Whether ``value`` has the shape of a key id (``kvk_`` + 16 hex digits)."""
    return _KEY_ID.fullmatch(value) is not None


def split_api_key(api_key: str) -> tuple[str, str]:
    """``<key_id>.<secret>`` → (key_id, secret); malformed keys fail like wrong ones."""
    key_id, dot, secret = api_key.strip().partition(".")
    if not dot or not key_id.startswith(KEY_PREFIX) or not secret:
        raise AuthenticationFailed(_AUTH_FAILED)
    return key_id, secret


async def authenticate(
    ctx: AppContext, *, key_id: str, secret: str, request_id: str | None = None
) -> Actor:
    """The actor behind a key id and secret.

    Raises:
        AuthenticationFailed: unknown key, wrong secret, revoked or expired key (one answer
            for all).
    """
    if len(key_id) > 40 or len(secret) > 200:
        raise AuthenticationFailed(_AUTH_FAILED)
    stored = remembered = ctx.keys.get(key_id)
    if remembered is None:
        count = ctx.keys.count()  # before the read: a revocation after it makes it stale
        async with ctx.store.read() as uow:
            stored = await uow.api_keys.find(key_id)
    presented = _hash_secret(ctx, key_id, secret)
    # Compare even when the key is unknown, so timing does not tell which part was wrong.
    expected = stored[1] if stored else b"\x00" * len(presented)
    matches = hmac.compare_digest(presented, expected)
    if not matches or stored is None or not stored[0].usable_at(ctx.clock()):
        raise AuthenticationFailed(_AUTH_FAILED)
    key = stored[0]
    if remembered is None:
        ctx.keys.remember(key_id, stored, count)
    return Actor(
        tenant_id=key.tenant_id,
        key_id=key_id,
        request_id=request_id,
        scopes=frozenset(key.scopes),
    )


async def check_domain(ctx: AppContext, actor: Actor, domain_id: str | None) -> None:
    """A dialect's tenant header (Cynopsis ``X-Domain-ID``) must name the key's own tenant."""
    async with ctx.store.read() as uow:
        tenant = await uow.tenants.get(actor.tenant_id)
    if tenant is None or domain_id is None or domain_id.strip() != str(tenant.number):
        raise PermissionDenied(
            "the domain id does not belong to this API key", code="domain_mismatch"
        )


async def ensure_first_tenant(ctx: AppContext, *, name: str = "default") -> NewTenant | None:
    """Create a first tenant when there is none yet (a fresh embedded vault)."""
    if await list_tenants(ctx):
        return None
    return await create_tenant(ctx, name=name)
