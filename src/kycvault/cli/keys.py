"""``kycvault init-key``: the master key of a new vault, made on purpose. Only the embedded
default (SQLite + local disk) makes its key by itself; every other shape starts from this
command or from a key given in ``KYCVAULT_MASTER_KEY``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kycvault.bootstrap import create_master_key_file
from kycvault.config import Settings
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
    settings = Settings()
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
