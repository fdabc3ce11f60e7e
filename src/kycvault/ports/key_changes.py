"""How the processes of a vault learn at once that an API key changed (was revoked).

An API process remembers the keys it authenticated (``services/key_cache.py``) instead of
reading each request's key from the database; whichever process revokes a key then moves
the vault's key-change count, and every process drops what it remembers when it sees the
count move, before its next request is authenticated.
"""

from __future__ import annotations

from typing import Protocol


class KeyChanges(Protocol):
    def count(self) -> int:
        """The vault's key changes so far (cheap: read for every request)."""
        ...

    def changed(self) -> None:
        """A key change has committed: move the count (every process sees it)."""
        ...
