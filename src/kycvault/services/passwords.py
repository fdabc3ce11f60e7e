"""Console passwords: Argon2id (argon2-cffi, its default parameters: RFC 9106's second
recommended option, 64 MiB and 3 passes), hashed and verified in a worker thread, so a
login does not hold up the event loop and every other request with it (one hash takes tens
of milliseconds of CPU)."""

from __future__ import annotations

import asyncio
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()


async def hash_password(password: str) -> str:
    """The PHC string of ``password`` (``$argon2id$v=19$…``), with a fresh salt."""
    return await asyncio.to_thread(_hasher.hash, password)


def _verify(stored: str | None, password: str) -> bool:
    try:
        matches = _hasher.verify(stored if stored is not None else _dummy_hash(), password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return matches and stored is not None


@cache
def _dummy_hash() -> str:
    # Made once per process, with the same parameters as real hashes, so a login for an
    # unknown address costs what a wrong password costs.
    return _hasher.hash("not a password of anyone")


async def verify_password(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches the hash ``stored``. With ``stored`` None (no such user)
    a dummy hash is verified instead, so the answer takes the same time either way."""
    return await asyncio.to_thread(_verify, stored, password)


def needs_rehash(stored: str) -> bool:
    """Whether ``stored`` was made with other parameters than today's (rehash on login)."""
    try:
        return _hasher.check_needs_rehash(stored)
    except InvalidHashError:
        return True
