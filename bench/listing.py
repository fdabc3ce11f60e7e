"""Listing at scale: seed a tenant with a million documents (plus two smaller tenants) and
time a page of 50 for every filter and sort, at the repository (SQL) level, on SQLite or
PostgreSQL. Prints p50/p95/p99 per case and the query plan of each.

    python bench/listing.py --db sqlite            # 1,000,000 documents (about 2-4 minutes)
    python bench/listing.py --db postgres          # needs PostgreSQL on 127.0.0.1:5432
    python bench/listing.py --docs 20000 --iterations 20   # a quick look

Not a test: it never fails on timing.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TypedDict

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from seed import SPAN, START, WORDS, BulkWriter, Seeded, seed_tenant

from kycvault.adapters.crypto import AesGcmCipher
from kycvault.adapters.db import migrate
from kycvault.adapters.db.field_codec import FieldCodec
from kycvault.adapters.db.repositories.documents import SqlDocuments
from kycvault.adapters.db.store import SqlStore, create_database
from kycvault.adapters.db.tables import documents, subjects, tenants
from kycvault.domain.listing import DocumentQuery, Sort
from kycvault.domain.types import Classification
from kycvault.ports.persistence.records import Seek

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PG_DATABASE = "kycvault_bench_listing"
# Fixed, so that ``--reuse`` opens what an earlier run sealed.
MASTER_KEY = bytes(range(32))


class Window(TypedDict):
    created_from: date
    created_to: date


@dataclass
class Case:
    name: str
    query: Callable[[random.Random], DocumentQuery]
    deep: bool = False


def cases(seeded: Seeded) -> list[Case]:
    def window(rng: random.Random) -> tuple[date, date]:
        start = (START + SPAN * rng.random()).date()
        return start, start + timedelta(days=6)

    def window_query(days: tuple[date, date]) -> Window:
        return {"created_from": days[0], "created_to": days[1]}

    def one_name(rng: random.Random) -> str:
        return rng.choice(seeded.names)  # one match

    def name_tail(rng: random.Random) -> str:
        return rng.choice(seeded.names)[-9:]  # "arlie_527" also finds "arlie_5270"…: tens

    def sorted_by(sort: Sort) -> Callable[[random.Random], DocumentQuery]:
        return lambda r: DocumentQuery(sort=sort)

    found = [Case(f"tenant only, sort {s.value}", sorted_by(s)) for s in Sort]
    found += [Case(f"deep keyset page, sort {s.value}", sorted_by(s), deep=True) for s in Sort]
    found += [
        Case("subject", lambda r: DocumentQuery(subject_id=r.choice(seeded.subject_ids))),
        Case("type (30 %)", lambda r: DocumentQuery(types=("passport",))),
        Case(
            "type (5 %), sort name",
            lambda r: DocumentQuery(types=("other_document",), sort=Sort.NAME),
        ),
        Case(
            "two types, sort expiry",
            lambda r: DocumentQuery(types=("utility_bill", "bank_statement"), sort=Sort.EXPIRY),
        ),
        Case("created 7-day window", lambda r: DocumentQuery(**window_query(window(r)))),
        Case("search, one document", lambda r: DocumentQuery(search=one_name(r))),
        Case("search, tens of matches", lambda r: DocumentQuery(search=name_tail(r))),
        Case("search, common word", lambda r: DocumentQuery(search=r.choice(WORDS))),
        Case("search, 2 letters", lambda r: DocumentQuery(search=r.choice(WORDS)[:2])),
        Case(
            "expires before (random)",
            lambda r: DocumentQuery(
                expires_before=date(2024, 1, 1) + timedelta(days=r.randrange(3650))
            ),
        ),
        Case(
            "expires after, sort expiry",
            lambda r: DocumentQuery(
                expires_after=date(2024, 1, 1) + timedelta(days=r.randrange(3650)), sort=Sort.EXPIRY
            ),
        ),
        Case(
            "library (10 %)", lambda r: DocumentQuery(classification=Classification.TENANT_PRIVATE)
        ),
        Case(
            "entity, sort -name",
            lambda r: DocumentQuery(
                classification=Classification.ENTITY_PRIVATE, sort=Sort.NAME_DESC
            ),
        ),
        Case("without files (5 %)", lambda r: DocumentQuery(has_files=False)),
        Case(
            "with files, sort -expiry",
            lambda r: DocumentQuery(has_files=True, sort=Sort.EXPIRY_DESC),
        ),
        Case(
            "type + library + window",
            lambda r: DocumentQuery(
                types=("passport",),
                classification=Classification.TENANT_PRIVATE,
                **window_query(window(r)),
            ),
        ),
    ]
    return found


def pick_positions(conn: sa.Connection, tenant_id: uuid.UUID, n: int) -> list[dict[str, Any]]:
    """Sort keys of random documents, to start deep pages from."""
    total = conn.execute(
        sa.select(sa.func.count()).select_from(documents).where(documents.c.tenant_id == tenant_id)
    ).scalar_one()
    rng = random.Random(7)
    columns = (documents.c.id, documents.c.created_at, documents.c.name_key)
    return [
        dict(
            conn.execute(
                sa.select(*columns, documents.c.expiry_key)
                .where(documents.c.tenant_id == tenant_id)
                .order_by(documents.c.created_at)
                .offset(rng.randrange(total))
                .limit(1)
            )
            .mappings()
            .one()
        )
        for _ in range(n)
    ]


def case_seek(
    case: Case, query: DocumentQuery, rng: random.Random, starts: list[dict[str, Any]]
) -> Seek:
    """The page a case asks for: the first one, or for deep cases one starting at a random
    document's sort key."""
    column = ("-" if query.sort.descending else "") + query.sort.column
    position = None
    if case.deep:
        start = rng.choice(starts)
        position = (start[query.sort.column], start["id"])
    return Seek(sort=column, limit=51, position=position)


async def positions(store: SqlStore, tenant_id: uuid.UUID, n: int) -> list[dict[str, Any]]:
    async with store.read() as uow:
        return await uow.connection.run_sync(pick_positions, tenant_id, n)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def explain(store: SqlStore, tenant_id: uuid.UUID, query: DocumentQuery, seek: Seek) -> str:
    def plan(conn: sa.Connection) -> str:
        stmt = SqlDocuments(conn).page_statement(tenant_id, query, seek)
        sql = str(stmt.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
        if conn.dialect.name == "sqlite":
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql).all()
            return " | ".join(str(r[3]) for r in rows)
        rows = conn.exec_driver_sql("EXPLAIN " + sql).all()
        return " | ".join(str(r[0]).strip() for r in rows[:6])

    async with store.read() as uow:
        return await uow.connection.run_sync(plan)


def seed(url: str, args: argparse.Namespace) -> Seeded:
    print(f"seeding {args.docs:,} documents on {args.db} …", flush=True)
    started = time.perf_counter()
    writer = BulkWriter(url, MASTER_KEY)
    with writer.loading():
        seeded = seed_tenant(writer, name="main", number=1, count=args.docs, seed=1)
        for n in (2, 3):
            seed_tenant(writer, name=f"other{n}", number=n, count=args.others, seed=n)
    writer.close()
    print(f"seeded in {time.perf_counter() - started:.0f} s", flush=True)
    return seeded


async def load_seeded(store: SqlStore) -> Seeded:
    """What the cases need of an existing seeded database."""

    def load(conn: sa.Connection) -> Seeded:
        tenant_id = conn.execute(
            sa.select(tenants.c.id).where(tenants.c.name == "main")
        ).scalar_one()
        subject_ids = conn.execute(
            sa.select(subjects.c.id).where(subjects.c.tenant_id == tenant_id).limit(1000)
        )
        names = conn.execute(
            sa.select(documents.c.name)
            .where(documents.c.tenant_id == tenant_id)
            .order_by(documents.c.number)
            .limit(1000)
        )
        return Seeded(
            tenant_id=tenant_id,
            subject_ids=list(subject_ids.scalars()),
            names=[str(n) for n in names.scalars()],
        )

    async with store.read() as uow:
        return await uow.connection.run_sync(load)


async def run(args: argparse.Namespace) -> None:
    if args.db == "sqlite":
        directory = Path(args.dir or tempfile.mkdtemp(prefix="kv-bench-listing-"))
        url = f"sqlite+aiosqlite:///{directory / 'bench.db'}"
    else:
        admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            exists = conn.exec_driver_sql(
                "SELECT 1 FROM pg_database WHERE datname = %s", (PG_DATABASE,)
            ).first()
            if not (args.reuse and exists):
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {PG_DATABASE}")
                conn.exec_driver_sql(f"CREATE DATABASE {PG_DATABASE}")
        admin.dispose()
        url = PG_ADMIN.rsplit("/", 1)[0] + f"/{PG_DATABASE}"
    database = create_database(url)
    store = SqlStore(database, FieldCodec(AesGcmCipher(MASTER_KEY)))
    if args.reuse and (args.db == "postgres" or (directory / "bench.db").exists()):
        seeded = await load_seeded(store)
        print("reusing the seeded database", flush=True)
    else:
        await migrate.upgrade(database)
        seeded = seed(url, args)

    starts = await positions(store, seeded.tenant_id, 50)
    rng = random.Random(42)
    print(f"\n{'case':<34} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'rows':>5}")
    for case in cases(seeded):
        timings: list[float] = []
        rows = 0
        first_seek: Seek | None = None
        for _ in range(args.iterations):
            query = case.query(rng)
            seek = case_seek(case, query, rng, starts)
            first_seek = first_seek or seek
            began = time.perf_counter()
            async with store.read() as uow:
                found = await uow.documents.page(seeded.tenant_id, query, seek)
            timings.append((time.perf_counter() - began) * 1000)
            rows = len(found)
        p50, p95, p99 = (percentile(timings, q) for q in (0.5, 0.95, 0.99))
        print(f"{case.name:<34} {p50:8.2f} {p95:8.2f} {p99:8.2f} {rows:5}", flush=True)
        if args.plans:
            query = case.query(random.Random(1))
            print(
                "    plan:",
                await explain(
                    store, seeded.tenant_id, query, first_seek or Seek("-created_at", 51)
                ),
            )
    for label, query in (
        ("count, tenant (counter)", DocumentQuery()),
        ("count, type", DocumentQuery(types=("passport",))),
        ("count, subject", DocumentQuery(subject_id=seeded.subject_ids[0])),
    ):
        timings = []
        for _ in range(max(3, args.iterations // 10)):
            began = time.perf_counter()
            async with store.read() as uow:
                await uow.documents.count(seeded.tenant_id, query)
            timings.append((time.perf_counter() - began) * 1000)
        print(f"{label:<34} {statistics.median(timings):8.2f} {percentile(timings, 0.95):8.2f}")
    await database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--docs", type=int, default=1_000_000)
    parser.add_argument(
        "--others", type=int, default=100_000, help="documents in each of two other tenants"
    )
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--plans", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--dir", help="where the SQLite file goes (default: a new temp dir)")
    parser.add_argument(
        "--reuse", action="store_true", help="time an existing --dir database, do not seed"
    )
    args = parser.parse_args()
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
