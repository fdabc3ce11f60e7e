"""``kycvault worker``: a process that runs background jobs (the scaled-out shape runs a few
beside the API processes; the embedded server runs one inside itself)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from typing import Annotated

import typer

from kycvault.bootstrap import Container, start_tracing
from kycvault.cli.runtime import run_with_vault
from kycvault.services import expiry, metrics, retention_purge
from kycvault.services.workers import Worker


def worker(
    concurrency: Annotated[
        int, typer.Option(min=1, max=64, help="Jobs run at once in this process.")
    ] = 2,
    once: Annotated[
        bool, typer.Option(help="Run what is due now, then exit (for cron or tests).")
    ] = False,
    metrics_port: Annotated[
        int,
        typer.Option(
            min=0,
            max=65535,
            help="Serve this process's Prometheus metrics at /metrics on this port (0: not).",
        ),
    ] = 0,
    metrics_host: Annotated[
        str, typer.Option(help="The address the metrics are served on (0.0.0.0: every one).")
    ] = "127.0.0.1",
) -> None:
    """Run background jobs, the expiry scan and the retention purge until stopped (SIGTERM or
    Ctrl-C finish the jobs in hand)."""

    async def work(container: Container) -> None:
        stop_tracing = start_tracing(container.settings, "worker")
        stop_metrics = metrics.serve(metrics_host, metrics_port) if metrics_port else None
        try:
            await run_jobs(container)
        finally:
            if stop_metrics is not None:
                stop_metrics()
            stop_tracing()

    async def run_jobs(container: Container) -> None:
        workers = [Worker(container.ctx) for _ in range(concurrency)]
        if once:

            async def drain() -> None:
                while sum(await asyncio.gather(*(w.run_once() for w in workers))):
                    pass

            await drain()
            await expiry.scan(container.ctx)
            await retention_purge.scan(container.ctx)
            await drain()  # what the scans queued: the purge's re-keying (shredding)
            return
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        typer.echo(f"kycvault worker: {concurrency} at once, {workers[0].name.rsplit(':', 1)[0]}")
        sandbox = "; ".join(f"{k} {v}" for k, v in container.reader_sandbox.items() if v)
        typer.echo(f"  reader sandbox: {sandbox}")
        every = container.settings.expiry_scan_seconds
        scans = [asyncio.create_task(expiry.run_periodically(container.ctx, every_seconds=every))]
        if (every_purge := container.settings.retention_scan_seconds) > 0:
            purge = retention_purge.run_periodically(container.ctx, every_seconds=every_purge)
            scans.append(asyncio.create_task(purge))
        try:
            await asyncio.gather(*(w.run(stop) for w in workers))
        finally:
            for scanning in scans:
                scanning.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await scanning

    run_with_vault(work)
