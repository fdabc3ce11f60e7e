"""``kycvault serve`` and ``kycvault migrate``."""

from __future__ import annotations

import json
import os
import resource
from pathlib import Path
from typing import Annotated

import typer

from kycvault import __version__
from kycvault.bootstrap import Container, safe_url
from kycvault.cli.admin import credentials
from kycvault.cli.runtime import run_with_vault
from kycvault.config import load_settings
from kycvault.errors import AuthenticationFailed
from kycvault.services import tenants

FIRST_TENANT_FILE = "first-tenant.json"
# Descriptors besides client connections: database pool, blobs being written, the reader
# children's pipes, the listening socket.
DESCRIPTOR_HEADROOM = 256


async def _bootstrap(container: Container) -> dict[str, object] | None:
    """Credentials for the first tenant: made on the very first start and kept in the data
    dir (0600, beside the master key) so the quick start can show them again while the key
    is valid."""
    settings = container.settings
    path = Path(settings.data_dir) / FIRST_TENANT_FILE
    new = await tenants.ensure_first_tenant(container.ctx)
    if new is not None:
        created = credentials(new)
        # Never through a symlink planted in the data dir, and never readable by others.
        path.unlink(missing_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(created, handle, indent=2)
        return created
    if not path.exists():
        return None
    data: dict[str, object] = json.loads(path.read_text())
    try:
        await tenants.authenticate(
            container.ctx, key_id=str(data["key_id"]), secret=str(data["key_secret"])
        )
    except (AuthenticationFailed, KeyError):
        return None
    return data


def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000).")] = None,
    workers: Annotated[
        int | None,
        typer.Option(min=1, help="API processes (default: KYCVAULT_WORKERS, else one per CPU)."),
    ] = None,
) -> None:
    """Start the API server (embedded default: SQLite + local disk under ./kycvault-data)."""
    from kycvault.api.protocol import ProtocolLimits, protocol_class
    from kycvault.handover import run_uvicorn

    if host:
        os.environ["KYCVAULT_HOST"] = host
    if port:
        os.environ["KYCVAULT_PORT"] = str(port)
    if workers:
        os.environ["KYCVAULT_WORKERS"] = str(workers)
    settings = load_settings()
    key_file = settings.resolved_master_key_file
    had_key_file = key_file.exists()
    first = run_with_vault(_bootstrap, creates_vault=True)
    url = settings.resolved_public_url
    typer.echo(f"kycvault {__version__} serving at {url}  (API docs: {url}/docs)")
    typer.echo(f"  database: {safe_url(settings.resolved_database_url)}")
    typer.echo(f"  blobs:    {settings.resolved_storage_url}")
    typer.echo(f"  processes: {settings.api_processes}")
    if not had_key_file and key_file.exists():
        # Said plainly here as well as in the log: losing this file loses every document.
        typer.echo(
            f"  master key: {key_file} was just made. Back it up now, apart from the data: "
            "it decrypts every stored document (in production, supply KYCVAULT_MASTER_KEY "
            "from a secret store instead)."
        )
    if first:
        typer.echo(f"  tenant:   {first['name']} (domain_id {first['domain_id']})")
        typer.echo(f"  API key:  {first['api_key']}")
        typer.echo(
            f'  try:      curl -H "Authorization: Bearer {first["api_key"]}" {url}/v1/subjects'
        )
    # The schema is current now; the worker processes only check it.
    os.environ["KYCVAULT_MIGRATE_ON_START"] = "false"
    _allow_descriptors(settings.max_connections)
    run_uvicorn(
        "kycvault.cli.asgi:app_factory",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.api_processes,
        loop="uvloop",
        # httptools with the header, timeout and connection limits uvicorn lacks.
        http=protocol_class(ProtocolLimits.from_settings(settings)),
        timeout_keep_alive=settings.keepalive_timeout_seconds,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
        # uvicorn would otherwise take the client address from X-Forwarded-For whenever the
        # peer is 127.0.0.1 (FORWARDED_ALLOW_IPS): a local client could pose as anyone and
        # slip the failed-authentication limits. The app reads the header itself, trusting
        # only KYCVAULT_TRUSTED_PROXIES (api/client_address.py).
        proxy_headers=False,
    )


def _allow_descriptors(max_connections: int) -> None:
    """Raise the soft open-file limit towards the hard one so that the connection cap, not
    the descriptor limit, is what refuses connections (workers inherit it)."""
    wanted = max_connections + DESCRIPTOR_HEADROOM
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        limit = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))


def migrate() -> None:
    """Upgrade the database schema to the newest migration."""

    async def work(container: Container) -> None:
        return None

    os.environ["KYCVAULT_MIGRATE_ON_START"] = "true"
    run_with_vault(work, creates_vault=True)
    typer.echo("schema is up to date")
