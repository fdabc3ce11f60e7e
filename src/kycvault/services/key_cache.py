"""API keys remembered by an API process, so that a request's key is not read from the
database each time (a read transaction of its own, a tenth of a small upload's CPU).

What is remembered is what the database said: the key (tenant, scopes, expiry, revocation)
and its secret's hash; the presented secret is still hashed and compared for every request,
and expiry is checked against the clock. Revocation reaches every process at once: the
revoking process moves the vault's count of key changes after its transaction commits
(``ports/change_counts.py``), and an entry remembered under an older count is not used. An
entry also lapses after ``keep_for`` seconds, so a revocation whose count was never moved
(its process died between the commit and the move) holds within that time. Without a
shared count (the scaled-out shape, whose processes are on several hosts) nothing is
remembered.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from kycvault.domain.models import ApiKey
from kycvault.ports.change_counts import ChangeCounts

# Keys a process remembers at most (an unbounded number of key ids could be presented).
MAX_KEYS = 10_000


@dataclass(frozen=True, slots=True)
class _Remembered:
    key: ApiKey
    secret_hash: bytes
    count: int
    until: float


class KeyCache:
    def __init__(self, changes: ChangeCounts | None, *, keep_for: float = 5.0) -> None:
        self._changes = changes
        self._keep_for = keep_for
        self._keys: dict[str, _Remembered] = {}

    def get(self, key_id: str) -> tuple[ApiKey, bytes] | None:
        if self._changes is None:
            return None
        found = self._keys.get(key_id)
        if found is None:
            return None
        if found.count != self._changes.count("keys") or time.monotonic() >= found.until:
            self._keys.pop(key_id, None)
            return None
        return found.key, found.secret_hash

    def remember(self, key: ApiKey, secret_hash: bytes, count: int) -> None:
        """Remember ``key`` as read under key-change count ``count`` (read *before* the key
        was, so that a change committed meanwhile makes the entry stale, never lost)."""
        if self._changes is None:
            return
        if len(self._keys) >= MAX_KEYS:
            self._keys.clear()
        until = time.monotonic() + self._keep_for
        self._keys[key.key_id] = _Remembered(key, secret_hash, count, until)

    def count(self) -> int:
        return self._changes.count("keys") if self._changes is not None else 0

    def changed(self) -> None:
        """A key changed (committed): every process forgets what it remembered."""
        self._keys.clear()
        if self._changes is not None:
            self._changes.changed("keys")
