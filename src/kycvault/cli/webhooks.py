"""``kycvault webhooks list|test`` and ``kycvault events tail`` (run against the vault
directly, like the tenant commands; no server needed)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from kycvault.bootstrap import Container
from kycvault.cli.admin import JsonFlag
from kycvault.cli.runtime import run_with_vault
from kycvault.domain.models import Tenant
from kycvault.domain.webhooks import new_secret
from kycvault.ports.persistence.events import Event
from kycvault.ports.persistence.webhooks import Endpoint
from kycvault.ports.webhooks import SendFailed
from kycvault.services import events, tenants, webhook_delivery

webhooks_app = typer.Typer(
    help="List webhook endpoints, send a test delivery.", no_args_is_help=True
)
events_app = typer.Typer(help="Read the event log.", no_args_is_help=True)

TenantOption = Annotated[
    str | None, typer.Option("--tenant", help="Tenant id, domain id or name (default: all).")
]


async def _tenants(container: Container, ref: str | None) -> list[Tenant]:
    if ref is not None:
        return [await tenants.find_tenant(container.ctx, ref)]
    return await tenants.list_tenants(container.ctx)


def _endpoint_row(endpoint: Endpoint) -> dict[str, object]:
    return {
        "id": str(endpoint.id),
        "tenant_id": str(endpoint.tenant_id),
        "url": endpoint.url,
        "events": endpoint.events,
        "enabled": endpoint.enabled,
        "disabled_reason": endpoint.disabled_reason,
        "description": endpoint.description,
        "created_at": endpoint.created_at.isoformat(),
    }


@webhooks_app.command("list")
def webhooks_list(tenant: TenantOption = None, as_json: JsonFlag = False) -> None:
    """List webhook endpoints (never their secrets)."""

    async def work(container: Container) -> list[dict[str, object]]:
        rows = []
        for owner in await _tenants(container, tenant):
            async with container.ctx.store.read() as uow:
                found = await uow.webhooks.list_endpoints(owner.id)
            rows += [_endpoint_row(e) for e in found]
        return rows

    rows = run_with_vault(work)
    if as_json:
        typer.echo(json.dumps(rows))
        return
    for row in rows:
        state = "enabled" if row["enabled"] else f"disabled ({row['disabled_reason']})"
        kinds = ",".join(str(t) for t in row["events"])  # type: ignore[attr-defined]
        typer.echo(f"{row['id']}  {row['url']}  {kinds}  {state}  tenant {row['tenant_id']}")
    if not rows:
        typer.echo("no webhook endpoints")


@webhooks_app.command("test")
def webhooks_test(
    url: Annotated[str, typer.Argument(help="The receiver URL.")],
    secret: Annotated[
        str | None, typer.Option(help="Sign with this whsec_… secret (default: a new one).")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Send a signed test event (type ``webhook.test``) to URL, through the same receiver
    checks as real deliveries, and print the answer."""
    signing = secret or new_secret()
    event_id = uuid.uuid4()
    body = json.dumps(
        {
            "id": str(event_id),
            "type": "webhook.test",
            "created_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "data": {},
        },
        separators=(",", ":"),
    ).encode()

    async def work(container: Container) -> dict[str, Any]:
        reply = await webhook_delivery.send(container.ctx, url, str(event_id), body, [signing])
        text = reply.body.decode("utf-8", "replace")
        return {"status": reply.status, "body": text, "webhook_id": str(event_id)}

    try:
        result = run_with_vault(work)
    except SendFailed as exc:
        typer.echo(f"error: no answer from the receiver: {exc}", err=True)
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps({**result, "secret": signing if secret is None else None}))
    else:
        if secret is None:
            typer.echo(f"signed with a new secret: {signing}")
        typer.echo(f"webhook-id: {result['webhook_id']}")
        typer.echo(f"answer: {result['status']}")
        typer.echo(result["body"])
    if not 200 <= int(result["status"]) < 300:
        raise typer.Exit(1)


def _event_line(event: Event, as_json: bool) -> str:
    shown = {
        "id": str(event.id),
        "type": event.type,
        "created_at": event.created_at.isoformat(),
        "tenant_id": str(event.tenant_id),
        "sequence": event.sequence,
        "data": event.data,
    }
    if as_json:
        return json.dumps(shown, separators=(",", ":"))
    about = event.document_id or event.subject_id or ""
    when = event.created_at.isoformat()
    return f"{when}  {event.tenant_id}  #{event.sequence}  {event.type}  {about}"


@events_app.command("tail")
def events_tail(
    tenant: TenantOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON event per line.")] = False,
    follow: Annotated[bool, typer.Option(help="Keep printing events as they come.")] = True,
    last: Annotated[int, typer.Option(min=0, max=100, help="Events shown first.")] = 10,
    interval: Annotated[float, typer.Option(min=0.1, max=60, help="Seconds between polls.")] = 1.0,
) -> None:
    """Print the last events, then follow the log in sequence order (Ctrl-C stops)."""

    async def work(container: Container) -> None:
        ctx = container.ctx
        positions: dict[uuid.UUID, int] = {}
        while True:
            for owner in await _tenants(container, tenant):
                after = positions.get(owner.id)
                if after is None:  # first look: the last few, then from the tip on
                    found = await events.read_after(ctx, owner.id, None, limit=max(last, 1))
                    positions[owner.id] = found[-1].sequence or 0 if found else 0
                    found = found[len(found) - last :] if last else []
                else:
                    found = await events.read_after(ctx, owner.id, after)
                    if found:
                        positions[owner.id] = found[-1].sequence or after
                for event in found:
                    typer.echo(_event_line(event, as_json))
            # Line by line into a pipe too (``events tail | jq``): output is block-buffered
            # when it is not a terminal.
            sys.stdout.flush()
            if not follow:
                return
            await asyncio.sleep(interval)

    with contextlib.suppress(KeyboardInterrupt):
        run_with_vault(work)
