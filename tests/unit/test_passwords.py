"""Console passwords: Argon2id at RFC 9106's second recommended option unless lowered, and a
hash made with other parameters still verifies and is due for a rehash."""

from __future__ import annotations

import pytest

from kycvault.config import Settings
from kycvault.services import passwords
from kycvault.services.context import ConsoleSettings

CHEAP = ConsoleSettings(password_memory_kib=1024, password_passes=1)


def test_the_defaults_are_rfc_9106s_second_option() -> None:
    # The test process lowers the cost through the environment (tests/helpers.py
    # CHEAP_PASSWORDS); the fields' own defaults are what a deployment gets.
    fields = Settings.model_fields
    assert fields["console_password_memory_kib"].default == 65536
    assert fields["console_password_passes"].default == 3
    defaults = ConsoleSettings()
    assert (defaults.password_memory_kib, defaults.password_passes) == (65536, 3)


@pytest.mark.anyio
async def test_a_hash_carries_its_parameters_and_verifies_under_others() -> None:
    stored = await passwords.hash_password(CHEAP, "a long passphrase")
    assert stored.startswith("$argon2id$v=19$m=1024,t=1,")
    assert await passwords.verify_password(CHEAP, stored, "a long passphrase")
    assert not await passwords.verify_password(CHEAP, stored, "a long passphrasE")
    stronger = ConsoleSettings(password_memory_kib=2048, password_passes=2)
    # Raised parameters: the old hash still verifies, and is due for a new one.
    assert await passwords.verify_password(stronger, stored, "a long passphrase")
    assert passwords.needs_rehash(stronger, stored)
    assert not passwords.needs_rehash(CHEAP, stored)


@pytest.mark.anyio
async def test_no_user_costs_a_verification_and_never_matches() -> None:
    assert not await passwords.verify_password(CHEAP, None, "not a password of anyone")
