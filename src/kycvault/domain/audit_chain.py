"""The audit trail's hash chain: each tenant's audit events form one chain, numbered from 1,
each event carrying the MAC of the one before it and its own.

``mac_i = HMAC-SHA256(K, mac_{i-1} ‖ canonical(event_i))`` with ``mac_0`` = 32 zero bytes.
The key ``K`` is derived from the master key (the store never holds it), so someone who can
write to the database but does not hold the master key cannot edit, insert, delete or reorder
an event and recompute the chain after it: ``verify`` finds the first event whose number,
previous MAC or own MAC does not follow. The event's number is inside what is MACed, so a
deletion shows as a gap even if the numbers after it were shifted down.

Events that belong to no tenant (a failed authentication with an unknown key) form their
own chain, ``SYSTEM_CHAIN``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

GENESIS = bytes(32)
SYSTEM_CHAIN = UUID(int=0)

# What each link covers, in this order. A field added later must be appended, and events
# written before it hashed without it (hence the version byte below).
CHAINED_FIELDS = (
    "id",
    "chain_id",
    "seq",
    "tenant_id",
    "at",
    "actor",
    "action",
    "outcome",
    "target_type",
    "target_id",
    "subject_id",
    "document_id",
    "file_id",
    "client_address",
    "request_id",
    "details",
)
_VERSION = b"\x01"


def chain_of(tenant_id: UUID | None) -> UUID:
    return tenant_id if tenant_id is not None else SYSTEM_CHAIN


def _plain(value: Any) -> Any:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    return value


def canonical(fields: Mapping[str, Any]) -> bytes:
    """The bytes a link covers: the chained fields as compact JSON with sorted keys (the
    details' keys too), so the same event gives the same bytes on every backend."""
    plain = {name: _plain(fields.get(name)) for name in CHAINED_FIELDS}
    return _VERSION + json.dumps(
        plain, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str
    ).encode("ascii")


def link(key: bytes, previous: bytes, fields: Mapping[str, Any]) -> bytes:
    return hmac.new(key, previous + canonical(fields), hashlib.sha256).digest()


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """The first event of a chain that does not follow from the ones before it."""

    chain_id: UUID
    seq: int
    event_id: UUID | None
    reason: str


class ChainWalk:
    """Checks one chain's events given in stored order (by number), one at a time."""

    def __init__(self, key: bytes, chain_id: UUID) -> None:
        self.key, self.chain_id = key, chain_id
        self.expected_seq = 1
        self.previous = GENESIS
        self.checked = 0

    def check(
        self, fields: Mapping[str, Any], prev_mac: bytes | None, mac: bytes | None
    ) -> ChainBreak | None:
        seq = int(fields["seq"])
        event_id = fields.get("id")

        def broken(reason: str) -> ChainBreak:
            return ChainBreak(self.chain_id, seq, event_id, reason)

        if seq != self.expected_seq:
            what = "missing" if seq > self.expected_seq else "repeated"
            return broken(
                f"number {seq} where {self.expected_seq} was expected "
                f"(an event {what} or moved before it)"
            )
        if prev_mac is None or mac is None:
            return broken("the event carries no MAC (written outside the chain)")
        if not hmac.compare_digest(prev_mac, self.previous):
            return broken(
                "its previous MAC is not the MAC of the event before it "
                "(an event removed, moved or inserted before it)"
            )
        if not hmac.compare_digest(mac, link(self.key, self.previous, fields)):
            return broken("its MAC does not match its content (edited, or inserted)")
        self.previous, self.expected_seq = mac, seq + 1
        self.checked += 1
        return None

    def end(self, head_seq: int, head_mac: bytes | None) -> ChainBreak | None:
        """After the last stored event: the chain head (the number and MAC written with the
        newest event) must be that event, or events were removed from the end."""
        last = self.expected_seq - 1
        if head_seq != last or (last > 0 and head_mac != self.previous):
            return ChainBreak(
                self.chain_id,
                last + 1,
                None,
                f"the chain's head is at number {head_seq}, its events end at {last} "
                "(events removed from its end)",
            )
        return None
