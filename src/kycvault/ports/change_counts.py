"""How the processes of a vault learn at once that something they remember changed.

An API process remembers what nearly every request would otherwise read again: the API keys
it authenticated and each tenant's document types (``services/remembered.py``). Whichever
process changes one of them (a key revoked, a type added) moves that kind's count once its
transaction has committed, and every process drops what it remembers of that kind when it
sees the count move, before its next request uses it.
"""

from __future__ import annotations

from typing import Literal, Protocol

Kind = Literal["keys", "document_types"]
KINDS: tuple[Kind, ...] = ("keys", "document_types")


class ChangeCounts(Protocol):
    def count(self, kind: Kind) -> int:
        """The vault's changes of ``kind`` so far (cheap: read for every request)."""
        ...

    def changed(self, kind: Kind) -> None:
        """A change of ``kind`` has committed: move its count (every process sees it)."""
        ...
