"""A purge killed part way resumes at the next one: ``kycvault worker --once`` killed right
after a deletion committed (rows and receipt in, blobs not yet removed), or just before a
commit, leaves nothing half done that the next ``worker --once`` does not finish: every due
document goes once, with one receipt, and no purged document's blob stays in the store."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import pytest

from kycvault.services.context import AppContext
from tests.e2e.holds_support import passport
from tests.e2e.retention_support import exists, set_rule
from tests.e2e.uploads_support import tenant_blobs
from tests.helpers import Server, every_page, server_on

# The server never purges by itself: only the worker runs below do.
NO_SCAN = {"KYCVAULT_RETENTION_SCAN_SECONDS": "0"}


def _queued(server: Server) -> list[str]:
    async def work(ctx: AppContext) -> list[str]:
        async with ctx.store.read() as uow:
            return await uow.retention.pending_removals(100)

    return server.in_context(work)


def _worker_once(server: Server, crashpoint: str = "") -> int:
    done = server.twin(KYCVAULT_CRASHPOINT=crashpoint).cli("worker", "--once", check=False)
    return done.returncode


def _due_passports(server: Server, count: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    tenant = server.create_tenant()
    with server.client(tenant["api_key"]) as client:
        docs = [passport(client) for _ in range(count)]
        set_rule(client, "passport", "upload", "P0D")
    assert len(tenant_blobs(server, tenant)) == count
    return tenant, docs


@pytest.mark.parametrize("point", ["after_commit", "before_commit"])
def test_a_killed_purge_is_finished_by_the_next_worker_run(
    tmp_path: Path, backend: str, point: str
) -> None:
    with server_on(tmp_path, backend, **NO_SCAN) as server:
        tenant, docs = _due_passports(server, 3)
        code = _worker_once(server, f"retention.purge.{point}")
        assert code == -signal.SIGKILL, code

        with server.client(tenant["api_key"]) as client:
            left = [d for d in docs if exists(client, d["id"])]
            receipts = every_page(client, "/v1/deletion-receipts")
            if point == "after_commit":
                # The first deletion committed with its receipt; its blob was still there,
                # queued for removal. The batch's other documents were not reached.
                assert len(left) == 2 and len(receipts) == 1
                assert len(tenant_blobs(server, tenant)) == 3
                assert len(_queued(server)) == 1
            else:
                assert len(left) == 3 and receipts == []
                assert _queued(server) == []

            assert _worker_once(server) == 0
            assert not any(exists(client, d["id"]) for d in docs)
            receipts = every_page(client, "/v1/deletion-receipts")
            assert sorted(r["document_id"] for r in receipts) == sorted(d["id"] for d in docs)
        assert tenant_blobs(server, tenant) == set()
        assert _queued(server) == []


def test_worker_once_runs_a_purge(tmp_path: Path, backend: str) -> None:
    with server_on(tmp_path, backend, **NO_SCAN) as server:
        tenant, docs = _due_passports(server, 1)
        assert _worker_once(server) == 0
        with server.client(tenant["api_key"]) as client:
            assert not exists(client, docs[0]["id"])
            [receipt] = every_page(client, "/v1/deletion-receipts")
            assert receipt["document_id"] == docs[0]["id"]
        assert tenant_blobs(server, tenant) == set()
