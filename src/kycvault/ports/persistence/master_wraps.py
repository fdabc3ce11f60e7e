"""Rows wrapped by a master key: the vault's own keys (``vault_keys``: the root secret) and
the tenant keys, as master-key rotation reads and re-wraps them (``services/vault_keys.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from kycvault.ports.persistence.records import TenantKeyRecord

ROOT_PURPOSE = "root"


@dataclass(frozen=True, slots=True)
class VaultKeyRecord:
    """A secret of the vault itself, wrapped in format 2 by the master key ``master_key_id``;
    ``purpose`` and ``version`` name it (the root secret is ("root", 1))."""

    id: UUID
    purpose: str
    version: int
    wrapped: bytes
    master_key_id: str
    created_at: datetime
    retired_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class WrapCount:
    """How many rows of ``table`` are wrapped by master key ``master_key_id``."""

    table: str
    master_key_id: str
    rows: int


class MasterWrapRepository(Protocol):
    async def vault_keys(self) -> list[VaultKeyRecord]: ...

    async def replace_vault_keys(self, records: list[VaultKeyRecord]) -> None:
        """Every vault key replaced by ``records`` (a vault that holds nothing yet)."""
        ...

    async def counts(self) -> list[WrapCount]: ...

    async def tenant_keys_not_under(self, master_key_id: str, limit: int) -> list[TenantKeyRecord]:
        """Tenant keys wrapped by another master key (or in format 1), oldest first."""
        ...

    async def rewrap_tenant_key(
        self, key_id: UUID, *, was: bytes, wrapped: bytes, master_key_id: str, wrap_format: int
    ) -> bool:
        """Replace the wrap of one tenant key, only if it still is ``was`` (a concurrent
        rotation that got there first wins); whether this call changed it."""
        ...

    async def rewrap_vault_key(
        self, key_id: UUID, *, was: bytes, wrapped: bytes, master_key_id: str
    ) -> bool: ...
