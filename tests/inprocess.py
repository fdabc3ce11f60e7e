"""The in-process tier: the application a ``kycvault serve`` process would run, built in the
test process with the same settings, its lifespan running on an event loop of its own in a
background thread, and clients that reach it through a transport rather than a socket.

An ``InProcessServer`` has the interface the route-level tests use of a ``Server``
(``client``, ``create_tenant``, ``settings``, ``storage``, ``data_dir``, ``url``, ``cli`` and
``output``), so a test runs on either unchanged. What needs a process (its memory, signals,
restarts, sockets, the protocol layer, clients that dial the URL themselves) stays on
``Server``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
import httpx2
from fastapi import FastAPI

from kycvault.bootstrap import Container, build_container, prepare_schema
from kycvault.cli.admin import credentials
from kycvault.cli.asgi import build_app
from kycvault.cli.server import _bootstrap as first_start
from kycvault.config import Settings
from kycvault.services import tenants
from kycvault.services.context import AppContext
from tests.asgi_bridge import ASGIBridge, HttpxAsyncBridge, HttpxBridge, LoopThread
from tests.helpers import Server, T

# Nothing listens here: requests go through the transport, and a client that dials the URL
# by itself is refused rather than reaching some other process's server.
UNREACHABLE_PORT = 9
# The loggers an API process writes to: the application's own, and where a failure that
# escapes it is reported.
SERVER_LOGGERS = ("kycvault", "uvicorn.error")


def settings_from_env(env: dict[str, str]) -> Settings:
    """The settings a ``kycvault serve`` process with environment ``env`` reads, and only
    those: validated from ``env`` alone, not from the test process's environment or a
    ``.env`` file."""
    given = {
        name.removeprefix("KYCVAULT_").lower(): value
        for name, value in env.items()
        if name.startswith("KYCVAULT_")
    }
    return Settings.model_validate(
        {name: value for name, value in given.items() if name in Settings.model_fields}
    )


class _ThreadLog(logging.Handler):
    """The server log: the records written on the server's own threads, formatted as the
    application's logging set-up formats them, appended to ``path``."""

    def __init__(self, path: Path, thread_prefix: str, formatter: logging.Formatter | None):
        super().__init__()
        self.thread_prefix = thread_prefix
        self.stream: IO[str] = path.open("a", encoding="utf-8")
        self.setFormatter(formatter)

    def emit(self, record: logging.LogRecord) -> None:
        if not (record.threadName or "").startswith(self.thread_prefix):
            return
        try:
            self.stream.write(self.format(record) + "\n")
            self.stream.flush()
        except Exception:
            self.handleError(record)

    def close(self) -> None:
        self.stream.close()
        super().close()


@dataclass
class InProcessServer(Server):
    """The application of a server with this root, backend pair and extra environment,
    served inside the test process."""

    port: int = UNREACHABLE_PORT
    runner: LoopThread | None = None
    app: FastAPI | None = None
    _container: Container | None = None
    _handlers: list[_ThreadLog] = field(default_factory=list)
    # Made here, used on the runner's loop only (asyncio binds them on first use).
    _ready_event: asyncio.Event = field(default_factory=asyncio.Event)
    _stop_event: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def pid(self) -> int:
        return os.getpid()

    def serving_settings(self) -> Settings:
        """What the server process would read from its environment (``--port`` included)."""
        return settings_from_env({**self.env(), "KYCVAULT_PORT": str(self.port)})

    def start(self) -> InProcessServer:
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        settings = self.serving_settings()
        runner = self.runner = LoopThread(f"kycvault-{self.backend.name}-{uuid.uuid4().hex[:6]}")
        # As ``kycvault serve`` does before it serves: make the vault (and, embedded, its
        # key) and the first tenant.
        self._container = build_container(settings, create_vault=True)
        runner.run(prepare_schema(self._container, upgrade=True, create=True))
        runner.run(first_start(self._container))
        self.app = build_app(settings, self._container)
        self._capture_log(runner.name)
        self._started = runner.submit(self._serve(self.app))
        runner.run(self._ready_event.wait(), timeout=60)
        if self._started.done():
            self._started.result()  # the lifespan failed: say why
        return self

    async def _serve(self, app: FastAPI) -> None:
        async with app.router.lifespan_context(app):
            self._ready_event.set()
            await self._stop_event.wait()

    def _capture_log(self, thread_prefix: str) -> None:
        formatter = next((h.formatter for h in logging.getLogger().handlers), None)
        handler = _ThreadLog(self.root / "server.log", thread_prefix, formatter)
        for name in SERVER_LOGGERS:
            logging.getLogger(name).addHandler(handler)
        self._handlers.append(handler)

    def stop(self) -> None:
        runner = self.runner
        if runner is None:
            return
        runner.call(self._stop_event.set)
        try:
            self._started.result(timeout=60)
        finally:
            if self._container is not None:
                runner.run(self._container.close(), timeout=60)
            runner.close()
            for handler in self._handlers:
                for name in SERVER_LOGGERS:
                    logging.getLogger(name).removeHandler(handler)
                handler.close()
            self.runner = None

    @property
    def ctx(self) -> AppContext:
        assert self.app is not None
        ctx: AppContext = self.app.state.ctx
        return ctx

    def in_context(self, work: Callable[[AppContext], Coroutine[Any, Any, T]]) -> T:
        """``work`` run in the running application's own context. Never a second container
        on this process's SQLite file: closing its connections would drop the locks the
        application's connections hold (POSIX locks are per process), and the next
        connection from another process would reset the live write-ahead log."""
        assert self.runner is not None
        return self.runner.run(work(self.ctx), timeout=60)

    def create_tenant(self, name: str | None = None) -> dict[str, Any]:
        """A tenant made through the service layer, in the running application's context."""
        assert self.runner is not None

        async def create() -> dict[str, Any]:
            new = await tenants.create_tenant(
                self.ctx, name=name or f"tenant-{uuid.uuid4().hex[:10]}"
            )
            made: dict[str, Any] = credentials(new)
            return made

        return self.runner.run(create(), timeout=60)

    def transport(self) -> httpx2.BaseTransport:
        assert self.runner is not None and self.app is not None
        return ASGIBridge(self.runner, self.app)

    def httpx_transports(self) -> tuple[httpx.BaseTransport, httpx.AsyncBaseTransport]:
        assert self.runner is not None and self.app is not None
        return HttpxBridge(self.runner, self.app), HttpxAsyncBridge(self.runner, self.app)
