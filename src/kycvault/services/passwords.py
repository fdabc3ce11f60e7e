"""Console passwords: Argon2id (argon2-cffi), by default with RFC 9106's second recommended
option (64 MiB and 3 passes: ``ConsoleSettings``), hashed and verified in a worker thread, so
a login does not hold up the event loop and every other request with it (one hash takes
about a hundred milliseconds of CPU). A hash made with other parameters still verifies (the
parameters are in its PHC string) and is replaced at the next login."""

from __future__ import annotations

import asyncio
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from kycvault.services.context import ConsoleSettings


@cache
def _hasher(memory_kib: int, passes: int) -> PasswordHasher:
    return PasswordHasher(time_cost=passes, memory_cost=memory_kib)


def _of(settings: ConsoleSettings) -> PasswordHasher:
    return _hasher(settings.password_memory_kib, settings.password_passes)


async def hash_password(settings: ConsoleSettings, password: str) -> str:
    """The PHC string of ``password`` (``$argon2id$v=19$…``), with a fresh salt."""
    return await asyncio.to_thread(_of(settings).hash, password)


def _verify(hasher: PasswordHasher, stored: str | None, password: str) -> bool:
    try:
        matches = hasher.verify(stored if stored is not None else _dummy_hash(hasher), password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return matches and stored is not None


@cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    # Made once per process and parameters, with the parameters of real hashes, so a login
    # for an unknown address costs what a wrong password costs.
    return hasher.hash("not a password of anyone")


async def verify_password(settings: ConsoleSettings, stored: str | None, password: str) -> bool:
    """Whether ``password`` matches the hash ``stored``. With ``stored`` None (no such user)
    a dummy hash is verified instead, so the answer takes the same time either way."""
    return await asyncio.to_thread(_verify, _of(settings), stored, password)


def needs_rehash(settings: ConsoleSettings, stored: str) -> bool:
    """Whether ``stored`` was made with other parameters than today's (rehash on login)."""
    try:
        return _of(settings).check_needs_rehash(stored)
    except InvalidHashError:
        return True
