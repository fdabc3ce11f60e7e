"""Console users: created, listed, disabled, given a new password or role.

Each use case takes the tenant and, optionally, the ``actor``: an admin of that tenant in
the console (``admin`` scope, checked and its refusal audited as every scope is), or, when
None, the operator at the command line (actor ``cli``). Every change is audited in its own
transaction, with the user's id as the target, never the address. Disabling a user or
setting their password ends every login session they have.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from uuid import UUID

from kycvault.domain.scopes import Scope
from kycvault.domain.users import Role, User, check_password, normalise_email, parse_role
from kycvault.errors import Conflict, NotFound
from kycvault.ports.persistence.store import UnitOfWork
from kycvault.services import audit, passwords
from kycvault.services.authorization import require
from kycvault.services.context import Actor, AppContext
from kycvault.services.tenants import OPERATOR

TARGET = "user"


def console_actor(
    user: User, *, client_address: str | None = None, request_id: str | None = None
) -> Actor:
    """The actor of a console user: the user's tenant and the scopes of the user's role.
    ``key_id`` is ``user:`` and the user id's 32 hex digits, which the audit trail records
    (the address never is; and the actor columns hold 40 characters)."""
    return Actor(
        tenant_id=user.tenant_id,
        key_id=f"user:{user.id.hex}",
        request_id=request_id,
        scopes=user.scopes,
        client_address=client_address,
    )


async def _acting(ctx: AppContext, tenant_id: UUID, actor: Actor | None) -> Actor:
    if actor is None:
        return Actor(tenant_id=tenant_id, key_id=OPERATOR)
    if actor.tenant_id != tenant_id:
        raise NotFound("no such tenant", code="tenant_not_found")
    await require(ctx, actor, Scope.ADMIN, target_type=TARGET)
    return actor


def _missing(email: str) -> NotFound:
    return NotFound(f"no console user {email!r} in this tenant", code="user_not_found")


async def create_user(
    ctx: AppContext,
    tenant_id: UUID,
    email: str,
    role: Role | str,
    password: str,
    *,
    actor: Actor | None = None,
) -> User:
    """A new console user of the tenant.

    Raises:
        InvalidInput: the address, role or password breaks its rules.
        NotFound: no such tenant.
        Conflict: ``user_exists``, the address is taken (in any tenant).
    """
    address = normalise_email(email)
    chosen = parse_role(role)
    check_password(password)
    acting = await _acting(ctx, tenant_id, actor)
    password_hash = await passwords.hash_password(ctx.console, password)
    now = ctx.clock()
    user = User(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        email=address,
        role=chosen,
        created_at=now,
        updated_at=now,
    )
    taken = Conflict("a console user with that e-mail address exists", code="user_exists")
    try:
        async with ctx.store.write() as uow:
            if await uow.tenants.get(tenant_id) is None:
                raise NotFound("no such tenant", code="tenant_not_found")
            if await uow.console_users.credentials(address) is not None:
                raise taken
            await uow.console_users.add(user, password_hash)
            await audit.record(
                ctx, uow, acting, "user.created", target_type=TARGET, target_id=user.id,
                role=chosen.value,
            )  # fmt: skip
    except Conflict as exc:
        # Two creations of one address at once: the unique index stops the second.
        if exc.code == "conflict":
            raise taken from None
        raise
    return user


async def list_users(ctx: AppContext, tenant_id: UUID, *, actor: Actor | None = None) -> list[User]:
    """The tenant's console users, oldest first (an admin's read is audited, as
    ``user.listed`` with the count)."""
    acting = await _acting(ctx, tenant_id, actor)
    async with ctx.store.read() as uow:
        if await uow.tenants.get(tenant_id) is None:
            raise NotFound("no such tenant", code="tenant_not_found")
        found = await uow.console_users.list_for(tenant_id)
    if actor is not None:
        await audit.record_alone(ctx, acting, "user.listed", count=len(found))
    return found


async def find_user(
    ctx: AppContext, tenant_id: UUID, email: str, *, actor: Actor | None = None
) -> User:
    """The tenant's user with this address.

    Raises:
        NotFound: ``user_not_found``.
    """
    await _acting(ctx, tenant_id, actor)
    async with ctx.store.read() as uow:
        return await _found(uow, tenant_id, email)


async def _found(uow: UnitOfWork, tenant_id: UUID, email: str) -> User:
    user = await uow.console_users.find(tenant_id, normalise_email(email))
    if user is None:
        raise _missing(email)
    return user


async def disable_user(
    ctx: AppContext, tenant_id: UUID, email: str, *, actor: Actor | None = None
) -> User:
    """Disable a user (kept, for the audit trail's sake) and end their login sessions.
    Disabling a disabled user changes nothing and succeeds.

    Raises:
        NotFound: ``user_not_found``.
    """
    acting = await _acting(ctx, tenant_id, actor)
    now = ctx.clock()
    async with ctx.store.write() as uow:
        user = await _found(uow, tenant_id, email)
        if user.disabled_at is None:
            user = replace(user, disabled_at=now, updated_at=now)
            await uow.console_users.set_disabled(tenant_id, user.id, now, now)
        ended = await uow.console_sessions.end_for_user(tenant_id, user.id, now)
        await audit.record(
            ctx, uow, acting, "user.disabled", target_type=TARGET, target_id=user.id,
            sessions_ended=ended,
        )  # fmt: skip
    return user


async def enable_user(
    ctx: AppContext, tenant_id: UUID, email: str, *, actor: Actor | None = None
) -> User:
    """Let a disabled user log in again.

    Raises:
        NotFound: ``user_not_found``.
    """
    acting = await _acting(ctx, tenant_id, actor)
    now = ctx.clock()
    async with ctx.store.write() as uow:
        user = replace(await _found(uow, tenant_id, email), disabled_at=None, updated_at=now)
        await uow.console_users.set_disabled(tenant_id, user.id, None, now)
        await audit.record(ctx, uow, acting, "user.enabled", target_type=TARGET, target_id=user.id)
    return user


async def reset_password(
    ctx: AppContext, tenant_id: UUID, email: str, password: str, *, actor: Actor | None = None
) -> User:
    """Give a user a new password and end their login sessions.

    Raises:
        InvalidInput: the password breaks the policy.
        NotFound: ``user_not_found``.
    """
    check_password(password)
    acting = await _acting(ctx, tenant_id, actor)
    password_hash = await passwords.hash_password(ctx.console, password)
    now = ctx.clock()
    async with ctx.store.write() as uow:
        user = replace(await _found(uow, tenant_id, email), updated_at=now)
        await uow.console_users.set_password(tenant_id, user.id, password_hash, now)
        ended = await uow.console_sessions.end_for_user(tenant_id, user.id, now)
        await audit.record(
            ctx, uow, acting, "user.password_reset", target_type=TARGET, target_id=user.id,
            sessions_ended=ended,
        )  # fmt: skip
    return user


async def set_role(
    ctx: AppContext,
    tenant_id: UUID,
    email: str,
    role: Role | str,
    *,
    actor: Actor | None = None,
) -> User:
    """Change a user's role; it applies from their next request (a session's scopes are
    read from the user on every request).

    Raises:
        InvalidInput: no such role.
        NotFound: ``user_not_found``.
    """
    chosen = parse_role(role)
    acting = await _acting(ctx, tenant_id, actor)
    now = ctx.clock()
    async with ctx.store.write() as uow:
        user = await _found(uow, tenant_id, email)
        previous = user.role
        user = replace(user, role=chosen, updated_at=now)
        await uow.console_users.set_role(tenant_id, user.id, chosen, now)
        await audit.record(
            ctx, uow, acting, "user.role_changed", target_type=TARGET, target_id=user.id,
            role=chosen.value, previous_role=previous.value,
        )  # fmt: skip
    return user
