"""Tenants, their encryption keys and their API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy import RowMapping

from kycvault.adapters.db.prepared import Prepared
from kycvault.adapters.db.repositories._base import Repo, deferrable
from kycvault.adapters.db.tables import api_keys, tenant_keys, tenants
from kycvault.domain.models import ApiKey, Tenant
from kycvault.ports.persistence.records import TenantKeyRecord

_FIND_KEY = api_keys.select().where(api_keys.c.key_id == sa.bindparam("key_id"))


def _tenant(row: RowMapping) -> Tenant:
    return Tenant(
        id=row["id"],
        number=row["number"],
        name=row["name"],
        created_at=row["created_at"],
        settings=dict(row["settings"] or {}),
        sila_app_handle=row["sila_app_handle"],
        sila_app_address=row["sila_app_address"],
    )


def _tenant_key(row: RowMapping) -> TenantKeyRecord:
    return TenantKeyRecord(
        id=row["id"],
        tenant_id=row["tenant_id"],
        wrapped_key=row["wrapped_key"],
        master_key_id=row["master_key_id"],
        created_at=row["created_at"],
        wrap_format=row["wrap_format"],
    )


# Every new subject draws its number, every document its number with the tenant's settings
# (which stages read it), in one statement each: on the driver's cursor (prepared.py).
_ALLOCATE_SUBJECT = Prepared(
    tenants.update()
    .where(tenants.c.id == sa.bindparam("tenant_id", type_=sa.Uuid()))
    .values(subject_seq=tenants.c.subject_seq + 1)
    .returning(tenants.c.subject_seq)
)
_NUMBER_DOCUMENT = Prepared(
    tenants.update()
    .where(tenants.c.id == sa.bindparam("tenant_id", type_=sa.Uuid()))
    .values(document_seq=tenants.c.document_seq + 1)
    .returning(tenants.c.document_seq, tenants.c.settings)
)


class SqlTenants(Repo):
    @deferrable
    def add(self, tenant: Tenant) -> None:
        self._conn.execute(
            tenants.insert().values(
                id=tenant.id,
                number=tenant.number,
                name=tenant.name,
                settings=tenant.settings,
                created_at=tenant.created_at,
                sila_app_handle=tenant.sila_app_handle,
                sila_app_address=tenant.sila_app_address,
            )
        )

    def get(self, tenant_id: UUID) -> Tenant | None:
        row = self._one(tenants.select().where(tenants.c.id == tenant_id))
        return _tenant(row) if row else None

    def get_by_name(self, name: str) -> Tenant | None:
        row = self._one(tenants.select().where(tenants.c.name == name))
        return _tenant(row) if row else None

    def get_by_number(self, number: int) -> Tenant | None:
        row = self._one(tenants.select().where(tenants.c.number == number))
        return _tenant(row) if row else None

    def get_by_sila_app_handle(self, handle: str) -> Tenant | None:
        row = self._one(tenants.select().where(tenants.c.sila_app_handle == handle))
        return _tenant(row) if row else None

    @deferrable
    def set_sila_app(self, tenant_id: UUID, handle: str | None, address: str | None) -> None:
        self._conn.execute(
            tenants.update()
            .where(tenants.c.id == tenant_id)
            .values(sila_app_handle=handle, sila_app_address=address)
        )

    @deferrable
    def set_settings(self, tenant_id: UUID, settings: dict[str, Any]) -> None:
        self._conn.execute(
            tenants.update().where(tenants.c.id == tenant_id).values(settings=settings)
        )

    def list_all(self) -> list[Tenant]:
        return [_tenant(r) for r in self._all(tenants.select().order_by(tenants.c.number))]

    def next_number(self) -> int:
        value = (self._conn.execute(sa.select(sa.func.max(tenants.c.number)))).scalar()
        return int(value or 0) + 1

    def lock(self, tenant_id: UUID) -> None:
        # FOR UPDATE on PostgreSQL; SQLite has one writer at a time anyway.
        self._conn.execute(
            sa.select(tenants.c.id).where(tenants.c.id == tenant_id).with_for_update()
        )

    def allocate(self, tenant_id: UUID, kind: Literal["subject", "document"]) -> int:
        # UPDATE … RETURNING takes the tenant row's lock on PostgreSQL, so two concurrent
        # uploads can never draw the same number.
        if kind == "document":
            return self.number_document(tenant_id)[0]
        (number,) = _ALLOCATE_SUBJECT.one(self._conn, {"tenant_id": tenant_id})
        return int(number)

    def number_document(self, tenant_id: UUID) -> tuple[int, dict[str, Any]]:
        number, settings = _NUMBER_DOCUMENT.one(self._conn, {"tenant_id": tenant_id})
        decode = tenants.c.settings.type._cached_result_processor(self._conn.dialect, None)
        return int(number), dict((decode(settings) if decode else settings) or {})

    @deferrable
    def add_key(self, record: TenantKeyRecord) -> None:
        self._conn.execute(
            tenant_keys.insert().values(
                id=record.id,
                tenant_id=record.tenant_id,
                wrapped_key=record.wrapped_key,
                master_key_id=record.master_key_id,
                created_at=record.created_at,
                wrap_format=record.wrap_format,
            )
        )

    def current_key(self, tenant_id: UUID) -> TenantKeyRecord | None:
        row = self._one(
            tenant_keys.select()
            .where(tenant_keys.c.tenant_id == tenant_id, tenant_keys.c.retired_at.is_(None))
            .order_by(tenant_keys.c.created_at.desc())
            .limit(1)
        )
        return _tenant_key(row) if row else None

    @deferrable
    def retire_keys(self, tenant_id: UUID, keep: UUID, at: datetime) -> None:
        self._conn.execute(
            tenant_keys.update()
            .where(
                tenant_keys.c.tenant_id == tenant_id,
                tenant_keys.c.id != keep,
                tenant_keys.c.retired_at.is_(None),
            )
            .values(retired_at=at)
        )

    def retired_keys(self, tenant_id: UUID) -> list[UUID]:
        query = sa.select(tenant_keys.c.id).where(
            tenant_keys.c.tenant_id == tenant_id, tenant_keys.c.retired_at.is_not(None)
        )
        return list(self._conn.execute(query).scalars())

    def get_key(self, tenant_id: UUID, key_id: UUID) -> TenantKeyRecord | None:
        row = self._one(
            tenant_keys.select().where(
                tenant_keys.c.tenant_id == tenant_id, tenant_keys.c.id == key_id
            )
        )
        return _tenant_key(row) if row else None


def _api_key(row: RowMapping) -> ApiKey:
    return ApiKey(
        id=row["id"],
        tenant_id=row["tenant_id"],
        key_id=row["key_id"],
        name=row["name"],
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
        scopes=tuple(row["scopes"]),
        expires_at=row["expires_at"],
    )


class SqlApiKeys(Repo):
    @deferrable
    def add(self, key: ApiKey, secret_hash: bytes) -> None:
        self._conn.execute(
            api_keys.insert().values(
                id=key.id,
                tenant_id=key.tenant_id,
                key_id=key.key_id,
                secret_hash=secret_hash,
                name=key.name,
                created_at=key.created_at,
                revoked_at=key.revoked_at,
                scopes=list(key.scopes),
                expires_at=key.expires_at,
            )
        )

    def find(self, key_id: str) -> tuple[ApiKey, bytes] | None:
        row = self._one(_FIND_KEY, {"key_id": key_id})
        return (_api_key(row), bytes(row["secret_hash"])) if row else None

    def list_for(self, tenant_id: UUID) -> list[ApiKey]:
        rows = self._all(
            api_keys.select()
            .where(api_keys.c.tenant_id == tenant_id)
            .order_by(api_keys.c.created_at, api_keys.c.id)
        )
        return [_api_key(r) for r in rows]

    def revoke(self, key_id: str, at: datetime) -> ApiKey | None:
        self._conn.execute(
            api_keys.update()
            .where(api_keys.c.key_id == key_id, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=at)
        )
        stored = self.find(key_id)
        return stored[0] if stored else None
