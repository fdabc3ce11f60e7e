"""``kycvault keys``: the vault's encryption keys (``kycvault key`` is for API keys)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from kycvault.bootstrap import Container
from kycvault.cli.runtime import run_with_vault

keys_app = typer.Typer(help="Encryption keys: rotation.", no_args_is_help=True)


@keys_app.command("rotate")
def rotate(
    tenant: Annotated[str, typer.Argument(help="The tenant (id, number or name).")],
    resume: Annotated[
        bool,
        typer.Option(
            "--resume", help="Make no new key: finish re-wrapping what older keys still wrap."
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="The result as JSON.")] = False,
) -> None:
    """Give the tenant a new key and re-wrap every key under its older ones, online (no file
    is rewritten). Exit 0 when nothing is left under an older key, 1 otherwise (run it
    again with --resume)."""
    from kycvault.services import key_rotation, tenants

    async def work(container: Container) -> key_rotation.Rotation:
        found = await tenants.find_tenant(container.ctx, tenant)
        return await key_rotation.rotate_tenant_key(container.ctx, found.id, resume=resume)

    done = run_with_vault(work)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "tenant_id": str(done.tenant_id),
                    "key_id": str(done.key_id),
                    "subject_keys": done.subject_keys,
                    "files": done.files,
                    "remaining": done.remaining,
                }
            )
        )
    else:
        typer.echo(
            f"tenant key {done.key_id} is current; re-wrapped {done.subject_keys} subject "
            f"keys and {done.files} files; {done.remaining} left under older keys"
        )
    raise typer.Exit(0 if done.remaining == 0 else 1)
