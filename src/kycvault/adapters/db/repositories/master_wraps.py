"""Rows wrapped by a master key, as master-key rotation and ``kycvault keys status`` see them:
the vault's own keys and the tenant keys."""

from __future__ import annotations

from uuid import UUID

import sqlalchemy as sa
from sqlalchemy import RowMapping

from kycvault.adapters.db.repositories._base import Repo
from kycvault.adapters.db.repositories.tenants import _tenant_key
from kycvault.adapters.db.tables import tenant_keys
from kycvault.adapters.db.vault_key_tables import vault_keys
from kycvault.ports.cipher import WRAP_V2
from kycvault.ports.persistence.master_wraps import VaultKeyRecord, WrapCount
from kycvault.ports.persistence.records import TenantKeyRecord

V = vault_keys.c
K = tenant_keys.c


def _vault_key(row: RowMapping) -> VaultKeyRecord:
    return VaultKeyRecord(
        id=row["id"],
        purpose=row["purpose"],
        version=row["version"],
        wrapped=row["wrapped"],
        master_key_id=row["master_key_id"],
        created_at=row["created_at"],
        retired_at=row["retired_at"],
    )


class SqlMasterWraps(Repo):
    def vault_keys(self) -> list[VaultKeyRecord]:
        rows = self._conn.execute(vault_keys.select().order_by(V.purpose, V.version))
        return [_vault_key(row) for row in rows.mappings()]

    def replace_vault_keys(self, records: list[VaultKeyRecord]) -> None:
        self._conn.execute(vault_keys.delete())
        for record in records:
            self._conn.execute(
                vault_keys.insert().values(
                    id=record.id,
                    purpose=record.purpose,
                    version=record.version,
                    wrapped=record.wrapped,
                    master_key_id=record.master_key_id,
                    created_at=record.created_at,
                    retired_at=record.retired_at,
                )
            )

    def counts(self) -> list[WrapCount]:
        found = []
        for name, column in (("vault_keys", V.master_key_id), ("tenant_keys", K.master_key_id)):
            query = sa.select(column, sa.func.count()).group_by(column).order_by(column)
            found += [WrapCount(name, str(k), int(n)) for k, n in self._conn.execute(query).all()]
        return found

    def tenant_keys_not_under(self, master_key_id: str, limit: int) -> list[TenantKeyRecord]:
        rows = self._conn.execute(
            tenant_keys.select()
            .where(sa.or_(K.master_key_id != master_key_id, K.wrap_format != WRAP_V2))
            .order_by(K.created_at, K.id)
            .limit(limit)
        )
        return [_tenant_key(row) for row in rows.mappings()]

    def rewrap_tenant_key(
        self, key_id: UUID, *, was: bytes, wrapped: bytes, master_key_id: str, wrap_format: int
    ) -> bool:
        result = self._conn.execute(
            tenant_keys.update()
            .where(K.id == key_id, K.wrapped_key == was)
            .values(wrapped_key=wrapped, master_key_id=master_key_id, wrap_format=wrap_format)
        )
        return result.rowcount == 1

    def rewrap_vault_key(
        self, key_id: UUID, *, was: bytes, wrapped: bytes, master_key_id: str
    ) -> bool:
        result = self._conn.execute(
            vault_keys.update()
            .where(V.id == key_id, V.wrapped == was)
            .values(wrapped=wrapped, master_key_id=master_key_id)
        )
        return result.rowcount == 1
