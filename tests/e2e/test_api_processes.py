"""End to end, ``kycvault serve`` with several API processes on the embedded default: every
process answers and writes (their SQLite writers queue on the writer lock, so none fails
with "database is locked" and the audit chain stays whole), exactly one of them runs the
job worker and the housekeeping (the holder of the data dir's election lock), when that one
is killed another takes the work over, and what each process remembers (a tenant's document
types, an API key) is dropped in all of them at once when another process changes it."""

from __future__ import annotations

import json
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psutil
import pytest

from kycvault.bootstrap.primary import LOCK_FILE
from tests.e2e.processing_support import settled
from tests.helpers import Server

pytestmark = [pytest.mark.slow, pytest.mark.server_process]

UPLOADS = 32


def _api_processes(server: Server) -> list[int]:
    children = psutil.Process(server.pid).children()
    return [c.pid for c in children if "spawn_main" in " ".join(c.cmdline())]


def _primary(server: Server) -> int | None:
    """The pid holding the election lock, from the kernel's table of locks."""
    inode = os.stat(server.data_dir / LOCK_FILE).st_ino
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        # "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF": pid, then major:minor:inode.
        if fields[1] == "FLOCK" and int(fields[5].rsplit(":", 1)[1]) == inode:
            return int(fields[4])
    return None


def _wait(condition: Any, what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := condition()):
        assert time.monotonic() < deadline, what
        time.sleep(0.2)
    return found


def _upload(server: Server, key: str, n: int) -> dict[str, Any]:
    with server.client(key) as client:
        made = client.post(
            "/v1/documents",
            data={"type": "bank_statement"},
            files={"file": (f"s{n}.txt", f"statement {n}\n".encode() * 40, "text/plain")},
        )
        assert made.status_code == 201, made.text
        body: dict[str, Any] = made.json()
        return body


def test_two_api_processes_write_together_and_one_of_them_works_the_queue(tmp_path: Path) -> None:
    server = Server(tmp_path, env_extra={"KYCVAULT_WORKERS": "2"}).start()
    try:
        tenant = server.create_tenant()
        key = tenant["api_key"]
        processes = _wait(
            lambda: len(_api_processes(server)) == 2 and _api_processes(server),
            "uvicorn did not start two API processes",
        )
        primary = _wait(lambda: _primary(server), "no process took the election lock")
        assert primary in processes

        with ThreadPoolExecutor(16) as pool:
            made = list(pool.map(lambda n: _upload(server, key, n), range(UPLOADS)))
        with server.client(key) as client:
            listed = client.get("/v1/documents", params={"limit": 100}).json()["data"]
            assert {d["id"] for d in made} <= {d["id"] for d in listed}
            # Processed by the one worker, inside the primary.
            assert settled(client, made[-1]["id"])["processing"]
        done = server.cli("audit", "verify", "--tenant", tenant["tenant_id"], "--json")
        assert json.loads(done.stdout)["intact"]

        # The primary dies: uvicorn starts a process in its place, and one of the two takes
        # the lock over, so uploads from now on are processed too.
        os.kill(primary, signal.SIGKILL)
        successor = _wait(
            lambda: (pid := _primary(server)) not in (None, primary) and pid,
            "no process took the work over",
        )
        assert psutil.pid_exists(successor)
        late = _upload(server, key, UPLOADS)
        with server.client(key) as client:
            assert settled(client, late["id"])["processing"]

        # A type added through one process is known to both at once (each remembered the
        # tenant's catalog from the uploads above).
        with server.client(key) as client:
            made_type = client.post("/v1/document-types", json={"label": "Board Resolution"})
            assert made_type.status_code == 201, made_type.text
        for n in range(10):
            with server.client(key) as client:
                typed = client.post(
                    "/v1/documents",
                    data={"type": made_type.json()["name"]},
                    files={"file": (f"r{n}.txt", b"resolved\n" * 40, "text/plain")},
                )
                assert typed.status_code == 201, typed.text

        # Both processes remember the key by now (many requests each, on new connections);
        # revoked from a third process, it fails on every request after.
        for _ in range(20):
            with server.client(key) as client:
                assert client.get("/v1/documents", params={"limit": 1}).status_code == 200
        server.cli("key", "revoke", tenant["key_id"])
        for _ in range(20):
            with server.client(key) as client:
                assert client.get("/v1/documents", params={"limit": 1}).status_code == 401
    finally:
        server.stop()
