"""Servers forked from a process that has imported the server already.

A ``kycvault serve`` start spends most of its ~2 s importing; a crash test restarts its
server after every kill, so those imports would dominate its run. Here a long-lived
"zygote" process (``server_zygote.py``) imports the command and the ASGI application once
and forks a child per start: the child sets the environment and directory it is given, sends
its output to the server's log and runs ``kycvault serve`` as the command line would, so
everything from reading the settings on (schema check, master key, sweeps, the application,
uvicorn) runs for real in a process of its own, which the test kills with SIGKILL. The
zygote reports each child's end (its exit status or the signal that killed it).
"""

from __future__ import annotations

import atexit
import json
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from functools import cache
from pathlib import Path
from typing import IO, Any, cast

import httpx2

from tests.backends import Backend
from tests.helpers import Server

ZYGOTE = Path(__file__).with_name("server_zygote.py")


class Forked:
    """The part of ``subprocess.Popen``'s interface a ``Server`` uses, for a process the
    zygote forked (its parent is the zygote, so the zygote reports how it ended)."""

    def __init__(self, zygote: Zygote, pid: int) -> None:
        self.zygote, self.pid = zygote, pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        self.returncode = self.zygote.ended.get(self.pid)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        with self.zygote.changed:
            ended = self.zygote.changed.wait_for(
                lambda: self.poll() is not None or self.zygote.gone, timeout
            )
            if not ended:
                raise subprocess.TimeoutExpired(f"server {self.pid}", timeout or 0)
        if self.returncode is None:
            raise RuntimeError(f"the server zygote ended before its child {self.pid}")
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            self.zygote.signal(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class Zygote:
    """The forking process and a thread reading its reports (``started PID``,
    ``ended PID RETURNCODE`` with Popen's sign convention)."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(ZYGOTE)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self.changed = threading.Condition()
        self.started: list[int] = []
        self.ended: dict[int, int] = {}
        self.gone = False  # the zygote's output ended: no more reports will come
        self.lock = threading.Lock()  # one fork request at a time
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            word, *numbers = line.split()
            with self.changed:
                if word == "started":
                    self.started.append(int(numbers[0]))
                elif word == "ended":
                    self.ended[int(numbers[0])] = int(numbers[1])
                self.changed.notify_all()
        with self.changed:
            self.gone = True
            self.changed.notify_all()

    def _send(self, request: Mapping[str, object]) -> None:
        stdin = cast(IO[str], self.process.stdin)
        stdin.write(json.dumps(request) + "\n")
        stdin.flush()

    def fork(
        self, args: list[str], env: dict[str, str], cwd: Path, log: Path, err: Path | None = None
    ) -> Forked:
        """``kycvault *args`` in a child: stdout to ``log``, stderr too unless ``err``."""
        request = {"args": args, "env": env, "cwd": str(cwd), "log": str(log)}
        if err is not None:
            request["err"] = str(err)
        with self.lock, self.changed:
            before = len(self.started)
            self._send(request)
            if not self.changed.wait_for(lambda: len(self.started) > before, 60):
                raise RuntimeError("the server zygote did not fork")
            return Forked(self, self.started[before])

    def signal(self, pid: int, sig: int) -> None:
        self._send({"signal": sig, "pid": pid})

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=30)


class ForkedServer(Server):
    """A ``Server`` whose processes (the server and its CLI commands) the zygote forks."""

    zygote: Zygote

    def start(self) -> Server:
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        self.log = (self.root / "server.log").open("wb")
        forked = self.zygote.fork(
            ["serve", "--port", str(self.port), *self.serve_args],
            self.env(),
            self.root,
            self.root / "server.log",
        )
        self.process = cast("subprocess.Popen[bytes]", forked)
        deadline = time.monotonic() + 60
        while forked.poll() is None:
            try:
                if httpx2.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx2.TransportError:
                time.sleep(0.05)
            if time.monotonic() > deadline:
                break
        raise RuntimeError(f"forked server did not start: {self.output()}")

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        self.root.mkdir(parents=True, exist_ok=True)
        out, err = (self.root / f"cli-{uuid.uuid4().hex}.{name}" for name in ("out", "err"))
        code = self.zygote.fork(list(args), self.env(), self.root, out, err).wait(timeout=60)
        done = subprocess.CompletedProcess(
            ["kycvault", *args], code, out.read_text(), err.read_text()
        )
        if check:
            done.check_returncode()
        return done


def forked_server(root: Path, **fields: Any) -> ForkedServer:
    """A ``Server(root, **fields)`` forked by this test process's zygote, not started."""
    srv = ForkedServer(root, **fields)
    srv.zygote = shared_zygote()
    return srv


def forked_beside(server: Server, **env_extra: str) -> ForkedServer:
    """A forked twin of ``server`` (its directory, backend pair, settings plus ``env_extra``,
    and port), to run commands beside it: ``forked_beside(server).cli(...)``."""
    return forked_server(
        server.root,
        env_extra={**server.env_extra, **env_extra},
        backend=server.backend,
        port=server.port,
    )


@contextmanager
def forked_on(root: Path, backend: str, **env_extra: str) -> Iterator[Server]:
    """As ``tests.helpers.server_on`` (a started server on a backend pair of its own), forked
    by this test process's zygote."""
    with ExitStack() as cleanup:
        store = Backend.create(backend)
        cleanup.callback(store.drop)
        srv = forked_server(root, env_extra=dict(env_extra), backend=store)
        cleanup.callback(srv.stop)
        yield srv.start()


@contextmanager
def forked_workers(
    root: Path, backend: Backend, env_extra: dict[str, str], count: int = 2
) -> Iterator[list[Forked]]:
    """``count`` ``kycvault worker`` processes (2 jobs at once each) on ``backend``, forked
    by the zygote, each in a directory of its own under ``root``; stopped (SIGTERM, then
    SIGKILL after 15 s) when the block ends."""
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


@cache
def shared_zygote() -> Zygote:
    """This test process's zygote (each xdist worker has its own), started on first use."""
    zygote = Zygote()
    atexit.register(zygote.close)
    return zygote
