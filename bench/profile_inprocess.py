"""Server CPU of one route, in process: the application (middleware, FastAPI, services, the
database) built as ``kycvault serve`` builds it, its lifespan entered, and driven through
httpx's ASGI transport in a loop; ``time.process_time()`` (every thread) per request. No
network and no uvicorn: the least noisy A/B of a change on a shared machine (bench/PROFILE.md).

    python bench/profile_inprocess.py DATA_DIR page|upload|get [REQUESTS]

DATA_DIR is an embedded vault with its ``first-tenant.json`` (a ``kycvault serve`` data dir,
copied: uploads add documents to it). Prints five runs of REQUESTS / 5 requests and their
median; with ``YAPPI=FILE`` (``pip install yappi``) also saves 100 more requests' profile.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path


async def _main(data: Path, what: str, count: int) -> None:
    os.environ.update(
        KYCVAULT_DATA_DIR=str(data),
        KYCVAULT_IN_PROCESS_WORKER="false",
        KYCVAULT_LOG_LEVEL=os.environ.get("LOGLEVEL", "WARNING"),
    )
    import httpx2

    from kycvault.cli.asgi import build_app
    from kycvault.config import Settings

    app = build_app(Settings())
    credentials = json.loads((data / "first-tenant.json").read_text())
    headers = {"Authorization": f"Bearer {credentials['api_key']}"}
    body = b"%PDF-1.7\n" + os.urandom(200 * 1024 - 9)
    transport = httpx2.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx2.AsyncClient(
            transport=transport, base_url="http://kycvault", headers=headers
        ) as client,
    ):
        listed = (await client.get("/v1/documents?limit=1")).json()["data"]
        document = listed[0]["id"] if listed else None

        async def one() -> None:
            if what == "page":
                answer = await client.get("/v1/documents?limit=50")
            elif what == "upload":
                answer = await client.post(
                    "/v1/documents",
                    data={"type": "bank_statement"},
                    files={"file": ("s.pdf", body, "application/pdf")},
                )
            else:
                answer = await client.get(f"/v1/documents/{document}")
            answer.raise_for_status()

        for _ in range(20):  # warm: statement caches, key derivations
            await one()
        runs = []
        for _ in range(5):
            started = time.process_time()
            for _ in range(count // 5):
                await one()
            runs.append((time.process_time() - started) / (count // 5) * 1000)
        if profile := os.environ.get("YAPPI"):
            import yappi  # type: ignore[import-not-found,import-untyped,unused-ignore]

            yappi.set_clock_type("cpu")
            yappi.start()
            for _ in range(100):
                await one()
            yappi.stop()
            yappi.get_func_stats().save(profile, type="pstat")
    figures = " ".join(f"{ms:.2f}" for ms in runs)
    print(f"{what}: {figures} ms a request, median {statistics.median(runs):.2f}")


if __name__ == "__main__":
    asyncio.run(
        _main(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 300)
    )
