"""The people who use the review console: their roles, what each role may do, and the rules
for their e-mail addresses and passwords.

A role maps onto the same scopes as API keys (``domain/scopes.py``), so every use case
checks a console user exactly as it checks a key:

- ``viewer`` reads subjects and documents;
- ``reviewer`` also downloads files and reviews documents;
- ``admin`` holds ``admin``, which grants every scope (users, API keys, settings).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from kycvault.domain.scopes import Scope
from kycvault.errors import InvalidInput


class Role(StrEnum):
    VIEWER = "viewer"
    REVIEWER = "reviewer"
    ADMIN = "admin"


_READ = frozenset({Scope.DOCUMENTS_READ.value, Scope.SUBJECTS_READ.value})
ROLE_SCOPES: dict[Role, frozenset[str]] = {
    Role.VIEWER: _READ,
    Role.REVIEWER: _READ | {Scope.DOCUMENTS_DOWNLOAD.value, Scope.DOCUMENTS_REVIEW.value},
    Role.ADMIN: frozenset({Scope.ADMIN.value}),
}

# RFC 5321 caps a forward path at 256 octets, so an address at 254 characters.
MAX_EMAIL = 254
PASSWORD_MIN = 12
# Argon2 hashes any length; the cap keeps one login from costing a megabyte of hashing input.
PASSWORD_MAX = 1024
# One "@", a local part and a dotted domain, no spaces or control characters: the console
# sends no mail, so the address is an identifier that must be unambiguous, not deliverable.
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+")


@dataclass(frozen=True, slots=True)
class User:
    """A console user. ``email`` is normalised (``normalise_email``) and unique across the
    vault, so the login form needs no tenant. ``has_totp``: a second factor is enrolled."""

    id: UUID
    tenant_id: UUID
    email: str
    role: Role
    created_at: datetime
    updated_at: datetime
    disabled_at: datetime | None = None
    has_totp: bool = False

    @property
    def disabled(self) -> bool:
        return self.disabled_at is not None

    @property
    def scopes(self) -> frozenset[str]:
        return ROLE_SCOPES[self.role]


def parse_role(value: str) -> Role:
    """Raises:
    InvalidInput: not one of viewer, reviewer, admin."""
    try:
        return Role(value.strip().lower())
    except ValueError:
        known = ", ".join(role.value for role in Role)
        raise InvalidInput.field(
            "role", "unknown_role", f"{value!r} is not a role (roles: {known})"
        ) from None


def normalise_email(value: str) -> str:
    """The address as stored and compared: NFC, surrounding spaces stripped, lower case
    (addresses are compared case-insensitively: ``Ann@X.org`` and ``ann@x.org`` are one user).

    Raises:
        InvalidInput: empty, too long, or not shaped like ``local@domain.tld``.
    """
    email = unicodedata.normalize("NFC", value).strip().lower()
    if not email:
        raise InvalidInput.field("email", "required", "an e-mail address is required")
    if len(email) > MAX_EMAIL:
        raise InvalidInput.field("email", "invalid_email", f"at most {MAX_EMAIL} characters")
    if not _EMAIL.fullmatch(email) or any(unicodedata.category(c) == "Cc" for c in email):
        raise InvalidInput.field(
            "email", "invalid_email", "not an e-mail address (local@domain.tld)"
        )
    return email


def check_password(password: str) -> None:
    """The password policy: 12 to 1024 characters, not only spaces. Length is what makes a
    password strong; composition rules only make people write them down (NIST SP 800-63B).

    Raises:
        InvalidInput: too short, too long, or blank.
    """
    if len(password) < PASSWORD_MIN or not password.strip():
        raise InvalidInput.field(
            "password", "password_too_short", f"at least {PASSWORD_MIN} characters"
        )
    if len(password) > PASSWORD_MAX:
        raise InvalidInput.field(
            "password", "password_too_long", f"at most {PASSWORD_MAX} characters"
        )
    if "\x00" in password:
        raise InvalidInput.field("password", "nul_character", "contains a NUL character")
