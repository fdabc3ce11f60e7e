"""The scaled-out shape as an operator runs it: two API processes and two worker processes
on one PostgreSQL and one S3 bucket, sharing nothing in memory. Uploads go through both API
processes at once; every document is listed once, downloads from either process, and has
its file checked by exactly one worker exactly once."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests import backends
from tests.backends import Backend
from tests.helpers import Server, worker_processes

# Enough that both workers, two jobs at a time each, contend for the queue.
UPLOADS = 60


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[list[Server], Backend]]:
    backends.require(backends.SCALED)
    store = Backend.create(backends.SCALED)
    shared = {
        "KYCVAULT_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
        "KYCVAULT_ALLOW_GENERATED_KEY": "false",
        "KYCVAULT_WORKER_POLL_SECONDS": "0.2",
    }
    apis: list[Server] = [
        Server(tmp_path / f"api{n}", env_extra=shared, backend=store) for n in (1, 2)
    ]
    try:
        for api in apis:
            api.start()
        with worker_processes(tmp_path, store, shared):
            yield apis, store
    finally:
        for api in apis:
            api.stop()
        store.drop()


def _upload(api: Server, key: str, n: int) -> dict[str, Any]:
    data = f"statement {n}\n".encode() * (50 + n)
    with api.client(key) as client:
        response = client.post(
            "/v1/documents",
            data={"type": "bank_statement"},
            files={"file": (f"s{n}.txt", data, "text/plain")},
        )
    assert response.status_code == 201, response.text
    doc: dict[str, Any] = response.json()
    assert doc["files"][0]["sha256"] == hashlib.sha256(data).hexdigest()
    return doc


def _database(store: Backend) -> str:
    return store.env["KYCVAULT_DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")


@pytest.mark.slow
def test_two_api_processes_and_two_workers(cluster: tuple[list[Server], Backend]) -> None:
    apis, store = cluster
    key = apis[0].create_tenant()["api_key"]
    with ThreadPoolExecutor(16) as pool:
        docs = list(pool.map(lambda n: _upload(apis[n % 2], key, n), range(UPLOADS)))

    # Listed once each, through the other process.
    listed: list[str] = []
    with apis[1].client(key) as client:
        cursor = None
        while True:
            params = {"limit": 100, **({"cursor": cursor} if cursor else {})}
            page = client.get("/v1/documents", params=params).json()
            listed += [d["id"] for d in page["data"]]
            cursor = page.get("next_cursor")
            if not cursor:
                break
    assert sorted(listed) == sorted(d["id"] for d in docs)

    # Every file downloads, whole, from either process.
    clients = [api.client(key) for api in apis]
    try:
        for n, doc in enumerate(docs):
            stored = doc["files"][0]
            url = f"/v1/documents/{doc['id']}/files/{stored['id']}/content"
            body = clients[(n + 1) % 2].get(url)
            assert body.status_code == 200
            assert hashlib.sha256(body.content).hexdigest() == stored["sha256"]
    finally:
        for client in clients:
            client.close()

    # Every file checked, and every document read, exactly once, by one of the two workers.
    with psycopg.connect(_database(store)) as conn:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            states: dict[str, int] = dict(
                conn.execute(
                    "SELECT kind || ' ' || state, count(*) FROM jobs GROUP BY 1"
                ).fetchall()
            )
            if states == {"file.verify done": UPLOADS, "document.process done": UPLOADS}:
                break
            time.sleep(0.25)
        assert states == {"file.verify done": UPLOADS, "document.process done": UPLOADS}
        verified = conn.execute(
            "SELECT target_id::text, count(*) FROM audit_events WHERE action = 'file.verified' "
            "GROUP BY target_id"
        ).fetchall()
        processed = conn.execute(
            "SELECT target_id::text, count(*) FROM audit_events "
            "WHERE action = 'document.processed' GROUP BY target_id"
        ).fetchall()
        workers = conn.execute("SELECT DISTINCT split_part(locked_by, ':', 2) FROM jobs").fetchall()
    assert sorted(target for target, _ in verified) == sorted(d["files"][0]["id"] for d in docs)
    assert {count for _, count in verified} == {1}
    assert sorted(target for target, _ in processed) == sorted(d["id"] for d in docs)
    assert {count for _, count in processed} == {1}
    assert len(workers) == 2  # both worker processes took part
    # Four processes wrote the tenant's trail at once: still one unbroken chain.
    verified_trail = json.loads(apis[1].cli("audit", "verify", "--json").stdout)
    assert verified_trail["intact"] and verified_trail["events"] > 4 * UPLOADS


def test_refuses_a_postgres_that_may_lose_commits(tmp_path: Path) -> None:
    backends.require(backends.SCALED)
    store = Backend.create(backends.SCALED)
    try:
        database = _database(store).rsplit("/", 1)[1]
        with psycopg.connect(backends.PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{database}" SET synchronous_commit = off')
        srv = Server(tmp_path, backend=store)
        refused = srv.cli("migrate", check=False)
        assert refused.returncode == 1
        assert "synchronous_commit is off" in refused.stderr
    finally:
        store.drop()
