"""Console users and their login sessions. The users' TOTP secrets are sealed and opened
here (``sealed_fields.py``), so no use case handles them sealed."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy import RowMapping

from kycvault.adapters.db.console_tables import console_sessions, console_users
from kycvault.adapters.db.repositories._base import Repo
from kycvault.domain.users import Role, User
from kycvault.ports.persistence.console import ConsoleSessionRecord, UserCredentials

U = console_users.c
S = console_sessions.c


def _user(row: RowMapping) -> User:
    return User(
        id=row["id"],
        tenant_id=row["tenant_id"],
        email=row["email"],
        role=Role(row["role"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        disabled_at=row["disabled_at"],
        has_totp=row["totp_sealed"] is not None,
    )


class SqlConsoleUsers(Repo):
    def add(self, user: User, password_hash: str) -> None:
        self._conn.execute(
            console_users.insert().values(
                id=user.id,
                tenant_id=user.tenant_id,
                email=user.email,
                password_hash=password_hash,
                role=user.role.value,
                created_at=user.created_at,
                updated_at=user.updated_at,
                disabled_at=user.disabled_at,
            )
        )

    def get(self, tenant_id: UUID, user_id: UUID) -> User | None:
        row = self._one(console_users.select().where(U.tenant_id == tenant_id, U.id == user_id))
        return _user(row) if row is not None else None

    def credentials(self, email: str) -> UserCredentials | None:
        return self._credentials(self._one(console_users.select().where(U.email == email)))

    def credentials_of(self, tenant_id: UUID, user_id: UUID) -> UserCredentials | None:
        row = self._one(console_users.select().where(U.tenant_id == tenant_id, U.id == user_id))
        return self._credentials(row)

    def _credentials(self, row: RowMapping | None) -> UserCredentials | None:
        if row is None:
            return None
        secret, pending = self._sealed.totp_secrets(row["tenant_id"], row)
        return UserCredentials(_user(row), row["password_hash"], secret, pending)

    def find(self, tenant_id: UUID, email: str) -> User | None:
        row = self._one(console_users.select().where(U.tenant_id == tenant_id, U.email == email))
        return _user(row) if row is not None else None

    def list_for(self, tenant_id: UUID) -> list[User]:
        stmt = (
            console_users.select()
            .where(U.tenant_id == tenant_id)
            .order_by(U.created_at.asc(), U.id.asc())
        )
        return [_user(row) for row in self._all(stmt)]

    def _update(self, tenant_id: UUID, user_id: UUID, **values: Any) -> None:
        self._conn.execute(
            console_users.update().where(U.tenant_id == tenant_id, U.id == user_id).values(**values)
        )

    def set_password(
        self, tenant_id: UUID, user_id: UUID, password_hash: str, at: datetime
    ) -> None:
        self._update(tenant_id, user_id, password_hash=password_hash, updated_at=at)

    def set_role(self, tenant_id: UUID, user_id: UUID, role: Role, at: datetime) -> None:
        self._update(tenant_id, user_id, role=role.value, updated_at=at)

    def set_disabled(
        self, tenant_id: UUID, user_id: UUID, disabled_at: datetime | None, at: datetime
    ) -> None:
        self._update(tenant_id, user_id, disabled_at=disabled_at, updated_at=at)

    def set_totp(
        self,
        tenant_id: UUID,
        user_id: UUID,
        *,
        secret: str | None,
        pending: str | None,
        at: datetime,
    ) -> None:
        sealed = self._sealed.totp_values(tenant_id, user_id, secret=secret, pending=pending)
        self._update(tenant_id, user_id, **sealed, updated_at=at)


def _session(row: RowMapping) -> ConsoleSessionRecord:
    return ConsoleSessionRecord(
        id=row["id"],
        tenant_id=row["tenant_id"],
        user_id=row["user_id"],
        token_hash=bytes(row["token_hash"]),
        created_at=row["created_at"],
        last_seen_at=row["last_seen_at"],
        ended_at=row["ended_at"],
    )


class SqlConsoleSessions(Repo):
    def add(self, record: ConsoleSessionRecord) -> None:
        self._conn.execute(
            console_sessions.insert().values(
                id=record.id,
                tenant_id=record.tenant_id,
                user_id=record.user_id,
                token_hash=record.token_hash,
                created_at=record.created_at,
                last_seen_at=record.last_seen_at,
                ended_at=record.ended_at,
            )
        )

    def find(self, token_hash: bytes) -> ConsoleSessionRecord | None:
        row = self._one(console_sessions.select().where(S.token_hash == token_hash))
        return _session(row) if row is not None else None

    def touch(self, session_id: UUID, at: datetime) -> None:
        self._conn.execute(
            console_sessions.update().where(S.id == session_id).values(last_seen_at=at)
        )

    def end(self, session_id: UUID, at: datetime) -> bool:
        # RETURNING, not rowcount: the async PostgreSQL driver reports -1.
        result = self._conn.execute(
            console_sessions.update()
            .where(S.id == session_id, S.ended_at.is_(None))
            .values(ended_at=at)
            .returning(S.id)
        )
        return result.first() is not None

    def end_for_user(self, tenant_id: UUID, user_id: UUID, at: datetime) -> int:
        result = self._conn.execute(
            console_sessions.update()
            .where(S.tenant_id == tenant_id, S.user_id == user_id, S.ended_at.is_(None))
            .values(ended_at=at)
            .returning(S.id)
        )
        return len(result.all())

    def purge_ended(self, before: datetime) -> int:
        result = self._conn.execute(
            console_sessions.delete()
            .where(sa.or_(S.ended_at < before, S.last_seen_at < before))
            .returning(S.id)
        )
        return len(result.all())
