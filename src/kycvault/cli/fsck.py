"""``kycvault fsck``: check the vault's rows against its blobs (see services/fsck.py)."""

from __future__ import annotations

import json
import sys
import time
from typing import Annotated

import typer

from kycvault.bootstrap import Container, sweep_grace
from kycvault.cli.runtime import run_with_vault


def fsck(
    repair: Annotated[
        bool, typer.Option(help="Remove unreferenced blobs and staging leftovers (only those).")
    ] = False,
    verify: Annotated[
        bool,
        typer.Option(help="Read every file in full (--no-verify: only existence and size)."),
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="The report as JSON.")] = False,
) -> None:
    """Check every stored file and look for leftovers. Exit 0 when clean, 1 with findings."""
    from kycvault.services import fsck as service

    shown = {"at": 0.0}

    def progress(files: int, size: int) -> None:
        now = time.monotonic()
        if sys.stderr.isatty() and now - shown["at"] > 1:
            shown["at"] = now
            print(f"\rchecked {files} files ({size / 1e6:.0f} MB)", end="", file=sys.stderr)

    async def work(container: Container) -> service.Report:
        grace = sweep_grace(container.settings)
        return await service.check(
            container.ctx, grace, verify=verify, repair=repair, progress=progress
        )

    report = run_with_vault(work)
    if sys.stderr.isatty() and shown["at"]:
        print(file=sys.stderr)
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
    else:
        for finding in report.findings:
            where = " ".join(f"{k}={v}" for k, v in finding.detail.items())
            note = " (removed)" if finding.repaired else ""
            typer.echo(f"{finding.kind}: {where}{note}")
        status = "clean" if report.clean else f"{len(report.findings)} finding(s)"
        typer.echo(
            f"{report.files_checked} files checked ({report.bytes_checked / 1e6:.1f} MB read), "
            f"{report.blobs_listed} blobs listed: {status}"
        )
    raise typer.Exit(0 if report.clean else 1)
