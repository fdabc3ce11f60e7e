"""L1-L2: listing a tenant of a million documents through a running server, at the SQL level
(the repository's statements on one connection, as the reference measured) and over HTTP
with one client, then with 16."""

from __future__ import annotations

import asyncio
import base64
import http.client
import random
import time
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from harness import Row, Server, api_processes, cpu_seconds, percentile, tree_cpu_seconds, wrk
from listing import Case, case_seek, cases, pick_positions
from seed import BulkWriter, Seeded, seed_tenant

from kycvault.adapters.crypto import AesGcmCipher
from kycvault.adapters.db.field_codec import FieldCodec
from kycvault.adapters.db.repositories.documents import SqlDocuments
from kycvault.bootstrap import build_container, open_vault
from kycvault.config import Settings
from kycvault.domain.listing import DocumentQuery, Sort
from kycvault.services.pagination import CursorCodec, Position


@dataclass
class Listing:
    label: str
    server: Server
    url: str  # SQLAlchemy URL of the server's database
    seeded: Seeded


def seed_server(label: str, server: Server, url: str, docs: int, others: int) -> Listing:
    """A million documents in the server's own first tenant (whose API key works), plus
    two other tenants, loaded in bulk."""
    tenant_id = uuid.UUID(server.extra["tenant_id"])
    key = base64.b64decode((server.extra["data_dir"] / "master.key").read_text())
    writer = BulkWriter(url, key)
    started = time.perf_counter()
    with writer.loading():
        seeded = seed_tenant(writer, name=f"{label}-main", count=docs, seed=1, tenant_id=tenant_id)
        for n in (2, 3):
            seed_tenant(writer, name=f"{label}-other{n}", number=1000 + n, count=others, seed=n)
    writer.close()
    print(f"  {label}: seeded in {time.perf_counter() - started:.0f} s", flush=True)
    return Listing(label, server, url, seeded)


def _positions(url: str, tenant_id: uuid.UUID, n: int) -> list[dict[str, Any]]:
    engine = sa.create_engine(url.replace("+aiosqlite", ""))
    with engine.connect() as conn:
        found = pick_positions(conn, tenant_id, n)
    engine.dispose()
    return found


def _params(query: DocumentQuery) -> dict[str, Any]:
    params: dict[str, Any] = {"limit": 50}
    for name in ("created_from", "created_to", "search", "expires_before", "expires_after"):
        value = getattr(query, name)
        if value is not None:
            params[name] = value.isoformat() if isinstance(value, date) else value
    if query.subject_id:
        params["subject_id"] = str(query.subject_id)
    if query.types:
        params["type"] = list(query.types)
    if query.classification:
        params["classification"] = query.classification.value
    if query.has_files is not None:
        params["has_files"] = "true" if query.has_files else "false"
    params["sort"] = query.sort.value
    return params


def _cursor_key(server: Server) -> bytes:
    """The server's cursor key, derived from its vault's root secret (read with its key file
    from its database)."""
    env = server.extra["env"]

    async def go() -> bytes:
        settings = Settings(
            data_dir=server.extra["data_dir"], database_url=env.get("KYCVAULT_DATABASE_URL")
        )
        container = build_container(settings, create_vault=False)
        try:
            await open_vault(container)
            return container.ctx.cipher.derive_secret("cursor")
        finally:
            await container.close()

    return asyncio.run(go())


class Requests:
    """Request paths for the cases, with cursors for deep pages minted as the server would
    (the bench reads the server's key file: it is a white-box benchmark)."""

    def __init__(self, listing: Listing, starts: list[dict[str, Any]]) -> None:
        self._codec = CursorCodec(_cursor_key(listing.server))
        self._tenant = listing.seeded.tenant_id
        self._starts = starts

    def path(self, case: Case, rng: random.Random) -> tuple[str, DocumentQuery]:
        query = case.query(rng)
        params = _params(query)
        if case.deep:
            start = rng.choice(self._starts)
            position = Position(start[query.sort.column], start["id"], False)
            params["cursor"] = self._codec.encode(
                tenant_id=self._tenant, scope=f"documents|{query.fingerprint()}", position=position
            )
        return "/v1/documents?" + urlencode(params, doseq=True), query


def l1(listing: Listing, iterations: int) -> tuple[list[Row], list[str]]:
    """SQL level and HTTP at one client, for every case; returns the rows and the request
    paths used (for L2)."""
    engine = sa.create_engine(listing.url.replace("+aiosqlite", ""))
    starts = _positions(listing.url, listing.seeded.tenant_id, 50)
    requests = Requests(listing, starts)
    host, port = listing.server.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    headers = {"Authorization": f"Bearer {listing.server.extra['api_key']}"}
    rng = random.Random(42)
    key = base64.b64decode((listing.server.extra["data_dir"] / "master.key").read_text())
    fields = FieldCodec(AesGcmCipher(key))
    sql_p95: dict[str, float] = {}
    http_p95: dict[str, float] = {}
    paths: list[str] = []
    # The SQL-level timings run in this process: the server's CPU is its HTTP requests'.
    cpu_before = cpu_seconds(listing.server.pid)
    for case in cases(listing.seeded):
        sql_times, http_times = [], []
        for _ in range(iterations):
            path, query = requests.path(case, rng)
            paths.append(path)
            seek = case_seek(case, query, rng, starts)
            with engine.connect() as sql:
                began = time.perf_counter()
                with sql.begin():
                    SqlDocuments(sql, fields).page(listing.seeded.tenant_id, query, seek)
                sql_times.append((time.perf_counter() - began) * 1000)
            began = time.perf_counter()
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            http_times.append((time.perf_counter() - began) * 1000)
            if response.status != 200:
                raise RuntimeError(f"{path} answered {response.status}")
        sql_p95[case.name] = percentile(sql_times, 0.95)
        http_p95[case.name] = percentile(http_times, 0.95)
    http_cpu = (cpu_seconds(listing.server.pid) - cpu_before) / max(len(paths), 1) * 1000
    conn.close()
    engine.dispose()
    worst_sql = max(sql_p95, key=lambda k: sql_p95[k])
    worst_http = max(http_p95, key=lambda k: http_p95[k])
    depth = [
        http_p95[f"deep keyset page, sort {s.value}"] / http_p95[f"tenant only, sort {s.value}"]
        for s in Sort
    ]
    label = listing.label
    rows = [
        Row(f"L1 {label}", f"page of 50 of 1 M, {len(sql_p95)} filter/sort cases, SQL level, worst p95",
            f"{sql_p95[worst_sql]:.1f} ms ({worst_sql}); median case {percentile(list(sql_p95.values()), 0.5):.1f} ms",
            "p95 <= 5 ms", sql_p95[worst_sql] <= 5),
        Row(f"L1 {label}", "same over HTTP, one client, worst p95",
            f"{http_p95[worst_http]:.1f} ms ({worst_http}); median case {percentile(list(http_p95.values()), 0.5):.1f} ms; "
            f"server CPU {http_cpu:.2f} ms a request",
            "p95 <= 10 ms", http_p95[worst_http] <= 10),
        Row(f"L1 {label}", "deep keyset page / first page, p95 over HTTP, worst sort",
            f"{max(depth):.2f}x", "<= 2x", max(depth) <= 2),
    ]  # fmt: skip
    return rows, paths


def l2(
    listing: Listing,
    paths: list[str],
    seconds: float,
    workdir: Path,
    *,
    server: Server | None = None,
) -> Row:
    """The pages of L1, 16 clients at once; on ``server`` (the same data served by more API
    processes) when given, its CPU counted over every process."""
    served = server or listing.server
    list_file = workdir / f"paths-{listing.label}.txt"
    list_file.write_text("\n".join(paths))
    env = {
        "BENCH_KEY": listing.server.extra["api_key"],
        "BENCH_PATHS": str(list_file),
        "BENCH_WORKDIR": str(workdir),
    }
    if server is not None:
        wrk(served.url, "get.lua", env, seconds=2, connections=16)  # warm every process
    began = tree_cpu_seconds(served.pid)
    result = wrk(served.url, "get.lua", env, seconds=seconds, connections=16)
    cpu = (tree_cpu_seconds(served.pid) - began) / max(result.requests, 1) * 1000
    ok = result.rate >= 250 and result.p99_ms <= 200 and result.errors == 0
    if server is not None:
        ok = result.rate >= 500 and result.p99_ms <= 100 and result.errors == 0
    processes = api_processes(served.pid)
    return Row(
        f"L2{'w' if server else ''} {listing.label}",
        "the same pages, 16 concurrent clients"
        + (f", default API processes ({processes})" if server else ""),
        f"{result.rate:.0f} req/s, p99 {result.p99_ms:.0f} ms, {result.errors} errors; "
        f"server CPU {cpu:.2f} ms a request",
        ">= 500 req/s, p99 <= 100 ms" if server else ">= 250 req/s, p99 <= 200 ms",
        ok,
    )
