"""The forking process of ``zygote.py``: imports the ``kycvault`` command and the ASGI
application, then reads one JSON request a line from stdin — ``{"args", "env", "cwd", "log"}``
(and ``"err"`` for stderr apart) forks a ``kycvault`` command, ``{"signal", "pid"}`` signals
one of its children — and reports on stdout ``started PID`` and, when a child ends,
``ended PID RETURNCODE`` (``-N`` for signal N, as ``subprocess`` has it). It stays
single-threaded, so that a fork copies no lock held by another thread. It ends when stdin
closes."""

from __future__ import annotations

import importlib
import json
import os
import select
import sys
import tempfile
import traceback
from typing import Any

import kycvault.cli
import kycvault.cli.asgi  # uvicorn's import of the application finds it loaded
from kycvault.adapters.s3_object_lock import botocore_session

# What a server imports only once it runs (its PostgreSQL driver, uvicorn's protocol, loop and
# websocket modules, the S3 store, the sandbox, the CLI's error printer): imported here once,
# not again in each of the hundreds of servers the suite forks. None of them starts a thread.
for _name in (
    "anyio._backends._asyncio",
    "httpcore2",
    "kycvault.adapters.blobstore_s3",
    "kycvault.api.protocol",
    "kycvault.services.fsck",
    "landlockpy",
    "psycopg",
    "sqlite3",
    "typer.rich_utils",
    "uvicorn.loops.uvloop",
    "uvicorn.protocols.websockets.auto",
):
    importlib.import_module(_name)
# And S3's service description and endpoint rules, which each server's Object Lock client would
# load again (a client made here with its own credentials leaves the session's chain unread).
botocore_session().create_client(
    "s3", region_name="us-east-1", aws_access_key_id="-", aws_secret_access_key="-"
)


def _run_server(request: dict[str, Any]) -> int:
    """In the child: become the process ``kycvault <args>`` would be, and run it."""
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    tempfile.tempdir = None  # taken from TMPDIR again, the server's own
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    for fd, path in ((1, request["log"]), (2, request.get("err", request["log"]))):
        out = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.dup2(out, fd)
        os.close(out)
    sys.argv = ["kycvault", *request["args"]]
    try:
        kycvault.cli.main()
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        traceback.print_exc()
        return 1
    return 0


def _reap(children: set[int]) -> None:
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        children.discard(pid)
        print(f"ended {pid} {os.waitstatus_to_exitcode(status)}", flush=True)


def main() -> None:
    children: set[int] = set()
    pending = b""
    while True:
        ready, _, _ = select.select([0], [], [], 0.05)
        _reap(children)
        if not ready:
            continue
        chunk = os.read(0, 65536)
        if not chunk:
            return
        *lines, pending = (pending + chunk).split(b"\n")
        for line in lines:
            _handle(json.loads(line), children)


def _handle(request: dict[str, Any], children: set[int]) -> None:
    if "signal" in request:
        if request["pid"] in children:
            os.kill(request["pid"], request["signal"])
        return
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            code = _run_server(request)
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    children.add(pid)
    print(f"started {pid}", flush=True)


if __name__ == "__main__":
    main()
