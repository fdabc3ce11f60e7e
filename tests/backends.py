"""The backend pairs the suite runs on: the embedded default (SQLite + local disk) always, and
the scaled-out shape (PostgreSQL + S3) when its services are reachable.

A server on PostgreSQL gets a database of its own, dropped when it stops; on S3 a bucket
of its own on the session's moto server. ``KYCVAULT_REQUIRE_ALL=1`` turns "not reachable"
from a skip into a failure, so CI cannot pass on the embedded pair alone.
"""

from __future__ import annotations

import atexit
import base64
import os
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import httpx2
import pytest

PG_HOST = os.environ.get("KYCVAULT_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("KYCVAULT_TEST_PG_PORT", "5432"))
PG_ADMIN_DSN = f"host={PG_HOST} port={PG_PORT} user=postgres dbname=test connect_timeout=3"

MOTO_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": "us-east-1",
}

EMBEDDED = "embedded"
SCALED = "postgres-s3"
ALL = (EMBEDDED, SCALED)


def require_all() -> bool:
    return os.environ.get("KYCVAULT_REQUIRE_ALL", "") == "1"


@cache
def postgres_unavailable() -> str | None:
    """Why PostgreSQL cannot be used (None when it can)."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed"
    try:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"PostgreSQL at {PG_HOST}:{PG_PORT} not reachable ({type(exc).__name__})"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@cache
def moto_endpoint() -> str:
    """moto's standalone S3 server on loopback, one for the test session."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.moto_s3", str(port)],
        cwd=Path(__file__).resolve().parent.parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    atexit.register(process.terminate)
    # Containers built inside the test process (tenants made through the service layer)
    # read the credentials from the environment, as the servers do.
    for name, value in MOTO_CREDENTIALS.items():
        os.environ.setdefault(name, value)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("moto_server exited")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return endpoint
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("moto_server did not start")


@cache
def s3_unavailable() -> str | None:
    try:
        import moto  # noqa: F401
    except ImportError:
        return "moto is not installed"
    try:
        moto_endpoint()
    except (OSError, RuntimeError) as exc:
        return f"moto_server could not start ({exc})"
    return None


def unavailable(name: str) -> str | None:
    if name != SCALED:
        return None
    return postgres_unavailable() or s3_unavailable()


def require(name: str) -> None:
    """Skip the calling test when the backend pair is not reachable (fail under
    ``KYCVAULT_REQUIRE_ALL=1``)."""
    reason = unavailable(name)
    if reason is None:
        return
    if require_all():
        pytest.fail(f"{name} backend required (KYCVAULT_REQUIRE_ALL=1): {reason}")
    pytest.skip(f"{name} backend: {reason}")


@dataclass
class Backend:
    """Where one server keeps its rows and blobs; ``env`` holds the settings that say so."""

    name: str
    env: dict[str, str] = field(default_factory=dict)
    _database: str | None = None

    @classmethod
    def create(cls, name: str) -> Backend:
        if name == EMBEDDED:
            return cls(name)
        import psycopg

        name_part = uuid.uuid4().hex[:16]
        database = f"kv_test_{name_part}"
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{database}"')
        endpoint = moto_endpoint()
        bucket = f"kv-test-{name_part}"
        httpx2.put(f"{endpoint}/{bucket}", timeout=10).raise_for_status()
        env = {
            "KYCVAULT_DATABASE_URL": f"postgresql+psycopg://postgres@{PG_HOST}:{PG_PORT}/{database}",
            "KYCVAULT_STORAGE_URL": f"s3://{bucket}/vault?endpoint={endpoint}&region=us-east-1",
            # This shape never makes a key by itself: it is given one, as from a secret store.
            "KYCVAULT_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
            **MOTO_CREDENTIALS,
        }
        return cls(name, env, database)

    def drop(self) -> None:
        if self._database is None:
            return
        import psycopg

        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self._database}" WITH (FORCE)')
        self._database = None
