"""Dependencies: the application's context and the authenticated actor."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable
from dataclasses import replace
from typing import Annotated, TypeVar

from fastapi import Depends, Request

from kycvault.api.client_address import client_address
from kycvault.errors import AuthenticationFailed, UnsupportedMediaType
from kycvault.services import auth_limits, tenants
from kycvault.services.context import Actor, AppContext

_AUTH_FAILED = "missing, invalid or revoked API key"
T = TypeVar("T")


# Dependencies are ``async def`` even when they never await: FastAPI runs a plain ``def``
# dependency in a worker thread, a thread hop per dependency per request.


async def get_context(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx  # set by the application's lifespan (app.py)
    return ctx


def credentials_from(authorization: str | None) -> tuple[str, str]:
    """(key_id, secret) from ``Bearer <key_id>.<secret>`` or ``Basic base64(key_id:secret)``."""
    scheme, _, value = (authorization or "").strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value:
        return tenants.split_api_key(value)
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise AuthenticationFailed(_AUTH_FAILED) from None
        key_id, colon, secret = decoded.partition(":")
        if colon and key_id and secret:
            return key_id, secret
    raise AuthenticationFailed(_AUTH_FAILED)


def presented_key_id(credential: str | None) -> str | None:
    """The key id a credential names (``Bearer``, ``Basic`` or a bare key), unchecked."""
    scheme, _, rest = (credential or "").strip().partition(" ")
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(rest.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[0]
    value = rest if scheme.lower() == "bearer" else credential or ""
    return value.strip().partition(".")[0] or None


async def counting_failures(
    request: Request, ctx: AppContext, attempt: Awaitable[T], *, credential: str | None
) -> T:
    """Await an authentication. If it fails, the failure is counted against the client's
    address and the key id ``credential`` names, and past the limit the answer is 429
    instead of 401 (``services/auth_limits.py``). Every way in authenticates through here."""
    try:
        return await attempt
    except AuthenticationFailed:
        await auth_limits.record_failure(
            ctx,
            address=client_address(request),
            key_id=presented_key_id(credential),
            request_id=getattr(request.state, "request_id", None),
        )
        raise


async def _check_key(request: Request, ctx: AppContext, authorization: str | None) -> Actor:
    key_id, secret = credentials_from(authorization)
    actor = await tenants.authenticate(
        ctx, key_id=key_id, secret=secret, request_id=request.state.request_id
    )
    return with_address(request, actor)


def with_address(request: Request, actor: Actor) -> Actor:
    """The actor as the audit trail records it: with the client's address."""
    address = client_address(request)
    return replace(actor, client_address=str(address) if address is not None else None)


async def authenticate(request: Request, ctx: Annotated[AppContext, Depends(get_context)]) -> Actor:
    authorization = request.headers.get("authorization")
    actor = await counting_failures(
        request, ctx, _check_key(request, ctx, authorization), credential=authorization
    )
    request.state.key_id = actor.key_id
    return actor


async def require_json(request: Request) -> None:
    """A JSON body must say so; runs before FastAPI validates the body."""
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type != "application/json":
        raise UnsupportedMediaType("send application/json", code="unsupported_content_type")


JsonBody = Depends(require_json)
ContextDep = Annotated[AppContext, Depends(get_context)]
ActorDep = Annotated[Actor, Depends(authenticate)]
