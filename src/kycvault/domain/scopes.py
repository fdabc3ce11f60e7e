"""What an API key may do: its scopes, and how long it lives.

A key holds one or more scopes; ``admin`` grants every one. Each use case needs one scope
(``services/authorization.py`` checks it). A key made without scopes is an ``admin`` key, as
every key was before scopes existed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import timedelta
from enum import StrEnum

from kycvault.errors import InvalidInput


class Scope(StrEnum):
    DOCUMENTS_READ = "documents:read"
    DOCUMENTS_WRITE = "documents:write"
    DOCUMENTS_DOWNLOAD = "documents:download"
    DOCUMENTS_DELETE = "documents:delete"
    DOCUMENTS_REVIEW = "documents:review"
    SUBJECTS_READ = "subjects:read"
    SUBJECTS_WRITE = "subjects:write"
    AUDIT_READ = "audit:read"
    WEBHOOKS_MANAGE = "webhooks:manage"
    ADMIN = "admin"


FULL_ACCESS: frozenset[str] = frozenset({Scope.ADMIN})
# The longest lifetime a key may be given (``--expires-in``).
MAX_LIFETIME = timedelta(days=3650)
_LIFETIME = re.compile(r"([1-9][0-9]{0,6})([dhm])")
_UNITS = {"d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1)}


def grants(held: Iterable[str], needed: str) -> bool:
    """Whether scopes ``held`` allow what needs ``needed``."""
    scopes = frozenset(held)
    return Scope.ADMIN in scopes or needed in scopes


def parse_scopes(values: Iterable[str]) -> tuple[Scope, ...]:
    """The scopes a key is to hold, each once and in a fixed order; none given is ``admin``.

    Raises:
        InvalidInput: a name that is no scope (the message lists the scopes there are).
    """
    chosen: set[Scope] = set()
    for value in values:
        try:
            chosen.add(Scope(value.strip()))
        except ValueError:
            known = ", ".join(scope.value for scope in Scope)
            raise InvalidInput.field(
                "scope", "unknown_scope", f"{value!r} is not a scope (scopes: {known})"
            ) from None
    if not chosen:
        return (Scope.ADMIN,)
    return tuple(scope for scope in Scope if scope in chosen)


def parse_lifetime(text: str) -> timedelta:
    """``"90d"``, ``"12h"`` or ``"30m"`` → that long (days, hours or minutes, at least one,
    at most ``MAX_LIFETIME``).

    Raises:
        InvalidInput: any other text.
    """
    match = _LIFETIME.fullmatch(text.strip())
    if match is None:
        raise InvalidInput.field(
            "expires_in",
            "invalid_lifetime",
            f"{text!r} is not a lifetime: give a whole number of days, hours or minutes, "
            "such as 90d, 12h or 30m",
        )
    lifetime = int(match.group(1)) * _UNITS[match.group(2)]
    if lifetime > MAX_LIFETIME:
        raise InvalidInput.field(
            "expires_in", "invalid_lifetime", f"at most {MAX_LIFETIME.days} days"
        )
    return lifetime
