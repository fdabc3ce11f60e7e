"""A1: what the hash-chained audit write adds to a download and to an upload.

The server's own CPU per request is measured from /proc while one keep-alive client sends
``count`` requests one after another (200 KiB files). The audit write is then timed in this
process, through the service layer on the same database (after the server has stopped, so
that nothing else writes): for a download, the lookup and its record in one transaction of
the store's group commit (``audit.read_recorded``; one client, so a batch of one: the case
where grouping saves nothing), as the download path does it, against the lookup alone in a
read transaction (what a download without an audit trail would do); for an upload, the
record added to a write transaction that happens anyway (the upload's own). Each is a share
of the request's CPU. Downloads are measured twice: one client at a time (a batch of one),
and 16 at once (the server's CPU per download with 16 clients; in this process 16 reads at
once, whose records share transactions).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2
from harness import Row, Server, cpu_seconds

from kycvault.bootstrap import build_container, open_vault
from kycvault.config import Settings
from kycvault.ports.persistence.store import UnitOfWork
from kycvault.services import audit
from kycvault.services.context import Actor

AT_ONCE = 16  # the clients of the busy download figure


def _server_cpu_per_request(kv: Server, small: Path, count: int) -> tuple[float, float, float]:
    """Server CPU per upload, per download by one client, per download by ``AT_ONCE``."""
    headers = {"Authorization": f"Bearer {kv.extra['api_key']}"}
    data = small.read_bytes()
    with httpx2.Client(base_url=kv.url, headers=headers, timeout=60) as client:

        def upload() -> dict[str, str]:
            made = client.post(
                "/v1/documents",
                data={"type": "bank_statement"},
                files={"file": ("s.pdf", data, "application/pdf")},
            )
            made.raise_for_status()
            doc = made.json()
            return {"doc": doc["id"], "file": doc["files"][0]["id"]}

        upload()  # warm
        before = cpu_seconds(kv.pid)
        made = [upload() for _ in range(count)]
        per_upload = (cpu_seconds(kv.pid) - before) / count
        before = cpu_seconds(kv.pid)
        for ids in made:
            got = client.get(f"/v1/documents/{ids['doc']}/files/{ids['file']}/content")
            got.raise_for_status()
        per_download = (cpu_seconds(kv.pid) - before) / count

    def downloads(share: list[dict[str, str]]) -> None:
        with httpx2.Client(base_url=kv.url, headers=headers, timeout=60) as own:
            for ids in share:
                own.get(
                    f"/v1/documents/{ids['doc']}/files/{ids['file']}/content"
                ).raise_for_status()

    before = cpu_seconds(kv.pid)
    with ThreadPoolExecutor(AT_ONCE) as clients:
        list(clients.map(downloads, [made[n::AT_ONCE] for n in range(AT_ONCE)]))
    per_busy_download = (cpu_seconds(kv.pid) - before) / count
    return per_upload, per_download, per_busy_download


async def _audit_cpu(data_dir: Path, tenant_id: str, count: int) -> tuple[float, float, float]:
    """What the record adds to a download's lookup (one at a time, then ``AT_ONCE`` at
    once, when they share transactions), and to an upload's write transaction."""
    container = build_container(Settings(data_dir=data_dir))
    await open_vault(container)
    ctx = container.ctx
    actor = Actor(tenant_id=uuid.UUID(tenant_id), key_id="kvk_0000000000000000")
    target = uuid.uuid4()

    async def transactions(write: bool, with_record: bool) -> float:
        started = time.process_time()
        for _ in range(count):
            async with ctx.store.write() if write else ctx.store.read() as uow:
                await uow.tenants.get(actor.tenant_id)
                if with_record:
                    await audit.record(
                        ctx, uow, actor, "file.read", target_type="file", target_id=target
                    )
        return (time.process_time() - started) / count

    async def lookup(uow: UnitOfWork) -> None:
        await uow.tenants.get(actor.tenant_id)

    async def read_recorded() -> None:
        await audit.read_recorded(
            ctx, actor, lookup, "file.read", target_type="file",
            named=lambda _: {"target_id": target},
        )  # fmt: skip

    async def read_alone() -> None:
        async with ctx.store.read() as uow:
            await lookup(uow)

    async def reads(read: Callable[[], Awaitable[None]], at_once: int) -> float:
        started = time.process_time()
        for _ in range(count // at_once):
            await asyncio.gather(*(read() for _ in range(at_once)))
        return (time.process_time() - started) / (count // at_once * at_once)

    try:
        await transactions(True, True)  # warm: statement caches, the key's derivation
        await reads(read_recorded, 1)
        read_only = await reads(read_alone, 1)
        recorded = await reads(read_recorded, 1)
        busy_read_only = await reads(read_alone, AT_ONCE)
        busy_recorded = await reads(read_recorded, AT_ONCE)
        write_bare = await transactions(True, False)
        write_recorded = await transactions(True, True)
    finally:
        await container.close()
    return recorded - read_only, busy_recorded - busy_read_only, write_recorded - write_bare


def a1(kv: Server, small: Path, count: int) -> Row:
    per_upload, per_download, per_busy_download = _server_cpu_per_request(kv, small, count)
    kv.stop()  # the database is this process's alone from here
    on_download, on_busy_download, added = asyncio.run(
        _audit_cpu(kv.extra["data_dir"], kv.extra["tenant_id"], max(count, 50))
    )
    download_share = max(on_download, 0.0) / per_download
    busy_share = max(on_busy_download, 0.0) / per_busy_download
    upload_share = max(added, 0.0) / per_upload
    return Row(
        "A1",
        f"hash-chained audit write, share of the request's server CPU ({small.stat().st_size // 1024}"
        f" KiB, {count} requests)",
        f"download {download_share:.1%} ({on_download * 1e3:.2f} of {per_download * 1e3:.2f} ms), "
        f"{AT_ONCE} downloads at once {busy_share:.1%} ({on_busy_download * 1e3:.2f} of "
        f"{per_busy_download * 1e3:.2f} ms), "
        f"upload {upload_share:.1%} ({added * 1e3:.2f} of {per_upload * 1e3:.2f} ms)",
        "<= 10 % each",
        download_share <= 0.10 and upload_share <= 0.10,
    )
