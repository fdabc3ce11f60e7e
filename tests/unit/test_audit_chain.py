"""The audit chain's arithmetic (domain/audit_chain.py): what a link covers, and the walk that
names the first event that does not follow. The stored side, on both databases, is in
tests/e2e/test_audit_trail.py."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from kycvault.domain.audit_chain import CHAINED_FIELDS, GENESIS, ChainWalk, canonical, link

KEY = bytes(range(32))
CHAIN = uuid.uuid4()


def _event(seq: int, **changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {name: None for name in CHAINED_FIELDS}
    fields.update(
        id=uuid.UUID(int=seq),
        chain_id=CHAIN,
        seq=seq,
        tenant_id=CHAIN,
        at=datetime(2026, 12, 6, 12, 0, seq, 5, tzinfo=UTC),
        actor="kvk_0123456789abcdef",
        action="document.read",
        outcome="success",
        details={"count": seq, "filters": ["subject_id"]},
    )
    fields.update(changes)
    return fields


def _chain(count: int) -> list[tuple[dict[str, Any], bytes, bytes]]:
    out, previous = [], GENESIS
    for seq in range(1, count + 1):
        fields = _event(seq)
        mac = link(KEY, previous, fields)
        out.append((fields, previous, mac))
        previous = mac
    return out


def _walk(events: list[tuple[dict[str, Any], bytes, bytes]], head: tuple[int, bytes]) -> Any:
    walk = ChainWalk(KEY, CHAIN)
    for fields, prev_mac, mac in events:
        broken = walk.check(fields, prev_mac, mac)
        if broken:
            return broken
    return walk.end(*head)


def test_the_same_event_gives_the_same_bytes_however_it_was_built() -> None:
    fields = _event(3)
    reordered = dict(reversed(list(fields.items())))
    reordered["details"] = {"filters": ["subject_id"], "count": 3}
    # The same instant in another zone, as a database driver may hand it back.
    reordered["at"] = fields["at"].astimezone(timezone(timedelta(hours=5)))
    assert canonical(fields) == canonical(reordered)
    assert canonical(fields) != canonical({**fields, "outcome": "refused"})
    assert link(KEY, GENESIS, fields) != link(bytes(32), GENESIS, fields)  # keyed


def test_an_intact_chain_walks_to_its_head() -> None:
    events = _chain(5)
    assert _walk(events, (5, events[-1][2])) is None
    assert _walk([], (0, GENESIS)) is None


def test_each_kind_of_tampering_names_the_first_bad_event() -> None:
    events = _chain(6)
    head = (6, events[-1][2])
    edited = list(events)
    edited[2] = ({**events[2][0], "actor": "kvk_ffffffffffffffff"}, events[2][1], events[2][2])
    assert _walk(edited, head).seq == 3
    deleted = events[:2] + events[3:]
    assert _walk(deleted, head).seq == 4
    swapped = [*events[:2], events[3], events[2], *events[4:]]
    assert _walk(swapped, head).seq == 4
    renumbered = events[:2] + [({**f, "seq": f["seq"] - 1}, p, m) for f, p, m in events[3:]]
    broken = _walk(renumbered, (5, events[-1][2]))
    assert broken.seq == 3 and "previous MAC" in broken.reason
    truncated = events[:4]
    assert "end" in _walk(truncated, head).reason
    unkeyed = list(events)
    forged = {**events[5][0], "action": "document.deleted"}
    unkeyed[5] = (forged, events[5][1], link(bytes(32), events[5][1], forged))
    assert _walk(unkeyed, head).seq == 6
