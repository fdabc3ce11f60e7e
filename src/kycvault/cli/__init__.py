"""The ``kycvault`` command. Heavy imports happen inside the commands, so ``--help`` is quick."""

from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated

import typer

from kycvault.cli import (
    admin,
    audit,
    client,
    encryption_keys,
    fsck,
    keys,
    server,
    settings,
    transfer,
    users,
    webhooks,
    worker,
)
from kycvault.config import ConfigError

app = typer.Typer(
    name="kycvault",
    help="A self-hosted vault for KYC/KYB documents.",
    no_args_is_help=True,
    add_completion=False,
)


def _version() -> str:
    try:
        return version("kycvault")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"kycvault {_version()}")
        raise typer.Exit()


@app.callback()
def _options(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print the version and exit.", is_eager=True, callback=_print_version
        ),
    ] = False,
) -> None:
    """A self-hosted vault for KYC/KYB documents."""


app.command("serve")(server.serve)
app.command("migrate")(server.migrate)
app.command("init-key")(keys.init_key)
app.command("worker")(worker.worker)
app.command("export")(transfer.export)
app.command("import")(transfer.import_)
app.command("verify-subject-export")(transfer.verify_subject_export)
app.command("fsck")(fsck.fsck)
app.add_typer(admin.tenant_app, name="tenant")
app.add_typer(admin.key_app, name="key")
app.add_typer(users.user_app, name="user")
app.add_typer(settings.config_app, name="config")
app.add_typer(webhooks.webhooks_app, name="webhooks")
app.add_typer(webhooks.events_app, name="events")
app.add_typer(audit.audit_app, name="audit")
app.add_typer(encryption_keys.keys_app, name="keys")  # with keys.py's commands on it
app.command("upload")(client.upload)
app.command("ls")(client.list_documents)
app.command("get")(client.get)


def main() -> None:
    try:
        app()
    except ConfigError as exc:
        # Settings are read inside the commands: their problems end here, one line each
        # and no traceback, with the exit code of a usage error.
        typer.echo("kycvault: the settings cannot be used:", err=True)
        for problem in exc.problems:
            typer.echo(f"  {problem}", err=True)
        sys.exit(2)
