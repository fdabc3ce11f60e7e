"""Test plumbing: a real ``kycvault serve`` process on loopback, tenants made through the
service layer against the same database, and streamed multipart bodies."""

from __future__ import annotations

import asyncio
import io
import os
import secrets
import socket
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Coroutine, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, TypeVar, cast

import httpx
import httpx2
from PIL import Image
from pydantic import SecretStr

from kycvault.bootstrap import build_container, open_vault
from kycvault.cli.admin import credentials
from kycvault.config import Settings
from kycvault.ports.persistence.records import AuditEvent, AuditFilter, Seek
from kycvault.services import tenants
from kycvault.services.context import AppContext
from tests.backends import EMBEDDED, Backend
from tests.stored_blobs import Storage
from tests.zygote import Forked, shared_zygote

MiB = 1024 * 1024
# Console passwords hashed with Argon2id at its smallest sensible cost in the tests (1 MiB, one
# pass): at the defaults (64 MiB, three passes: ~0.12 s of CPU a hash) the console's tests spent
# 40 s of CPU hashing. tests/unit/test_console_users.py checks the defaults themselves.
CHEAP_PASSWORDS = {
    "KYCVAULT_CONSOLE_PASSWORD_MEMORY_KIB": "1024",
    "KYCVAULT_CONSOLE_PASSWORD_PASSES": "1",
}
T = TypeVar("T")


def backend_settings(store: Backend, data_dir: Path, **extra: Any) -> Settings:
    """Settings for a container built in the test process on a backend pair made for it
    (with the master key the pair's servers get, where it brings one)."""
    key = store.env.get("KYCVAULT_MASTER_KEY")
    return Settings(
        data_dir=data_dir,
        database_url=store.env.get("KYCVAULT_DATABASE_URL"),
        storage_url=store.env.get("KYCVAULT_STORAGE_URL"),
        master_key=SecretStr(key) if key else None,
        **extra,
    )


@cache
def client_tls() -> ssl.SSLContext:
    """The TLS context every test client shares. httpx builds one per client unless given
    one, loading the CA bundle each time (about 20 ms of CPU, thousands of times a run),
    although the servers here speak plain HTTP on loopback."""
    return ssl.create_default_context()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A ``kycvault serve`` process with its own data and temp directories. Its processes (the
    server and its commands) are forked by this test process's zygote (``zygote.py``), or
    started by exec where ``exec`` is set."""

    root: Path
    env_extra: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    backend: Backend = field(default_factory=lambda: Backend(EMBEDDED))
    # More arguments for ``kycvault serve`` (e.g. ``--workers 2``).
    serve_args: tuple[str, ...] = ()
    # Started by exec, for what only such a process shows: its environment, its command line.
    exec: bool = False
    # Called with every answer its clients get (tests/spec_conformance.py).
    response_hooks: list[Callable[[httpx2.Response], None]] = field(default_factory=list)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def tmp_dir(self) -> Path:
        return self.root / "tmp"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KYCVAULT_")}
        env.update(
            KYCVAULT_DATA_DIR=str(self.data_dir),
            KYCVAULT_LOG_LEVEL="WARNING",
            # Every test talks to a shared server from 127.0.0.1, and many expect a 401: the
            # failed-authentication limit would turn those into 429s. Its own tests set it.
            KYCVAULT_AUTH_FAILURE_LIMIT="1000000",
            KYCVAULT_CONSOLE_LOGIN_FAILURE_LIMIT="1000000",
            # One API process, whose pid is the server's (tests kill it, read its memory and
            # its descriptors); the default of one a CPU is tested on its own.
            KYCVAULT_WORKERS="1",
            TMPDIR=str(self.tmp_dir),
            **CHEAP_PASSWORDS,
        )
        env.update(self.backend.env)
        env.update(self.env_extra)
        return env

    @property
    def storage(self) -> Storage:
        return Storage(self.data_dir, self.env().get("KYCVAULT_STORAGE_URL"))

    def settings(self) -> Settings:
        """The server's settings where a test builds a container of its own beside it."""
        env = self.env()
        key = env.get("KYCVAULT_MASTER_KEY")
        return Settings(
            data_dir=self.data_dir,
            database_url=env.get("KYCVAULT_DATABASE_URL"),
            storage_url=env.get("KYCVAULT_STORAGE_URL"),
            master_key=SecretStr(key) if key else None,
            allow_generated_key=False,
        )

    def start(self) -> Server:
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        command = ["serve", "--port", str(self.port), *self.serve_args]
        if self.exec:
            with (self.root / "server.log").open("wb") as log:
                self.process = subprocess.Popen(
                    [sys.executable, "-m", "kycvault", *command],
                    env=self.env(),
                    cwd=self.root,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
        else:
            (self.root / "server.log").write_bytes(b"")  # each start's log on its own
            forked = shared_zygote().fork(command, self.env(), self.root, self.root / "server.log")
            self.process = cast("subprocess.Popen[bytes]", forked)
        deadline = time.monotonic() + 60
        with httpx2.Client(timeout=1, verify=client_tls()) as probe:
            while self.process.poll() is None and time.monotonic() < deadline:
                try:
                    if probe.get(f"{self.url}/healthz").status_code == 200:
                        return self
                except httpx2.TransportError:
                    time.sleep(0.05)
        raise RuntimeError(f"server did not start: {self.output()}")

    def output(self) -> str:
        return (self.root / "server.log").read_text(errors="replace")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def cli(
        self, *args: str, check: bool = True, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """``kycvault *args`` on this server's settings; with ``stdin``, started by exec
        with that text on its standard input (the zygote's children read none)."""
        self.root.mkdir(parents=True, exist_ok=True)
        if self.exec or stdin is not None:
            return subprocess.run(
                [sys.executable, "-m", "kycvault", *args],
                env=self.env(),
                cwd=self.root,
                input=stdin,
                capture_output=True,
                text=True,
                check=check,
                timeout=60,
            )
        out, err = (self.root / f"cli-{uuid.uuid4().hex}.{name}" for name in ("out", "err"))
        code = shared_zygote().fork(list(args), self.env(), self.root, out, err).wait(timeout=60)
        done = subprocess.CompletedProcess(
            ["kycvault", *args], code, out.read_text(), err.read_text()
        )
        out.unlink()
        err.unlink()
        if check:
            done.check_returncode()
        return done

    def twin(self, **env_extra: str) -> Server:
        """A server on this one's directory, backend pair, port and settings plus
        ``env_extra``, not started: to run commands beside it (``server.twin(...).cli(...)``)."""
        return Server(
            self.root,
            env_extra={**self.env_extra, **env_extra},
            backend=self.backend,
            port=self.port,
        )

    def in_context(self, work: Callable[[AppContext], Coroutine[Any, Any, T]]) -> T:
        """``work`` run on the server's database and storage through the service layer: here
        with a container of the test's own (the server is another process)."""

        async def go() -> T:
            container = build_container(self.settings())
            try:
                await open_vault(container)
                return await work(container.ctx)
            finally:
                await container.close()

        return asyncio.run(go())

    def create_tenant(self, name: str | None = None) -> dict[str, Any]:
        """A tenant made through the service layer, on the server's own database."""
        settings = self.settings()

        async def go() -> dict[str, Any]:
            container = build_container(settings)
            try:
                await open_vault(container)
                new = await tenants.create_tenant(
                    container.ctx, name=name or f"tenant-{uuid.uuid4().hex[:10]}"
                )
            finally:
                await container.close()
            return credentials(new)

        return asyncio.run(go())

    def transport(self) -> httpx2.BaseTransport | None:
        """How clients reach the server (None: over the network, at ``url``)."""
        return None

    def httpx_transports(
        self,
    ) -> tuple[httpx.BaseTransport | None, httpx.AsyncBaseTransport | None]:
        """For clients of the ``httpx`` package (KYC Genie's SDK): sync, async."""
        return None, None

    def client(
        self, api_key: str | None, *, headers: dict[str, str] | None = None, **options: Any
    ) -> httpx2.Client:
        """A client of the server: with ``api_key`` as its bearer token, more ``headers``
        and any other ``httpx2.Client`` options."""
        sent = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        options.setdefault("timeout", 120)
        options.setdefault("verify", client_tls())
        if self.response_hooks:
            options.setdefault("event_hooks", {"response": list(self.response_hooks)})
        return httpx2.Client(
            base_url=self.url,
            headers={**sent, **(headers or {})},
            transport=self.transport(),
            **options,
        )


# What a server needs to read documents on either pair: its worker inside, polling often (the
# scaled-out shape would run ``kycvault worker`` processes instead).
WORKER_INSIDE = {"KYCVAULT_IN_PROCESS_WORKER": "true", "KYCVAULT_WORKER_POLL_SECONDS": "0.1"}


@contextmanager
def server_on(root: Path, backend: str, **env_extra: str) -> Iterator[Server]:
    """A started server on a backend pair of its own: a database and a bucket made for it and
    dropped when it stops."""
    store = Backend.create(backend)
    srv = Server(root, env_extra=dict(env_extra), backend=store)
    try:
        yield srv.start()
    finally:
        srv.stop()
        store.drop()


@contextmanager
def worker_processes(
    root: Path, backend: Backend, env_extra: dict[str, str], count: int = 2
) -> Iterator[list[Forked]]:
    """``count`` ``kycvault worker`` processes (2 jobs at once each) on ``backend``, each in a
    directory of its own under ``root``; stopped (SIGTERM, then SIGKILL after 15 s) when the
    block ends."""
    workers: list[Forked] = []
    try:
        for n in range(1, count + 1):
            home = root / f"worker{n}"
            home.mkdir()
            env = Server(home, env_extra=env_extra, backend=backend).env()
            command = ["worker", "--concurrency", "2"]
            workers.append(shared_zygote().fork(command, env, home, home / "worker.log"))
        yield workers
    finally:
        for process in workers:
            process.terminate()
        for process in workers:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


def every_page(client: httpx2.Client, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a cursor-paged list at ``path`` matching ``params``, page by page."""
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, "limit": 100, **({"cursor": cursor} if cursor else {})}
        response = client.get(path, params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        found += page["data"]
        if not page["has_more"]:
            return found
        cursor = page["next_cursor"]


async def audit_events(ctx: AppContext, tenant_id: uuid.UUID, **where: Any) -> list[AuditEvent]:
    """The tenant's audit events (newest first) matching ``AuditFilter(**where)``."""
    async with ctx.store.read() as uow:
        return await uow.audit.page(
            tenant_id, AuditFilter(**where), Seek(sort="-seq", limit=10_000)
        )


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (secrets.randbelow(255), 120, 200)).save(buffer, fmt)
    return buffer.getvalue()


PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@dataclass
class Part:
    name: str
    data: bytes | Iterable[bytes]
    filename: str | None = None
    content_type: str | None = None
    size: int | None = None


def multipart(
    parts: list[Part], boundary: str | None = None
) -> tuple[str, Iterator[bytes], int | None]:
    """(content type, streamed body, length or None when a part's size is unknown)."""
    boundary = boundary or f"kvtest{secrets.token_hex(12)}"
    total: int | None = 0

    def head(part: Part) -> bytes:
        disposition = f'form-data; name="{part.name}"'
        if part.filename is not None:
            disposition += f'; filename="{part.filename}"'
        lines = [f"--{boundary}", f"Content-Disposition: {disposition}"]
        if part.content_type:
            lines.append(f"Content-Type: {part.content_type}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")

    tail = f"--{boundary}--\r\n".encode()
    for part in parts:
        size = len(part.data) if isinstance(part.data, bytes) else part.size
        if size is None or total is None:
            total = None
        else:
            total += len(head(part)) + size + 2
    if total is not None:
        total += len(tail)

    def body() -> Iterator[bytes]:
        for part in parts:
            yield head(part)
            if isinstance(part.data, bytes):
                yield part.data
            else:
                yield from part.data
            yield b"\r\n"
        yield tail

    return f"multipart/form-data; boundary={boundary}", body(), total


def post_multipart(
    client: httpx2.Client, url: str, parts: list[Part], *, send_length: bool = True
) -> httpx2.Response:
    content_type, body, length = multipart(parts)
    headers = {"Content-Type": content_type}
    if send_length and length is not None:
        headers["Content-Length"] = str(length)
    return client.post(url, content=body, headers=headers)


def zeros(total: int, chunk: int = MiB) -> Iterator[bytes]:
    """``total`` bytes of a PDF-looking stream without holding them in memory."""
    header = b"%PDF-1.7\n"
    yield header
    left = total - len(header)
    block = b"\0" * chunk
    while left > 0:
        yield block[: min(chunk, left)]
        left -= chunk


def peak_rss_reset(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def rss_kib(pid: int, field_name: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1])
    raise KeyError(field_name)
