"""``kycvault init-key``: the master key of a new vault, made on purpose. Only the embedded
default (SQLite + local disk) makes its key by itself; every other shape starts from this
command or from a key given in ``KYCVAULT_MASTER_KEY``.

``kycvault keys rotate-master`` and ``kycvault keys status``: moving the vault to a new master
key (``services/vault_keys.py``), and how many rows each master key wraps."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from kycvault.adapters.master_keys import FileKeyProvider
from kycvault.bootstrap import Container, create_master_key_file
from kycvault.cli.encryption_keys import keys_app
from kycvault.cli.runtime import run_with_vault
from kycvault.config import load_settings
from kycvault.ports.master_key import MasterKeyUnavailable
from kycvault.process import harden


def init_key(
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            help="Where to write it (default: KYCVAULT_MASTER_KEY_FILE, else master.key in "
            "the data directory).",
        ),
    ] = None,
) -> None:
    """Create a new master key file (mode 0600) for a new vault; never replaces one."""
    harden()
    settings = load_settings()
    path = (file or settings.resolved_master_key_file).absolute()
    try:
        key_id = create_master_key_file(path)
    except FileExistsError:
        typer.echo(f"error: {path} already exists; a key file is never replaced", err=True)
        raise typer.Exit(1) from None
    except OSError as exc:
        typer.echo(f"error: cannot create {path}: {exc.strerror}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"created {path} (master key id {key_id})")
    typer.echo("Back it up apart from the data: without it nothing stored can be read.")
    if file is not None and path != settings.resolved_master_key_file.absolute():
        typer.echo(f"Point kycvault at it with KYCVAULT_MASTER_KEY_FILE={path}")
    if settings.master_key:
        typer.echo("Note: KYCVAULT_MASTER_KEY is set, and is used instead of any key file.")


@keys_app.command("rotate-master")
def rotate_master(
    new_key_file: Annotated[
        Path | None,
        typer.Option(
            "--new-key-file",
            help="The key to move to (default: the configured master key, with the old one "
            "in KYCVAULT_PREVIOUS_MASTER_KEY_FILES).",
        ),
    ] = None,
) -> None:
    """Re-wrap the vault's root secret and every tenant key under the new master key. Safe to
    run again (rows already under it are skipped) and while servers run, as long as every
    server has both keys configured until it is restarted on the new key alone."""
    from kycvault.adapters.crypto import master_key_id
    from kycvault.services import vault_keys

    settings = load_settings()
    target = None
    if new_key_file is not None:
        try:
            target = master_key_id(FileKeyProvider(new_key_file).load())
        except MasterKeyUnavailable as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
        extra = (*settings.previous_master_key_files, new_key_file)
        settings = settings.model_copy(update={"previous_master_key_files": extra})

    async def work(container: Container) -> vault_keys.Rotation:
        return await vault_keys.rotate_master(container.ctx, target)

    done = run_with_vault(work, creates_key=False, settings=settings)
    typer.echo(
        f"re-wrapped {done.vault_keys} vault keys and {done.tenant_keys} tenant keys under "
        f"master key {done.target}; every row is under it now"
    )


@keys_app.command("status")
def status(
    as_json: Annotated[bool, typer.Option("--json", help="The counts as JSON.")] = False,
) -> None:
    """How many rows (vault keys, tenant keys) each master key wraps, and which key is
    configured: after a rotation, every row should be under the configured one."""
    from kycvault.services import vault_keys

    async def work(container: Container) -> tuple[str, list[vault_keys.WrapCount]]:
        return container.ctx.cipher.master_key_id, await vault_keys.status(container.ctx)

    current, counts = run_with_vault(work, creates_key=False)
    if as_json:
        rows = [
            {"table": c.table, "master_key_id": c.master_key_id, "rows": c.rows} for c in counts
        ]
        typer.echo(json.dumps({"configured": current, "wrapped": rows}, indent=2))
        return
    typer.echo(f"configured master key: {current}")
    for count in counts:
        mark = "" if count.master_key_id == current else "  (not the configured key)"
        typer.echo(f"{count.table}: {count.rows} under {count.master_key_id}{mark}")
