"""Each tenant's document types (built-in and its own), remembered by an API process: an
upload resolves its type against them, and reading them was a read transaction of its own.

A tenant's custom types are only ever added, and whichever process adds one moves the vault's
count of document-type changes once its transaction has committed (``ports/change_counts.py``):
a catalog remembered under an older count is read again. An entry also lapses after
``keep_for`` seconds, so an addition whose count was never moved (its process died between
the commit and the move) is seen within that time. Without a shared count (the scaled-out
shape) nothing is remembered.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from uuid import UUID

from kycvault.domain.catalog import Catalog
from kycvault.ports.change_counts import ChangeCounts

# Tenants whose catalogs a process remembers at most.
MAX_TENANTS = 1_000


@dataclass(frozen=True, slots=True)
class _Remembered:
    catalog: Catalog
    count: int
    until: float


class CatalogCache:
    def __init__(self, changes: ChangeCounts | None, *, keep_for: float = 5.0) -> None:
        self._changes = changes
        self._keep_for = keep_for
        self._tenants: dict[UUID, _Remembered] = {}

    def get(self, tenant_id: UUID) -> Catalog | None:
        if self._changes is None:
            return None
        found = self._tenants.get(tenant_id)
        if found is None:
            return None
        if found.count != self._changes.count("document_types") or time.monotonic() >= found.until:
            self._tenants.pop(tenant_id, None)
            return None
        return found.catalog

    def remember(self, tenant_id: UUID, catalog: Catalog, count: int) -> None:
        """Remember ``catalog`` as read under count ``count`` (read *before* the catalog was,
        so that an addition committed meanwhile makes the entry stale, never lost)."""
        if self._changes is None:
            return
        if len(self._tenants) >= MAX_TENANTS:
            self._tenants.clear()
        until = time.monotonic() + self._keep_for
        self._tenants[tenant_id] = _Remembered(catalog, count, until)

    def count(self) -> int:
        return self._changes.count("document_types") if self._changes is not None else 0

    def changed(self) -> None:
        """A type was added (committed): every process reads its catalogs again."""
        self._tenants.clear()
        if self._changes is not None:
            self._changes.changed("document_types")
