"""What an API process remembers instead of reading it for every request: the API keys it
authenticated (a request's key was a read transaction of its own, a tenth of a small
upload's CPU) and each tenant's document types (an upload resolves its type against them).

What is remembered is what the database said. Changes reach every process at once: the
process that makes one (a key revoked, a type added) moves the vault's count of that kind
once its transaction has committed (``ports/change_counts.py``), and a value remembered under
an older count is not used. A value is remembered under the count read *before* it was read,
so a change committed meanwhile makes it stale at once, never lost. Values also lapse after
``keep_for`` seconds, so a change whose count was never moved (its process died between the
commit and the move) is seen within that time. Without shared counts (the scaled-out shape,
whose processes are on several hosts) nothing is remembered.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Generic, TypeVar

from kycvault.ports.change_counts import ChangeCounts, Kind

K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class _Entry(Generic[V]):
    value: V
    count: int
    until: float


class Remembered(Generic[K, V]):
    def __init__(
        self,
        kind: Kind,
        changes: ChangeCounts | None,
        *,
        keep_for: float = 5.0,
        most: int = 10_000,
    ) -> None:
        self._kind: Kind = kind
        self._changes = changes
        self._keep_for = keep_for
        # An unbounded number of keys could be presented: past ``most``, start again.
        self._most = most
        self._entries: dict[K, _Entry[V]] = {}

    def get(self, key: K) -> V | None:
        if self._changes is None:
            return None
        found = self._entries.get(key)
        if found is None:
            return None
        if found.count != self._changes.count(self._kind) or time.monotonic() >= found.until:
            self._entries.pop(key, None)
            return None
        return found.value

    def remember(self, key: K, value: V, count: int) -> None:
        """Remember ``value`` as read under ``count`` (``self.count()`` before the read)."""
        if self._changes is None:
            return
        if len(self._entries) >= self._most:
            self._entries.clear()
        self._entries[key] = _Entry(value, count, time.monotonic() + self._keep_for)

    def count(self) -> int:
        return self._changes.count(self._kind) if self._changes is not None else 0

    def changed(self) -> None:
        """A change of this kind committed: every process forgets what it remembered."""
        self._entries.clear()
        if self._changes is not None:
            self._changes.changed(self._kind)
