"""A stand-in for the reading process, for tests only: started by the reader's own launcher
(``sandbox.spawn``) with a confinement, it confines itself exactly as ``child.py`` does and
reports, as JSON on stdout, what it then sees and reaches. Its questions come as JSON on
stdin: ``{"open": [paths], "connect": port or null}``."""

from __future__ import annotations

import ctypes
import errno
import json
import os
import resource
import socket
import sys
from typing import Any

from kycvault.adapters.reading import sandbox, self_confine

_PR_GET_DUMPABLE = 3


def _outcome(exc: OSError | None) -> str:
    if exc is None:
        return "ok"
    return errno.errorcode.get(exc.errno or 0, str(exc.errno))


def _open(path: str) -> str:
    try:
        with open(path, "rb") as handle:
            handle.read(1)
    except OSError as exc:
        return _outcome(exc)
    return "ok"


def _connect(port: int) -> str:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
    except OSError as exc:
        return _outcome(exc)
    return "ok"


def _descriptors() -> list[int]:
    # /proc is out of the confined process's reach: every possible descriptor is tried.
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    found = []
    for fd in range(min(soft, 65536)):
        try:
            os.fstat(fd)
        except OSError:
            continue
        found.append(fd)
    return found


def main() -> int:
    confinement = sandbox.Confinement.from_argv(sys.argv)
    asks: dict[str, Any] = json.loads(sys.stdin.buffer.read())
    libc = ctypes.CDLL(None, use_errno=True)
    self_confine.confine(confinement)
    report = {
        "environ": dict(os.environ),
        "uid": os.getuid(),
        "euid": os.geteuid(),
        "gid": os.getgid(),
        "groups": os.getgroups(),
        "descriptors": _descriptors(),
        "core_limit": list(resource.getrlimit(resource.RLIMIT_CORE)),
        "dumpable": libc.prctl(_PR_GET_DUMPABLE, 0, 0, 0, 0),
        "opened": {path: _open(path) for path in asks.get("open", [])},
        "connect": _connect(int(asks["connect"])) if asks.get("connect") else None,
    }
    sys.stdout.write(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
