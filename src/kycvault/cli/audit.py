"""``kycvault audit verify``: walk every audit chain (or one tenant's) and name the first
event that does not follow from those before it (see ``domain/audit_chain.py``)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from kycvault.bootstrap import Container
from kycvault.cli.runtime import run_with_vault

audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)


@audit_app.command("verify")
def verify(
    tenant: Annotated[
        str | None, typer.Option("--tenant", help="Only this tenant (id, number or name).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="The result as JSON.")] = False,
) -> None:
    """Check the hash chains. Exit 0 when every chain is intact, 1 naming the first bad event
    of each broken chain."""
    from kycvault.services import audit_trail, tenants

    async def work(container: Container) -> audit_trail.Verification:
        tenant_id = (await tenants.find_tenant(container.ctx, tenant)).id if tenant else None
        return await audit_trail.verify(container.ctx, tenant_id=tenant_id)

    result = run_with_vault(work)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "chains": result.chains,
                    "events": result.events,
                    "intact": not result.breaks,
                    "breaks": [
                        {
                            "chain": str(b.chain_id),
                            "seq": b.seq,
                            "event_id": str(b.event_id) if b.event_id else None,
                            "reason": b.reason,
                        }
                        for b in result.breaks
                    ],
                },
                indent=2,
            )
        )
    else:
        for b in result.breaks:
            event = f"event {b.event_id} " if b.event_id else ""
            typer.echo(f"chain {b.chain_id}: {event}(number {b.seq}): {b.reason}")
        status = "intact" if not result.breaks else f"{len(result.breaks)} broken"
        typer.echo(f"{result.events} events in {result.chains} chains checked: {status}")
    raise typer.Exit(0 if not result.breaks else 1)
