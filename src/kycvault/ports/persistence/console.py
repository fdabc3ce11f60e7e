"""Console users and their login sessions: the records and the repositories
(``services/users.py`` and ``services/console_sessions.py`` have the rules)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from kycvault.domain.users import Role, User


@dataclass(frozen=True, slots=True)
class UserCredentials:
    """A user with what checks a login: the Argon2id hash (PHC string) and the TOTP secrets,
    opened (the adapter stores them sealed). ``totp_pending``: a secret being enrolled, not
    yet confirmed with a code, which a login does not ask for."""

    user: User
    password_hash: str
    totp_secret: str | None = None
    totp_pending: str | None = None


@dataclass(frozen=True, slots=True)
class ConsoleSessionRecord:
    """A login session. Only the SHA-256 of its token is stored; ``ended_at`` is set by a
    logout, a timeout, or a change to the user (disabled, new password)."""

    id: UUID
    tenant_id: UUID
    user_id: UUID
    token_hash: bytes
    created_at: datetime
    last_seen_at: datetime
    ended_at: datetime | None = None


class ConsoleUserRepository(Protocol):
    async def add(self, user: User, password_hash: str) -> None:
        """Raises ``Conflict`` when the e-mail address is taken (in any tenant)."""
        ...

    async def get(self, tenant_id: UUID, user_id: UUID) -> User | None: ...
    async def credentials(self, email: str) -> UserCredentials | None:
        """The user with this normalised address, whichever its tenant (the login form)."""
        ...

    async def credentials_of(self, tenant_id: UUID, user_id: UUID) -> UserCredentials | None: ...
    async def find(self, tenant_id: UUID, email: str) -> User | None: ...
    async def list_for(self, tenant_id: UUID) -> list[User]:
        """The tenant's users, oldest first."""
        ...

    async def set_password(
        self, tenant_id: UUID, user_id: UUID, password_hash: str, at: datetime
    ) -> None: ...
    async def set_role(self, tenant_id: UUID, user_id: UUID, role: Role, at: datetime) -> None: ...
    async def set_disabled(
        self, tenant_id: UUID, user_id: UUID, disabled_at: datetime | None, at: datetime
    ) -> None: ...
    async def set_totp(
        self,
        tenant_id: UUID,
        user_id: UUID,
        *,
        secret: str | None,
        pending: str | None,
        at: datetime,
    ) -> None:
        """Replace both TOTP secrets (None clears one)."""
        ...


class ConsoleSessionRepository(Protocol):
    async def add(self, record: ConsoleSessionRecord) -> None: ...
    async def find(self, token_hash: bytes) -> ConsoleSessionRecord | None: ...
    async def touch(self, session_id: UUID, at: datetime) -> None: ...
    async def end(self, session_id: UUID, at: datetime) -> bool:
        """End a session that has not ended; False if it had."""
        ...

    async def end_for_user(self, tenant_id: UUID, user_id: UUID, at: datetime) -> int:
        """End every open session of the user; how many there were."""
        ...

    async def purge_ended(self, before: datetime) -> int:
        """Remove sessions that ended, or were last seen, before ``before``."""
        ...
