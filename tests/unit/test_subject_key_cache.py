"""The subject keys a process keeps unwrapped in memory: a key another process destroyed (an
erasure, a re-keying) stops opening files in this one once ``keep_for`` has run out, and the
cache holds at most ``CACHED_KEYS`` keys."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from kycvault.config import Settings
from kycvault.errors import IntegrityFailure
from kycvault.services import subject_keys
from kycvault.services.context import Actor, AppContext
from kycvault.services.subject_keys import SubjectKeyring
from tests.backends import Backend
from tests.helpers import backend_settings

pytestmark = pytest.mark.anyio


@pytest.fixture
def settings(backend_pair: Backend, tmp_path: Path) -> Settings:
    return backend_settings(backend_pair, tmp_path)


def _keyring(ctx: AppContext, keep_for: float) -> SubjectKeyring:
    """Another process's keyring on the same key store."""
    return SubjectKeyring(ctx.subject_keys.store, ctx.keyring, ctx.cipher, keep_for=keep_for)


async def test_a_key_destroyed_elsewhere_stops_opening_once_its_time_is_up(
    ctx: AppContext, actor: Actor
) -> None:
    subject_id = uuid.uuid4()
    key_id, key = await ctx.subject_keys.current(actor.tenant_id, subject_id, ctx.clock())
    reader = _keyring(ctx, keep_for=0.3)
    assert await reader.key(actor.tenant_id, key_id) == key
    assert await ctx.subject_keys.destroy(actor.tenant_id, [key_id]) == 1
    # Still in this process's memory for a moment...
    assert await reader.key(actor.tenant_id, key_id) == key
    time.sleep(0.35)
    # ...then read from the store again, where it is gone.
    with pytest.raises(IntegrityFailure) as refused:
        await reader.key(actor.tenant_id, key_id)
    assert refused.value.code == "subject_key_destroyed"


async def test_the_cache_keeps_the_most_recently_used_keys(
    ctx: AppContext, actor: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(subject_keys, "CACHED_KEYS", 2)
    reader = _keyring(ctx, keep_for=60)
    made = [
        await ctx.subject_keys.current(actor.tenant_id, uuid.uuid4(), ctx.clock()) for _ in range(3)
    ]
    for key_id, _ in made:
        await reader.key(actor.tenant_id, key_id)
    await reader.key(actor.tenant_id, made[1][0])  # the first is the least recently used now
    await ctx.subject_keys.destroy(actor.tenant_id, [key_id for key_id, _ in made])
    with pytest.raises(IntegrityFailure):
        await reader.key(actor.tenant_id, made[0][0])
    assert await reader.key(actor.tenant_id, made[1][0]) == made[1][1]
    assert await reader.key(actor.tenant_id, made[2][0]) == made[2][1]
