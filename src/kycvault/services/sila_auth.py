"""Who is calling, for requests signed the way Sila's clients sign them.

Each request body carries a ``header`` naming the app (``app_handle``, or ``auth_handle``),
usually a user (``user_handle``) and the time it was made (``created``, epoch seconds). The
client signs the exact body bytes (for a multipart upload: its ``data`` field) with
secp256k1 over keccak-256: ``authsignature`` with the app's key, ``usersignature`` with the
user's. The rules:

- the app handle picks the tenant that registered it (``kycvault tenant update``), and
  ``authsignature`` must recover that tenant's app address; an unknown handle, another
  tenant's, a wrong key and an altered body all get the same answer;
- ``header.created`` must lie within ``Limits.signed_request_window`` of now;
- the user handle is the ``external_id`` of one of the tenant's subjects, and
  ``usersignature`` must recover that subject's ``crypto_address``;
- each signed request is accepted once. Only low-s signatures are accepted (the verifier
  refuses the other form), so nobody without the app's key can derive a second acceptable
  signature from a captured one, and the SHA-256 of the app signature's r‖s (the same
  however v, case or ``0x`` are written) names the request. The app signature rather than
  the body: it is what was verified, every signed request has one, and Sila's clients sign
  deterministically (RFC 6979), so one body has one signature. A new request (a new
  ``reference`` or ``created``) is a new body and so a new digest. Uses are kept per tenant
  in ``signature_uses`` until the window of ``created`` has ended; the database's primary
  key refuses a second use from any process. A use is recorded in the transaction of the
  request's change (``spent_with``: a failed upload does not spend it, and of two racing
  copies one commits its documents, the other is refused), and for a read in a transaction
  of its own before it is answered (``spend``). A use recorded already is refused before
  any work, before an upload's file is read.

An API key (``Authorization: Bearer``) may stand in for the signatures, as Sila's access
tokens do: the key names the tenant, and the user handle still names the subject.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from kycvault.domain.models import Document, Subject
from kycvault.errors import AuthenticationFailed, Conflict, InvalidInput, NotFound
from kycvault.ports.persistence.store import UnitOfWork
from kycvault.services import tenants
from kycvault.services.context import Actor, AppContext

ACTOR_PREFIX = "sila:"
_ACTOR_LENGTH = 40  # the width of created_by and the audit log's actor
# A use is kept this long past the end of its window, so that a process whose clock runs a
# little behind the one that purges still finds it while it would accept the request.
_CLOCK_SLACK = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """What a request presents: the signed bytes, the header's claims, the signatures, and
    an API key (key id, secret) if it came with one instead."""

    body: bytes
    app_handle: str | None
    user_handle: str | None
    created: int | None
    auth_signature: str | None = None
    user_signature: str | None = None
    api_key: tuple[str, str] | None = None


@dataclass(frozen=True, slots=True)
class SignatureUse:
    """One accepted signed request: the digest of its app signature, kept until
    ``expires_at``."""

    tenant_id: UUID
    digest: bytes
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class SilaApp:
    """A caller acting as the app; ``use`` is None when an API key stood in."""

    actor: Actor
    use: SignatureUse | None = None


@dataclass(frozen=True, slots=True)
class SilaUser:
    """A caller acting for one of its users; ``use`` as for ``SilaApp``."""

    actor: Actor
    user: Subject
    use: SignatureUse | None = None


def _bad_app_signature() -> AuthenticationFailed:
    return AuthenticationFailed(
        "authsignature does not match the address registered for the app handle",
        code="invalid_app_signature",
    )


def _required(field: str, message: str) -> InvalidInput:
    return InvalidInput.field(field, "required", message)


def _replayed() -> Conflict:
    return Conflict(
        "this signed request has been accepted already: sign a new one (a new header.reference "
        "or header.created)",
        code="request_replayed",
    )


async def authenticate_app(
    ctx: AppContext, request: SignedRequest, *, request_id: str | None = None
) -> SilaApp:
    """The tenant behind a request that needs only the app's signature (or an API key).

    Raises:
        AuthenticationFailed: no credentials, a signature that does not match, or a
            ``created`` outside the replay window.
        InvalidInput: the header lacks what the signature needs.
        Conflict: the signed request has been accepted already (``request_replayed``).
    """
    if request.api_key is not None:
        key_id, secret = request.api_key
        actor = await tenants.authenticate(ctx, key_id=key_id, secret=secret, request_id=request_id)
        return SilaApp(actor)
    if not request.auth_signature:
        raise AuthenticationFailed(
            "send authsignature (and usersignature) headers, or Authorization: Bearer <api key>"
        )
    if not request.app_handle:
        raise _required("header.app_handle", "the app handle the authsignature is for")
    actor, digest, used = await _app(
        ctx, request.body, request.app_handle, request.auth_signature, request_id
    )
    created = _check_fresh(ctx, request.created)
    if used:
        raise _replayed()
    expires_at = created + ctx.limits.signed_request_window + _CLOCK_SLACK
    return SilaApp(actor, SignatureUse(actor.tenant_id, digest, expires_at))


async def authenticate_user(
    ctx: AppContext, request: SignedRequest, *, request_id: str | None = None
) -> SilaUser:
    """The tenant and the subject behind a request made for a user: the app's check, then
    the user handle's subject and (unless an API key stands in) its signature.

    Raises:
        NotFound: no subject of the tenant has the user handle.
        AuthenticationFailed: as ``authenticate_app``, or a user signature that is missing
            or is not the handle's.
    """
    app = await authenticate_app(ctx, request, request_id=request_id)
    user = await _user(ctx, app.actor, request.user_handle)
    if request.api_key is not None:
        return SilaUser(app.actor, user)
    if not request.user_signature:
        raise AuthenticationFailed(
            "this request needs a usersignature header", code="user_signature_required"
        )
    signer = ctx.signatures.signer(request.body, request.user_signature)
    if signer is None or user.crypto_address is None or signer != user.crypto_address:
        raise AuthenticationFailed(
            "usersignature does not match the crypto_address registered for the user handle",
            code="invalid_user_signature",
        )
    return SilaUser(app.actor, user, app.use)


async def spend(ctx: AppContext, use: SignatureUse | None) -> None:
    """Record a signed read's use, in a transaction of its own, before it is answered.

    Raises:
        Conflict: another copy of the request was accepted first (``request_replayed``).
    """
    if use is None:
        return
    async with ctx.store.write() as uow:
        await spend_in(uow, use)


async def spend_in(uow: UnitOfWork, use: SignatureUse | None) -> None:
    """Record a use in the caller's transaction: it commits, or rolls back, with the change."""
    if use is not None and not await uow.signature_uses.add(
        use.tenant_id, use.digest, use.expires_at
    ):
        raise _replayed()


def spent_with(use: SignatureUse | None) -> Callable[[UnitOfWork, Document], Awaitable[None]]:
    """An ``along`` hook for ``documents.create_documents``: the use is recorded in the
    transaction that records the documents, once however many documents it makes."""
    pending = [use]

    async def spend_once(uow: UnitOfWork, _: Document) -> None:
        if pending:
            await spend_in(uow, pending.pop())

    return spend_once


async def _app(
    ctx: AppContext, body: bytes, handle: str, signature: str, request_id: str | None
) -> tuple[Actor, bytes, bool]:
    """The app's actor, the digest of its signature and whether that was used already."""
    canonical = ctx.signatures.canonical(signature)
    digest = hashlib.sha256(canonical).digest() if canonical is not None else b""
    async with ctx.store.read() as uow:
        tenant = await uow.tenants.get_by_sila_app_handle(handle)
        used = False
        if tenant is not None and digest:
            used = await uow.signature_uses.used(tenant.id, digest)
    # Recover even for an unknown handle, so timing does not tell which part was wrong.
    signer = ctx.signatures.signer(body, signature)
    if tenant is None or not digest or signer is None or signer != tenant.sila_app_address:
        raise _bad_app_signature()
    key_id = (ACTOR_PREFIX + handle)[:_ACTOR_LENGTH]
    return Actor(tenant_id=tenant.id, key_id=key_id, request_id=request_id), digest, used


def _check_fresh(ctx: AppContext, created: int | None) -> datetime:
    """When the request was made, if that is within the window of now."""
    if created is None:
        raise _required("header.created", "the epoch second the request was made")
    window = ctx.limits.signed_request_window
    age = ctx.clock().timestamp() - created
    if abs(age) > window.total_seconds():
        raise AuthenticationFailed(
            f"header.created is more than {int(window.total_seconds())} seconds from the "
            "server's time: sign a fresh request",
            code="request_expired",
        )
    return datetime.fromtimestamp(created, UTC)


async def _user(ctx: AppContext, actor: Actor, handle: str | None) -> Subject:
    if not handle:
        raise _required("header.user_handle", "the handle of the user the request is for")
    async with ctx.store.read() as uow:
        user = await uow.subjects.get_by_external_id(actor.tenant_id, handle)
    if user is None:
        raise NotFound("no user has that handle", code="subject_not_found")
    return user
