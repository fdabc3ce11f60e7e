"""A process that has imported the ``kycvault`` command once and forks a child per command.

A ``kycvault`` process spends most of its start (~1.3 s of CPU) importing; the suite starts
hundreds of servers and commands, and a crash test restarts its server after every kill, so
those imports would dominate its CPU. The "zygote" (``server_zygote.py``) imports the command
and the ASGI application once and forks a child per start: the child sets the environment and
directory it is given, sends its output to the given log and runs ``kycvault <args>`` as the
command line would, so everything from reading the settings on (schema check, master key,
sweeps, the application, uvicorn) runs for real in a process of its own, which a test may
kill with SIGKILL. The zygote reports each child's end (its exit status or the signal that
killed it). ``Server`` (``helpers.py``) starts its processes here unless it is made with
``exec=True``, for what only an exec'd process shows (its environment in /proc, its command
line).
"""

from __future__ import annotations

import atexit
import json
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import IO, cast

ZYGOTE = Path(__file__).with_name("server_zygote.py")


class Forked:
    """The part of ``subprocess.Popen``'s interface a ``Server`` uses, for a process the
    zygote forked (its parent is the zygote, so the zygote reports how it ended)."""

    def __init__(self, zygote: Zygote, pid: int) -> None:
        self.zygote, self.pid = zygote, pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        return self.returncode  # set by the zygote's reader when the child's end is reported

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
        self.started: list[Forked] = []
        # The children still running, by pid: a pid comes round again (pids wrap at 32768
        # here, and a run starts tens of thousands of processes), so an ended child's report
        # goes to that child and is forgotten.
        self.running: dict[int, Forked] = {}
        self.gone = False  # the zygote's output ended: no more reports will come
        self.lock = threading.Lock()  # one fork request at a time
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            word, *numbers = line.split()
            with self.changed:
                if word == "started":
                    child = Forked(self, int(numbers[0]))
                    self.running[child.pid] = child
                    self.started.append(child)
                elif word == "ended":
                    ended = self.running.pop(int(numbers[0]), None)
                    if ended is not None:
                        ended.returncode = int(numbers[1])
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
            return self.started[before]

    def signal(self, pid: int, sig: int) -> None:
        self._send({"signal": sig, "pid": pid})

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=30)


@cache
def shared_zygote() -> Zygote:
    """This test process's zygote (each xdist worker has its own), started on first use."""
    zygote = Zygote()
    atexit.register(zygote.close)
    return zygote
