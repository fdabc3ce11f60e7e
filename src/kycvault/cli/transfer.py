"""``kycvault export`` and ``kycvault import``: a whole vault, rows and encrypted blobs, moved
between the embedded and the scaled-out shape (see services/transfer.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from kycvault.bootstrap import Container
from kycvault.cli.runtime import run_with_vault

if TYPE_CHECKING:
    from kycvault.services.context import Vault
    from kycvault.services.transfer import TransferSummary

Directory = Annotated[Path, typer.Argument(help="Export directory.")]
Operation = Callable[..., Awaitable["TransferSummary"]]


def _run(operation: Operation, directory: Path) -> str:
    from kycvault.adapters.db import migrate
    from kycvault.services import transfer

    async def work(container: Container) -> str:
        vault: Vault = container.vault
        started = vault.clock()
        done = await operation(vault, directory, revision=migrate.head_revision())
        return transfer.describe(done, started, vault.clock())

    return run_with_vault(work)


def export(directory: Directory) -> None:
    """Write every row and blob of this vault (still encrypted) to a new directory."""
    from kycvault.services.transfer import export_vault

    typer.echo(f"exported {_run(export_vault, directory)} to {directory}")


def import_(directory: Directory) -> None:
    """Load an export into this vault, which must be empty; every blob and row file is
    checked against the export's digests. Run with the source's master key."""
    from kycvault.services.transfer import import_vault

    typer.echo(f"imported {_run(import_vault, directory)} from {directory}")
