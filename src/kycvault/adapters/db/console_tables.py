"""The review console's tables: its users and their login sessions. Registered on the one
``metadata`` of ``tables.py``."""

from __future__ import annotations

import sqlalchemy as sa

from kycvault.adapters.db.columns import UtcDateTime, metadata, tenant_fk

# A console user. ``email`` is stored normalised (lower case), so the unique index makes it
# unique across the vault case-insensitively and the login form needs no tenant. The TOTP
# secrets are sealed with the tenant key (``sealed_fields.py``), AAD the user id.
console_users = sa.Table(
    "console_users",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    tenant_fk(),
    sa.Column("email", sa.String(254), nullable=False, unique=True),
    # Argon2id, as a PHC string ($argon2id$v=19$m=…,t=…,p=…$salt$hash).
    sa.Column("password_hash", sa.String(200), nullable=False),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("totp_sealed", sa.LargeBinary, nullable=True),
    sa.Column("totp_pending_sealed", sa.LargeBinary, nullable=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Column("disabled_at", UtcDateTime, nullable=True),
    sa.Index(None, "tenant_id", "created_at"),
)

# A login session: the SHA-256 of its token (the cookie), never the token itself. Its CSRF
# token is an HMAC of the session token, so it needs no column.
console_sessions = sa.Table(
    "console_sessions",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    tenant_fk(),
    sa.Column(
        "user_id",
        sa.Uuid,
        sa.ForeignKey("console_users.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("token_hash", sa.LargeBinary(32), nullable=False, unique=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("last_seen_at", UtcDateTime, nullable=False),
    sa.Column("ended_at", UtcDateTime, nullable=True),
    sa.Index(None, "user_id", "ended_at"),
    sa.Index(None, "last_seen_at"),
)
