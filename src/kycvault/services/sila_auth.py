"""Who is calling, for requests signed the way Sila's clients sign them.

Each request body carries a ``header`` naming the app (``app_handle``, or ``auth_handle``),
usually a user (``user_handle``) and the time it was made (``created``, epoch seconds). The
client signs the exact body bytes (for a multipart upload: its ``data`` field) with
secp256k1 over keccak-256: ``authsignature`` with the app's key, ``usersignature`` with the
user's. The rules:

- the app handle picks the tenant that registered it (``kycvault tenant update``), and
  ``authsignature`` must recover that tenant's app address; an unknown handle, another
  tenant's, a wrong key and an altered body all get the same answer;
- ``header.created`` must lie within ``Limits.signed_request_window`` of now, so a captured
  request can be replayed only that long;
- the user handle is the ``external_id`` of one of the tenant's subjects, and
  ``usersignature`` must recover that subject's ``crypto_address``.

An API key (``Authorization: Bearer``) may stand in for the signatures, as Sila's access
tokens do: the key names the tenant, and the user handle still names the subject.
"""

from __future__ import annotations

from dataclasses import dataclass

from kycvault.domain.models import Subject
from kycvault.errors import AuthenticationFailed, InvalidInput, NotFound
from kycvault.services import tenants
from kycvault.services.context import Actor, Vault

ACTOR_PREFIX = "sila:"
_ACTOR_LENGTH = 40  # the width of created_by and the audit log's actor


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
class SilaUser:
    """A caller acting for one of its users."""

    actor: Actor
    user: Subject


def _bad_app_signature() -> AuthenticationFailed:
    return AuthenticationFailed(
        "authsignature does not match the address registered for the app handle",
        code="invalid_app_signature",
    )


def _required(field: str, message: str) -> InvalidInput:
    return InvalidInput.field(field, "required", message)


async def authenticate_app(
    vault: Vault, request: SignedRequest, *, request_id: str | None = None
) -> Actor:
    """The tenant behind a request that needs only the app's signature (or an API key).

    Raises:
        AuthenticationFailed: no credentials, a signature that does not match, or a
            ``created`` outside the replay window.
        InvalidInput: the header lacks what the signature needs.
    """
    if request.api_key is not None:
        key_id, secret = request.api_key
        return await tenants.authenticate(
            vault, key_id=key_id, secret=secret, request_id=request_id
        )
    if not request.auth_signature:
        raise AuthenticationFailed(
            "send authsignature (and usersignature) headers, or Authorization: Bearer <api key>"
        )
    if not request.app_handle:
        raise _required("header.app_handle", "the app handle the authsignature is for")
    actor = await _app(vault, request.body, request.app_handle, request.auth_signature, request_id)
    _check_fresh(vault, request.created)
    return actor


async def authenticate_user(
    vault: Vault, request: SignedRequest, *, request_id: str | None = None
) -> SilaUser:
    """The tenant and the subject behind a request made for a user: the app's check, then
    the user handle's subject and (unless an API key stands in) its signature.

    Raises:
        NotFound: no subject of the tenant has the user handle.
        AuthenticationFailed: as ``authenticate_app``, or a user signature that is missing
            or is not the handle's.
    """
    actor = await authenticate_app(vault, request, request_id=request_id)
    user = await _user(vault, actor, request.user_handle)
    if request.api_key is not None:
        return SilaUser(actor, user)
    if not request.user_signature:
        raise AuthenticationFailed(
            "this request needs a usersignature header", code="user_signature_required"
        )
    signer = vault.signatures.signer(request.body, request.user_signature)
    if signer is None or user.crypto_address is None or signer != user.crypto_address:
        raise AuthenticationFailed(
            "usersignature does not match the crypto_address registered for the user handle",
            code="invalid_user_signature",
        )
    return SilaUser(actor, user)


async def _app(
    vault: Vault, body: bytes, handle: str, signature: str, request_id: str | None
) -> Actor:
    async with vault.store.read() as uow:
        tenant = await uow.tenants.get_by_sila_app_handle(handle)
    # Recover even for an unknown handle, so timing does not tell which part was wrong.
    signer = vault.signatures.signer(body, signature)
    if tenant is None or signer is None or signer != tenant.sila_app_address:
        raise _bad_app_signature()
    key_id = (ACTOR_PREFIX + handle)[:_ACTOR_LENGTH]
    return Actor(tenant_id=tenant.id, key_id=key_id, request_id=request_id)


def _check_fresh(vault: Vault, created: int | None) -> None:
    if created is None:
        raise _required("header.created", "the epoch second the request was made")
    window = vault.limits.signed_request_window
    age = vault.clock().timestamp() - created
    if abs(age) > window.total_seconds():
        raise AuthenticationFailed(
            f"header.created is more than {int(window.total_seconds())} seconds from the "
            "server's time: sign a fresh request",
            code="request_expired",
        )


async def _user(vault: Vault, actor: Actor, handle: str | None) -> Subject:
    if not handle:
        raise _required("header.user_handle", "the handle of the user the request is for")
    async with vault.store.read() as uow:
        user = await uow.subjects.get_by_external_id(actor.tenant_id, handle)
    if user is None:
        raise NotFound("no user has that handle", code="subject_not_found")
    return user
