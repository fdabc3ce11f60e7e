"""``kycvault export`` and ``kycvault import``: a whole vault, rows and encrypted blobs, moved
between the embedded and the scaled-out shape (see services/transfer.py); and ``kycvault
verify-subject-export``, the check of a subject's access export (services/subject_export.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from kycvault.bootstrap import Container
from kycvault.cli.progress import bar
from kycvault.cli.runtime import run_with_vault
from kycvault.config import load_settings

if TYPE_CHECKING:
    from kycvault.services.context import AppContext
    from kycvault.services.transfer import TransferSummary

Directory = Annotated[Path, typer.Argument(help="Export directory.")]
Operation = Callable[..., Awaitable["TransferSummary"]]


def _run(
    operation: Operation, directory: Path, *, creates_vault: bool, verb: str
) -> tuple[str, str]:
    """What was moved, and the public id of the master key in use; the blobs' bytes on a
    progress bar as they go."""
    from kycvault.adapters.db import migrate
    from kycvault.services import transfer

    async def work(container: Container) -> tuple[str, str]:
        ctx: AppContext = container.ctx
        started = ctx.clock()
        with bar(verb) as advance:
            done = await operation(
                ctx, directory, revision=migrate.head_revision(), progress=advance
            )
        key_id = container.master_key.id if container.master_key else "?"
        return transfer.describe(done, started, ctx.clock()), key_id

    # An import may make the target vault, but never a master key: the export can only be
    # read under the key it was made with.
    return run_with_vault(work, creates_vault=creates_vault, creates_key=False)


def export(directory: Directory) -> None:
    """Write every row and blob of this vault (still encrypted) to a new directory."""
    from kycvault.services.transfer import export_vault

    summary, key_id = _run(export_vault, directory, creates_vault=False, verb="exporting")
    typer.echo(f"exported {summary} to {directory}")
    typer.echo(
        f"The export holds no master key: it imports only under this vault's key (id {key_id}), "
        "so back that key up too, apart from the export."
    )


def import_(directory: Directory) -> None:
    """Load an export into this vault, which must be empty; every blob and row file is
    checked against the export's digests. Run with the source's master key."""
    from kycvault.services.transfer import import_vault

    settings = load_settings()
    key_file = settings.resolved_master_key_file
    if not settings.master_key and not key_file.exists():
        typer.echo(
            "error: import needs the master key the export was made under: give it in "
            f"KYCVAULT_MASTER_KEY, or put the source's key file at {key_file.absolute()}",
            err=True,
        )
        raise typer.Exit(1)
    summary, _ = _run(import_vault, directory, creates_vault=True, verb="importing")
    typer.echo(f"imported {summary} from {directory}")


def verify_subject_export(
    path: Annotated[Path, typer.Argument(help="The zip GET /v1/subjects/{id}/export answered.")],
) -> None:
    """Check a subject's access export: the manifest's MAC under this vault's master key, and
    every entry's size and SHA-256 against the manifest. Exit 0 when it is whole, 1 naming
    the first entry that does not match."""
    from kycvault.domain.subject_archive import ArchiveCheck
    from kycvault.services import subject_export

    async def work(container: Container) -> ArchiveCheck:
        return await subject_export.verify(container.ctx, path)

    result = run_with_vault(work)
    if result.finding is not None:
        typer.echo(f"{path}: {result.finding.entry}: {result.finding.reason}", err=True)
        raise typer.Exit(1)
    typer.echo(
        f"{path}: intact: subject {result.subject_id}, {result.entries} entries match the "
        "signed manifest"
    )
