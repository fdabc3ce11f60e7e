"""Idempotent writes (draft-ietf-httpapi-idempotency-key-header).

A client sends ``Idempotency-Key`` with a write. The first request with a key claims it
(the (tenant, key) primary key makes the claim atomic, so of 20 concurrent retries exactly one
runs); the others get 409 while it runs. When it succeeds its response is stored and every
later request with the same key and the same payload gets that response again, without a
second side effect; the same key with another payload is a 422. A failed request releases its
key, so a corrected retry may use it. Keys are per tenant and remembered for
``Limits.idempotency_ttl``; a request that never finished (its process died) leaves a claim
that may be taken over after ``Limits.idempotency_lease``.

Stored responses are encrypted (they may hold personal data, or a download link's token),
and the ones that show a document are deleted with it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from uuid import UUID

from kycvault.errors import Conflict, InvalidInput, UnprocessableContent
from kycvault.services.context import Actor, Vault
from kycvault.services.unit_of_work import IdempotencyRecord

_LABEL = "idempotency"
IN_PROGRESS = "in_progress"
COMPLETED = "completed"
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status_code: int
    content_type: str | None
    location: str | None
    body: bytes


def check_key(key: str) -> str:
    if not _KEY.match(key):
        raise InvalidInput.field(
            "Idempotency-Key", "invalid_idempotency_key", "1-255 visible ASCII characters"
        )
    return key


async def begin(vault: Vault, actor: Actor, key: str, fingerprint: str) -> StoredResponse | None:
    """Claim ``key`` for a request with ``fingerprint``.

    Returns None when the request should run, or the stored response to replay.

    Raises:
        Conflict: a request with this key is still running (409).
        UnprocessableContent: the key was used for a different payload (422).
    """
    check_key(key)
    now = vault.clock()
    claim = IdempotencyRecord(
        tenant_id=actor.tenant_id,
        key=key,
        fingerprint=fingerprint,
        state=IN_PROGRESS,
        created_at=now,
        expires_at=now + vault.limits.idempotency_ttl,
    )
    async with vault.store.write() as uow:
        existing = await uow.idempotency.claim(claim)
        if existing is None:
            return None
        abandoned = existing.state == IN_PROGRESS and (
            existing.created_at + vault.limits.idempotency_lease <= now
        )
        if existing.expires_at <= now or abandoned:
            if await uow.idempotency.take_over(existing, claim):
                return None
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
        body=vault.cipher.open_record(_LABEL, body, _aad(actor, key)) if body else b"",
    )


def _aad(actor: Actor, key: str) -> bytes:
    return actor.tenant_id.bytes + key.encode()


def _in_progress() -> Conflict:
    return Conflict(
        "a request with this Idempotency-Key is still being processed; retry later",
        code="idempotency_in_progress",
    )


async def complete(
    vault: Vault,
    actor: Actor,
    key: str,
    fingerprint: str,
    response: StoredResponse,
    *,
    target_id: UUID | None = None,
) -> None:
    now = vault.clock()
    async with vault.store.write() as uow:
        await uow.idempotency.complete(
            IdempotencyRecord(
                tenant_id=actor.tenant_id,
                key=key,
                fingerprint=fingerprint,
                state=COMPLETED,
                created_at=now,
                expires_at=now + vault.limits.idempotency_ttl,
                status_code=response.status_code,
                content_type=response.content_type,
                location=response.location,
                body=vault.cipher.seal_record(_LABEL, response.body, _aad(actor, key)),
                target_id=target_id,
            )
        )


async def release(vault: Vault, actor: Actor, key: str) -> None:
    async with vault.store.write() as uow:
        await uow.idempotency.release(actor.tenant_id, key)
