"""Shared plumbing of the server-side commands: settings, a container, error reporting."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer

from kycvault.bootstrap import Container, StartupRefused, build_container, prepare_schema
from kycvault.config import Settings, load_settings
from kycvault.errors import KycVaultError
from kycvault.logs import configure
from kycvault.process import harden
from kycvault.services import tracing

T = TypeVar("T")


def run_with_vault(
    work: Callable[[Container], Awaitable[T]],
    *,
    creates_vault: bool = False,
    creates_key: bool = True,
    settings: Settings | None = None,
) -> T:
    """Build the container, bring the schema up to date, run ``work``, close everything.
    Only commands that ``creates_vault`` may make a new vault (and, on the embedded
    default, its master key unless not ``creates_key``); the others refuse where there is
    none, so a command run in the wrong directory makes nothing. Domain errors and refusals
    become a one-line message and exit code 1."""
    harden()  # this process will hold the master key
    settings = settings or load_settings()
    configure("WARNING", settings.log_format, context=tracing.log_context)

    async def _main() -> T:
        container = build_container(settings, create_vault=creates_vault, create_key=creates_key)
        try:
            await prepare_schema(container, upgrade=settings.migrate_on_start, create=creates_vault)
            return await work(container)
        finally:
            await container.close()

    try:
        return asyncio.run(_main())
    except KycVaultError as exc:
        typer.echo(f"error: {exc.detail} ({exc.code})", err=True)
        raise typer.Exit(1) from None
    except StartupRefused as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
