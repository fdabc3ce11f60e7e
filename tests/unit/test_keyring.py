"""The process's cache of unwrapped tenant keys answers only for the tenant a key belongs
to: once tenant B's key is cached, asking for it as tenant A's finds nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from kycvault.bootstrap import build_container, prepare_schema
from kycvault.config import Settings
from kycvault.errors import IntegrityFailure
from kycvault.services import tenants


@pytest.mark.anyio
async def test_a_cached_tenant_key_is_not_found_for_another_tenant(tmp_path: Path) -> None:
    container = build_container(Settings(data_dir=tmp_path))
    try:
        await prepare_schema(container, upgrade=True)
        ctx = container.ctx
        a = (await tenants.create_tenant(ctx, name="a")).tenant.id
        b = (await tenants.create_tenant(ctx, name="b")).tenant.id
        key_a_id, key_a = await ctx.keyring.current(a)
        key_b_id, key_b = await ctx.keyring.current(b)  # now cached
        assert await ctx.keyring.get(b, key_b_id) == key_b
        assert await ctx.keyring.get(a, key_a_id) == key_a != key_b
        with pytest.raises(IntegrityFailure) as missing:
            await ctx.keyring.get(a, key_b_id)
        assert missing.value.code == "tenant_key_missing"
    finally:
        await container.close()
