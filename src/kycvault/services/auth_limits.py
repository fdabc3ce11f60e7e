"""Limits on failed authentication, per client address and per key id.

Every failed authentication (an API key that is missing, malformed, unknown, wrong or
revoked; a Sila signature that does not match) is counted in fixed windows against two
buckets: the client's address (an IPv6 client by its /64, the block one host usually holds)
and the key id the request presented, when it has a key id's shape (the public half of an
API key; other strings name no key, so they count against the address only). Past
``Limits.auth_failure_limit`` failures in one window, failing requests of that address or
key id get 429 with the seconds left, until a window has passed since the failure that
crossed the limit.

What it never does:

- refuse a valid key: the rules run only after authentication has failed, so a blocked
  address or key id is still served when the key is right (no malicious lockout: whoever
  knows a key id can block only failing requests, never its owner; ASVS 6.1.1);
- cost a successful request anything: nothing is read or written when authentication
  passes. A failure costs one read, and one write (two upserts) while not yet blocked; a
  blocked client's failures cost the read only, so a flood does not turn into writes.

The counters are rows in the database (``auth_failures``), so every API process shares them.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import replace

import structlog

from kycvault.errors import TooManyRequests, Unavailable
from kycvault.ports.persistence.store import UnitOfWork
from kycvault.services import audit, metrics, tenants
from kycvault.services.context import AppContext

log = structlog.get_logger("kycvault.auth")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
CODE = "too_many_failed_attempts"


def address_bucket(address: IPAddress) -> str:
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return f"ip:{address.ipv4_mapped}"
        return f"ip:{ipaddress.IPv6Network((address, 64), strict=False)}"
    return f"ip:{address}"


async def _audit_failure(
    ctx: AppContext,
    uow: UnitOfWork,
    address: IPAddress | None,
    key_id: str | None,
    request_id: str | None,
) -> None:
    """The failure in the audit trail, with the counting (so a blocked flood, which is no
    longer counted, is not audited attempt by attempt either). A key id that exists puts it
    in its tenant's trail, where the tenant sees someone trying its key; anything else goes
    to the trail of no tenant. Only a key id's shape is recorded, never what else was sent."""
    known = key_id if key_id is not None and tenants.is_key_id(key_id) else None
    stored = await uow.api_keys.find(known) if known else None
    event = audit.new_event(
        ctx,
        None,
        "auth.failed",
        tenant_id=stored[0].tenant_id if stored else None,
        target_type=None,
        target_id=None,
        outcome="refused",
    )
    await uow.audit.add(
        replace(
            event,
            actor=known,
            request_id=request_id,
            client_address=str(address) if address is not None else None,
        ),
        audit.chain_key(ctx),
    )


def buckets_of(address: IPAddress | None, key_id: str | None) -> list[str]:
    buckets = []
    if address is not None:
        buckets.append(address_bucket(address))
    if key_id is not None and tenants.is_key_id(key_id):
        buckets.append(f"key:{key_id}")
    return buckets


async def record_failure(
    ctx: AppContext,
    *,
    address: IPAddress | None,
    key_id: str | None = None,
    request_id: str | None = None,
) -> None:
    """Count one failed authentication. Returns when the failure should be answered as
    such (401); raises when the address or the key id is over the limit.

    Raises:
        TooManyRequests: the address or key id is blocked, now or by this failure.
    """
    buckets = buckets_of(address, key_id)
    metrics.AUTH_FAILURES.inc()
    if not buckets:
        return
    limits = ctx.limits
    now = ctx.clock()
    try:
        async with ctx.store.read() as uow:
            until = await uow.auth_failures.blocked_until(buckets, now)
        if until is None:
            async with ctx.store.write() as uow:
                until = await uow.auth_failures.count(
                    buckets, now, limits.auth_failure_window, limits.auth_failure_limit
                )
                await _audit_failure(ctx, uow, address, key_id, request_id)
            if until is not None:
                log.warning("authentication_blocked", buckets=buckets, until=until.isoformat())
    except Unavailable:
        # The counters are a defence, not a dependency: the 401 stays the answer.
        log.warning("authentication_failure_not_counted", buckets=buckets)
        return
    log.info("authentication_failed", buckets=buckets, blocked=until is not None)
    if until is not None:
        seconds = max(1, math.ceil((until - now).total_seconds()))
        raise TooManyRequests(
            "too many failed authentication attempts from this address or for this key id; "
            f"retry after {seconds} seconds",
            code=CODE,
            retry_after=seconds,
        )
