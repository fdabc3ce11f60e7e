"""F1: what each feature a small upload pays for costs it, so that later features are held
to a figure.

Over HTTP, on a server of its own (embedded default, no job worker, processing off so that
only what is measured differs), one keep-alive client sends ``count`` 200 KiB uploads one
after another in each of three ways, alternated in rounds, and the server's CPU per upload
is read from /proc: plain (the tenant has no webhook endpoint, no ``Idempotency-Key``), with
a fresh ``Idempotency-Key`` each (the claim and the stored answer), and from a tenant with
three webhook endpoints subscribed to every event (a delivery row each). The audit record
and the event, which every upload writes, cannot be turned off: they are timed after the
server has stopped, through the service layer on the same database, as what each adds to a
write transaction (the upload's own transaction, which happens anyway).
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from pathlib import Path

from harness import Row, Server, cpu_seconds, start_kycvault
from webhooks import Client, _multipart, _new_tenant, _quiet

from kycvault.bootstrap import build_container, open_vault
from kycvault.config import Settings
from kycvault.services import audit, events
from kycvault.services.context import Actor

FEATURE_ENV = {
    "KYCVAULT_IN_PROCESS_WORKER": "false",
    "KYCVAULT_SCRUB_CYCLE_DAYS": "0",
    "KYCVAULT_WEBHOOK_ALLOW_PRIVATE": "1",
    "KYCVAULT_WEBHOOK_ALLOWED_HTTP_HOSTS": "127.0.0.1",
}
ROUNDS = 3
HOOKS = 3


def _per_upload(kv: Server, client: Client, body: bytes, boundary: str, count: int,
                idempotent: bool) -> float:  # fmt: skip
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    began = cpu_seconds(kv.pid)
    for _ in range(count):
        if idempotent:
            headers["Idempotency-Key"] = uuid.uuid4().hex
        status, answer = client.send("POST", "/v1/documents", body, headers)
        if status != 201:
            raise RuntimeError(f"upload answered {status}: {answer[:200]!r}")
    return (cpu_seconds(kv.pid) - began) / count


async def _added_in_transaction(data_dir: Path, tenant_id: str, count: int) -> tuple[float, float]:
    """CPU an audit record, and an event, add to a write transaction (seconds each)."""
    container = build_container(Settings(data_dir=data_dir))
    await open_vault(container)
    ctx = container.ctx
    actor = Actor(tenant_id=uuid.UUID(tenant_id), key_id="kvk_0000000000000000")
    target = uuid.uuid4()
    snapshot = {"document_id": str(target), "type": "bank_statement", "files": 1}

    async def transactions(what: str) -> float:
        started = time.process_time()
        for _ in range(count):
            async with ctx.store.write() as uow:
                await uow.tenants.get(actor.tenant_id)
                if what == "audit":
                    await audit.record(
                        ctx, uow, actor, "document.created", target_type="document",
                        target_id=target, files=1,
                    )  # fmt: skip
                elif what == "event":
                    await events.record(ctx, uow, actor, events.DOCUMENT_CREATED, snapshot)
        return (time.process_time() - started) / count

    try:
        for what in ("audit", "event"):
            await transactions(what)  # warm: statement caches, key derivations
        bare, with_audit, with_event = [], [], []
        for _ in range(ROUNDS):
            bare.append(await transactions("none"))
            with_audit.append(await transactions("audit"))
            with_event.append(await transactions("event"))
        base = statistics.median(bare)
        return statistics.median(with_audit) - base, statistics.median(with_event) - base
    finally:
        await container.close()


def f1(workdir: Path, small: Path, count: int) -> Row:
    kv = start_kycvault(workdir, "features", FEATURE_ENV)
    try:
        plain = Client(kv, kv.extra["api_key"])
        hooked = Client(kv, _new_tenant(kv, "hooked"))
        for client in (plain, hooked):
            _quiet(client)
        for n in range(HOOKS):
            url = f"http://127.0.0.1:9/hook-{n}"  # never called: no worker delivers here
            hooked.json("POST", "/v1/webhook-endpoints", {"url": url, "events": ["*"]})
        body, boundary = _multipart(small.read_bytes())
        for client in (plain, hooked):  # warm
            _per_upload(kv, client, body, boundary, 5, idempotent=True)
        runs: dict[str, list[float]] = {"plain": [], "idempotency": [], "webhooks": []}
        for _ in range(ROUNDS):
            runs["plain"].append(_per_upload(kv, plain, body, boundary, count, False))
            runs["idempotency"].append(_per_upload(kv, plain, body, boundary, count, True))
            runs["webhooks"].append(_per_upload(kv, hooked, body, boundary, count, False))
    finally:
        kv.stop()
    audit_s, event_s = asyncio.run(
        _added_in_transaction(kv.extra["data_dir"], kv.extra["tenant_id"], max(count, 50))
    )
    base = statistics.median(runs["plain"])
    idem = statistics.median(runs["idempotency"]) - base
    hooks = statistics.median(runs["webhooks"]) - base

    def part(name: str, seconds: float) -> str:
        return f"{name} {seconds * 1e3:+.2f} ms ({seconds / base:+.0%})"

    return Row(
        "F1",
        f"server CPU of a {small.stat().st_size // 1024} KiB upload and what each feature adds "
        f"({count} uploads x {ROUNDS} rounds a way, one client)",
        f"upload {base * 1e3:.2f} ms; "
        + ", ".join(
            [
                part("audit record", audit_s),
                part("event", event_s),
                part("Idempotency-Key", idem),
                part(f"{HOOKS} webhook endpoints", hooks),
            ]
        ),
        "each <= 10 % of the upload",
        all(x / base <= 0.10 for x in (audit_s, event_s, idem, hooks)),
    )
