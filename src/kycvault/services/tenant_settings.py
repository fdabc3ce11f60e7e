"""A tenant's settings (``Tenant.settings``): one section per concern (processing,
notifications…), each replaced whole under the tenant's lock and audited."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from kycvault.services import audit
from kycvault.services.context import Actor, AppContext


async def update_section(
    ctx: AppContext,
    actor: Actor,
    key: str,
    build: Callable[[Mapping[str, Any]], dict[str, Any]],
    fields: list[str],
) -> dict[str, Any]:
    """Set section ``key`` to ``build(the current settings)``; the section as stored.
    ``fields`` are the names the audit event lists as changed."""
    async with ctx.store.write() as uow:
        await uow.tenants.lock(actor.tenant_id)
        tenant = await uow.tenants.get(actor.tenant_id)
        current = dict(tenant.settings if tenant else {})
        section = current[key] = build(current)
        await uow.tenants.set_settings(actor.tenant_id, current)
        await audit.record(
            ctx,
            uow,
            actor,
            "settings.updated",
            target_type="tenant",
            target_id=actor.tenant_id,
            fields=fields,
        )
    return section
