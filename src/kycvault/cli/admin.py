"""Tenant and API-key administration (runs against the database directly, no server needed)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, TypeVar

import typer

from kycvault.bootstrap import Container
from kycvault.cli.runtime import run_with_vault
from kycvault.domain.models import ApiKey, Tenant
from kycvault.domain.scopes import Scope, parse_lifetime, parse_scopes
from kycvault.errors import InvalidInput
from kycvault.services import tenants

tenant_app = typer.Typer(help="Create, list and update tenants.", no_args_is_help=True)
key_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)

T = TypeVar("T")
JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def credentials(new: tenants.NewTenant) -> dict[str, object]:
    return {
        "tenant_id": str(new.tenant.id),
        "domain_id": new.tenant.number,
        "name": new.tenant.name,
        "api_key": new.issued.api_key,
        "key_id": new.issued.key.key_id,
        "key_secret": new.issued.key_secret,
    }


@tenant_app.command("create")
def tenant_create(
    name: Annotated[str, typer.Argument(help="A unique name for the tenant.")],
    as_json: JsonFlag = False,
) -> None:
    """Create a tenant with its encryption key and a first API key (shown once)."""

    async def work(container: Container) -> tenants.NewTenant:
        return await tenants.create_tenant(container.ctx, name=name)

    new = run_with_vault(work, creates_vault=True)
    data = credentials(new)
    if as_json:
        typer.echo(json.dumps(data))
        return
    for field, value in data.items():
        typer.echo(f"{field:>10}: {value}")
    typer.echo("Keep the API key now: it cannot be shown again.")


@tenant_app.command("list")
def tenant_list(as_json: JsonFlag = False) -> None:
    """List tenants."""

    async def work(container: Container) -> list[dict[str, object]]:
        return [_tenant_row(t) for t in await tenants.list_tenants(container.ctx)]

    rows = run_with_vault(work)
    if as_json:
        typer.echo(json.dumps(rows))
        return
    for row in rows:
        typer.echo(f"{row['domain_id']:>4}  {row['tenant_id']}  {row['name']}")


def _tenant_row(tenant: Tenant) -> dict[str, object]:
    return {
        "tenant_id": str(tenant.id),
        "domain_id": tenant.number,
        "name": tenant.name,
        "created_at": tenant.created_at.isoformat(),
        "sila_app_handle": tenant.sila_app_handle,
        "sila_app_address": tenant.sila_app_address,
    }


@tenant_app.command("update")
def tenant_update(
    tenant: Annotated[str, typer.Argument(help="Tenant id, domain id or name.")],
    sila_app_handle: Annotated[
        str | None,
        typer.Option(help="The app handle of Sila-signed requests (empty clears it)."),
    ] = None,
    sila_app_address: Annotated[
        str | None,
        typer.Option(help="The 0x address of the app's signing key (empty clears it)."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Register the app handle and address that Sila-signed requests (/compat/sila) carry."""
    if sila_app_handle is None and sila_app_address is None:
        raise typer.BadParameter("give --sila-app-handle and/or --sila-app-address")

    async def work(container: Container) -> Tenant:
        current = await tenants.find_tenant(container.ctx, tenant)
        handle = current.sila_app_handle if sila_app_handle is None else sila_app_handle
        address = current.sila_app_address if sila_app_address is None else sila_app_address
        return await tenants.register_sila_app(
            container.ctx, tenant_id=current.id, handle=handle, address=address
        )

    row = _tenant_row(run_with_vault(work))
    if as_json:
        typer.echo(json.dumps(row))
        return
    typer.echo(f"{row['domain_id']:>4}  {row['tenant_id']}  {row['name']}")
    typer.echo(f"  sila app: {row['sila_app_handle'] or '-'}  {row['sila_app_address'] or '-'}")


def _key_row(key: ApiKey) -> dict[str, object]:
    return {
        "key_id": key.key_id,
        "tenant_id": str(key.tenant_id),
        "name": key.name,
        "created_at": key.created_at.isoformat(),
        "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
        "scopes": list(key.scopes),
        "expires_at": key.expires_at.isoformat() if key.expires_at else None,
    }


def _key_state(key: ApiKey) -> str:
    if key.revoked_at is not None:
        return "revoked"
    return "active" if key.usable_at(datetime.now(UTC)) else "expired"


def _checked(check: Callable[[], T], option: str) -> T:
    """An option's value checked by ``check``; its error as typer reports a bad option."""
    try:
        return check()
    except InvalidInput as exc:
        message = exc.errors[0].message if exc.errors else exc.detail
        raise typer.BadParameter(message, param_hint=option) from None


_SCOPE_HELP = "A scope the key holds (repeatable; none: admin): " + ", ".join(Scope)


@key_app.command("create")
def key_create(
    tenant: Annotated[str, typer.Argument(help="Tenant id, domain id or name.")],
    name: Annotated[str | None, typer.Option(help="A label for the key.")] = None,
    scope: Annotated[
        list[str] | None, typer.Option("--scope", metavar="SCOPE", help=_SCOPE_HELP)
    ] = None,
    expires_in: Annotated[
        str | None,
        typer.Option(
            metavar="LIFETIME",
            help="Expire the key after this long: 90d, 12h or 30m (default: never).",
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Create an API key for a tenant (the secret is shown once)."""
    scopes = _checked(lambda: parse_scopes(scope or ()), "--scope")
    lifetime: timedelta | None = None
    if expires_in is not None:
        lifetime = _checked(lambda: parse_lifetime(expires_in), "--expires-in")

    async def work(container: Container) -> tenants.IssuedKey:
        owner = await tenants.find_tenant(container.ctx, tenant)
        return await tenants.create_key(
            container.ctx, tenant_id=owner.id, name=name, scopes=scopes, expires_in=lifetime
        )

    issued = run_with_vault(work)
    row = _key_row(issued.key)
    data = {**row, "api_key": issued.api_key, "key_secret": issued.key_secret}
    if as_json:
        typer.echo(json.dumps(data))
        return
    typer.echo(f"API key: {issued.api_key}")
    typer.echo(f" scopes: {' '.join(issued.key.scopes)}")
    typer.echo(f"expires: {row['expires_at'] or 'never'}")
    typer.echo("Keep it now: it cannot be shown again.")


@key_app.command("list")
def key_list(
    tenant: Annotated[str, typer.Argument(help="Tenant id, domain id or name.")],
    as_json: JsonFlag = False,
) -> None:
    """List a tenant's API keys (ids only; secrets are never stored)."""

    async def work(container: Container) -> list[ApiKey]:
        owner = await tenants.find_tenant(container.ctx, tenant)
        return await tenants.list_keys(container.ctx, tenant_id=owner.id)

    keys = run_with_vault(work)
    rows = [_key_row(k) for k in keys]
    if as_json:
        typer.echo(json.dumps(rows))
        return
    for key, row in zip(keys, rows, strict=True):
        scopes = ",".join(key.scopes)
        expiry = f"expires {row['expires_at']}" if key.expires_at else "no expiry"
        typer.echo(f"{key.key_id}  {_key_state(key):<8} {scopes}  {expiry}  {key.name}")


@key_app.command("revoke")
def key_revoke(
    key_id: Annotated[str, typer.Argument(help="The key id (kvk_…).")],
    as_json: JsonFlag = False,
) -> None:
    """Revoke a key; it fails on its very next request."""

    async def work(container: Container) -> ApiKey:
        return await tenants.revoke_key(container.ctx, key_id=key_id)

    row = _key_row(run_with_vault(work))
    typer.echo(json.dumps(row) if as_json else f"revoked {row['key_id']}")
