"""Idempotent writes (draft-ietf-httpapi-idempotency-key-header).

A client sends ``Idempotency-Key`` with a write. The first request with a key claims it
(the (tenant, key) primary key makes the claim atomic, so of 20 concurrent retries exactly one
runs); the others get 409 while it runs. Its change and its response are stored in **one
transaction** (``Store.atomic``): either both are committed or neither, so a request that dies
after its change committed has left its response for the retry to replay, and one that died
before left nothing changed. Every later request with the same key and the same payload gets
the stored response again, without a second side effect; the same key with another payload is
a 422. A failed request releases its key, so a corrected retry may use it.

While it runs, a request renews its claim's lease (every third of
``Limits.idempotency_lease``); a claim whose lease lapsed belongs to a request that died,
and a retry may take the key over. The claim's identity (its ``created_at``) fences the
completion: a request whose claim was taken over cannot complete it, and its change rolls
back. When the commit's outcome is unknown (``CommitUncertain``) the claim is kept: the retry
then finds the stored response, or, once the lease lapses, runs the request again because
nothing was stored.

Keys are per tenant and remembered for ``Limits.idempotency_ttl``. Stored responses are
encrypted (they may hold personal data, or a download link's token), and the ones that show a
document are deleted with it. A stored response keeps the scopes its request was allowed
(``authorization.one_write``), and is replayed only to a key that holds them too.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar
from uuid import UUID

import structlog

from kycvault import crashpoints
from kycvault.domain.scopes import Scope
from kycvault.errors import CommitUncertain, Conflict, InvalidInput, UnprocessableContent
from kycvault.ports.persistence.records import IdempotencyRecord
from kycvault.services import authorization
from kycvault.services.context import Actor, AppContext

log = structlog.get_logger("kycvault.idempotency")

_LABEL = "idempotency"
IN_PROGRESS = "in_progress"
COMPLETED = "completed"
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status_code: int
    content_type: str | None
    location: str | None
    body: bytes
    # What the request created or changed (its stored response goes when that is deleted).
    target_id: UUID | None = None
    # The scopes the request was allowed; replaying it needs them too.
    scopes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Claim:
    """A key held by the running request; ``claimed_at`` is the claim's identity."""

    tenant_id: UUID
    key: str
    fingerprint: str
    claimed_at: datetime


def check_key(key: str) -> str:
    if not _KEY.match(key):
        raise InvalidInput.field(
            "Idempotency-Key", "invalid_idempotency_key", "1-255 visible ASCII characters"
        )
    return key


def _lapsed(record: IdempotencyRecord, ctx: AppContext, now: datetime) -> bool:
    lease_until = record.lease_until or record.created_at + ctx.limits.idempotency_lease
    return record.state == IN_PROGRESS and lease_until <= now


async def begin(
    ctx: AppContext, actor: Actor, key: str, fingerprint: str
) -> Claim | StoredResponse:
    """Claim ``key`` for a request with ``fingerprint``: the claim when the request should
    run, or the stored response to replay.

    Raises:
        Conflict: a request with this key is still running (409).
        UnprocessableContent: the key was used for a different payload (422).
    """
    check_key(key)
    now = ctx.clock()
    claim = IdempotencyRecord(
        tenant_id=actor.tenant_id,
        key=key,
        fingerprint=fingerprint,
        state=IN_PROGRESS,
        created_at=now,
        expires_at=now + ctx.limits.idempotency_ttl,
        lease_until=now + ctx.limits.idempotency_lease,
    )
    held = Claim(actor.tenant_id, key, fingerprint, now)
    async with ctx.store.write() as uow:
        existing = await uow.idempotency.claim(claim)
        if existing is None:
            return held
        if existing.expires_at <= now or _lapsed(existing, ctx, now):
            if await uow.idempotency.take_over(existing, claim):
                return held
            raise _in_progress()
        if existing.fingerprint != fingerprint:
            raise UnprocessableContent(
                "this Idempotency-Key was used for a different request",
                code="idempotency_key_reused",
            )
        if existing.state == IN_PROGRESS:
            raise _in_progress()
    body = existing.body
    return StoredResponse(
        status_code=existing.status_code or 200,
        content_type=existing.content_type,
        location=existing.location,
        body=ctx.cipher.open_record(_LABEL, body, _aad(actor.tenant_id, key)) if body else b"",
        target_id=existing.target_id,
        # Stored before keys had scopes: by a key that held them all.
        scopes=existing.scopes if existing.scopes is not None else (Scope.ADMIN.value,),
    )


def _aad(tenant_id: UUID, key: str) -> bytes:
    return tenant_id.bytes + key.encode()


def _in_progress() -> Conflict:
    return Conflict(
        "a request with this Idempotency-Key is still being processed; retry later",
        code="idempotency_in_progress",
    )


def _lost() -> Conflict:
    return Conflict(
        "this request's Idempotency-Key claim lapsed and another request took it over; "
        "nothing was changed",
        code="idempotency_in_progress",
    )


async def _renew_until_cancelled(ctx: AppContext, claim: Claim) -> None:
    every = ctx.limits.idempotency_lease.total_seconds() / 3
    while True:
        await asyncio.sleep(every)
        try:
            async with ctx.store.write() as uow:
                held = await uow.idempotency.renew(
                    claim.tenant_id,
                    claim.key,
                    claim.claimed_at,
                    ctx.clock() + ctx.limits.idempotency_lease,
                )
        except Exception as exc:  # the database is away; the completion's fence still holds
            log.warning("idempotency_renew_failed", error=type(exc).__name__)
            continue
        if not held:
            return


async def _complete(
    ctx: AppContext, claim: Claim, response: StoredResponse, scopes: set[str]
) -> None:
    now = ctx.clock()
    record = IdempotencyRecord(
        tenant_id=claim.tenant_id,
        key=claim.key,
        fingerprint=claim.fingerprint,
        state=COMPLETED,
        created_at=claim.claimed_at,
        expires_at=now + ctx.limits.idempotency_ttl,
        status_code=response.status_code,
        content_type=response.content_type,
        location=response.location,
        body=ctx.cipher.seal_record(_LABEL, response.body, _aad(claim.tenant_id, claim.key)),
        target_id=response.target_id,
        scopes=tuple(sorted(scopes)),
    )
    async with ctx.store.write() as uow:
        if not await uow.idempotency.complete(record, claim.claimed_at):
            raise _lost()


async def _release(ctx: AppContext, claim: Claim) -> None:
    async with ctx.store.write() as uow:
        await uow.idempotency.release(claim.tenant_id, claim.key, claim.claimed_at)


async def run_once(
    ctx: AppContext,
    actor: Actor,
    key: str,
    fingerprint: str,
    run: Callable[[], Awaitable[R]],
    stored: Callable[[R], StoredResponse | None],
) -> R | StoredResponse:
    """Run a write once per key: ``run``'s result, or the stored response of an earlier run.

    ``stored`` turns the result into the response to keep (None for a result that must not
    be replayed, such as an error answer: the key is then released). The change ``run``
    makes and the stored response commit together. A stored response is replayed only to a
    caller holding the scopes its request was allowed.
    """
    begun = await begin(ctx, actor, key, fingerprint)
    if isinstance(begun, StoredResponse):
        await authorization.require_all(ctx, actor, begun.scopes, target_id=begun.target_id)
        return begun
    claim = begun
    crashpoints.reached("idempotency.claimed")
    # A context of its own: the renewals are separate transactions, never the request's.
    renewing = asyncio.get_running_loop().create_task(
        _renew_until_cancelled(ctx, claim), context=contextvars.Context()
    )
    try:
        async with authorization.one_write(ctx) as allowed, ctx.store.atomic():
            result = await run()
            response = stored(result)
            if response is None:
                await _release(ctx, claim)
            else:
                await _complete(ctx, claim, response, allowed)
    except CommitUncertain:
        raise  # the claim stays: the change may be stored with its response
    except BaseException:
        with contextlib.suppress(Exception):
            await asyncio.shield(_release(ctx, claim))
        raise
    finally:
        renewing.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await renewing
    return result
