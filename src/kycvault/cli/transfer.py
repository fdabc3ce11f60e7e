"""``kycvault export`` and ``kycvault import``: a whole vault, rows and encrypted blobs, moved
between the embedded and the scaled-out shape (see services/transfer.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kycvault.bootstrap import Container
from kycvault.cli.runtime import run_with_vault

Directory = Annotated[Path, typer.Argument(help="Export directory.")]


def export(directory: Directory) -> None:
    """Write every row and blob of this vault (still encrypted) to a new directory."""
    from kycvault.adapters.db import migrate
    from kycvault.services import transfer

    async def work(container: Container) -> str:
        started = container.vault.clock()
        done = await transfer.export_vault(
            container.vault, directory, revision=migrate.head_revision()
        )
        return transfer.describe(done, started, container.vault.clock())

    typer.echo(f"exported {run_with_vault(work)} to {directory}")


def import_(directory: Directory) -> None:
    """Load an export into this vault, which must be empty; every blob and row file is
    checked against the export's digests. Run with the source's master key."""
    from kycvault.adapters.db import migrate
    from kycvault.services import transfer

    async def work(container: Container) -> str:
        started = container.vault.clock()
        done = await transfer.import_vault(
            container.vault, directory, revision=migrate.head_revision()
        )
        return transfer.describe(done, started, container.vault.clock())

    typer.echo(f"imported {run_with_vault(work)} from {directory}")
