"""Seed a vault database with many documents, fast (bulk inserts, not the API).

The distribution follows the reference measurements: document types 30/30/15/10/10/5 %,
about one subject per four documents, 10 % of documents in the tenant library (no subject),
creation times spread over three years, 70 % with an expiry date, 5 % without files. Other
tenants get documents too, so every query must really filter by tenant.
"""

from __future__ import annotations

import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from kycvault.adapters.db.tables import documents, files, subjects, tenant_keys, tenants
from kycvault.domain import listing

TYPES = (
    ("passport", 30),
    ("national_id", 30),
    ("bank_statement", 15),
    ("utility_bill", 10),
    ("drivers_license", 10),
    ("other_document", 5),
)
WORDS = [
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliet",
    "kilo",
    "lima",
    "mike",
    "november",
    "oscar",
    "papa",
    "quebec",
    "romeo",
    "sierra",
    "tango",
    "uniform",
    "victor",
    "whiskey",
    "xray",
    "yankee",
    "zulu",
]
START = datetime(2023, 1, 1, tzinfo=UTC)
SPAN = timedelta(days=3 * 365)


@dataclass
class Seeded:
    tenant_id: uuid.UUID
    subject_ids: list[uuid.UUID]
    names: list[str] = field(default_factory=list)
    documents: int = 0


def _weighted_types(rng: random.Random, n: int) -> list[str]:
    names, weights = zip(*TYPES, strict=True)
    return rng.choices(names, weights=weights, k=n)


async def _tenant(engine: AsyncEngine, name: str, number: int) -> uuid.UUID:
    tenant_id = uuid.uuid4()
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        await conn.execute(
            tenants.insert().values(
                id=tenant_id, number=number, name=name, settings={}, created_at=now
            )
        )
        await conn.execute(
            tenant_keys.insert().values(
                id=tenant_id,
                tenant_id=tenant_id,
                wrapped_key=b"\0" * 60,
                master_key_id="bench",
                created_at=now,
            )
        )
    return tenant_id


async def seed_tenant(
    engine: AsyncEngine, *, name: str, number: int, count: int, seed: int, batch: int = 20_000
) -> Seeded:
    """Insert ``count`` documents (with subjects and file rows) for a new tenant."""
    rng = random.Random(seed)
    tenant_id = await _tenant(engine, name, number)
    subject_ids = [uuid.uuid4() for _ in range(max(1, count // 4))]
    now = datetime.now(UTC)
    started = time.perf_counter()
    for first in range(0, len(subject_ids), batch):
        chunk = subject_ids[first : first + batch]
        async with engine.begin() as conn:
            await conn.execute(
                subjects.insert(),
                [
                    {
                        "id": sid,
                        "tenant_id": tenant_id,
                        "number": first + i + 1,
                        "type": "individual",
                        "external_id": None,
                        "display_name": None,
                        "parent_id": None,
                        "metadata": {},
                        "created_at": now,
                        "updated_at": now,
                        "created_by": None,
                        "updated_by": None,
                    }
                    for i, sid in enumerate(chunk)
                ],
            )
    seeded = Seeded(tenant_id=tenant_id, subject_ids=subject_ids)
    for first in range(0, count, batch):
        size = min(batch, count - first)
        types = _weighted_types(rng, size)
        doc_rows: list[dict[str, Any]] = []
        file_rows: list[dict[str, Any]] = []
        for i in range(size):
            doc_id = uuid.uuid4()
            created = START + SPAN * rng.random()
            expiry = (
                (date(2024, 1, 1) + timedelta(days=rng.randrange(3650)))
                if rng.random() < 0.7
                else None
            )
            doc_name = f"{types[i]}_{rng.choice(WORDS)}_{rng.choice(WORDS)}_{first + i}"
            filename = f"scan_{rng.choice(WORDS)}{rng.randrange(100000)}.pdf"
            has_file = rng.random() >= 0.05
            subject = None if rng.random() < 0.10 else rng.choice(subject_ids)
            if len(seeded.names) < 1000:
                seeded.names.append(doc_name)
            doc_rows.append(
                {
                    "id": doc_id,
                    "tenant_id": tenant_id,
                    "number": first + i + 1,
                    "subject_id": subject,
                    "type": types[i],
                    "name": doc_name,
                    "id_number": None,
                    "issuing_country": None,
                    "issue_date": None,
                    "expiry_date": expiry,
                    "authenticity": None,
                    "notify_before_expiry": False,
                    "metadata": {},
                    "created_at": created,
                    "updated_at": created,
                    "created_by": None,
                    "updated_by": None,
                    "name_key": listing.name_key(doc_name),
                    "expiry_key": listing.expiry_key(expiry),
                    "search_text": listing.search_text(doc_name, [filename] if has_file else []),
                    "file_count": 1 if has_file else 0,
                }
            )
            if has_file:
                file_rows.append(
                    {
                        "id": uuid.uuid4(),
                        "tenant_id": tenant_id,
                        "document_id": doc_id,
                        "position": 0,
                        "role": None,
                        "filename": filename,
                        "content_type": "application/pdf",
                        "size": 200_000,
                        "sha256": "0" * 64,
                        "blob_key": f"{tenant_id.hex}/{doc_id.hex}",
                        "wrapped_dek": b"\0" * 60,
                        "kek_id": tenant_id,
                        "created_at": created,
                        "created_by": None,
                    }
                )
        async with engine.begin() as conn:
            await conn.execute(documents.insert(), doc_rows)
            await conn.execute(files.insert(), file_rows)
        seeded.documents += size
        rate = seeded.documents / (time.perf_counter() - started)
        print(f"  {name}: {seeded.documents:>9,} documents ({rate:,.0f}/s)", flush=True)
    async with engine.begin() as conn:
        await conn.execute(
            tenants.update()
            .where(tenants.c.id == tenant_id)
            .values(document_count=count, document_seq=count, subject_seq=len(subject_ids))
        )
        await conn.exec_driver_sql("ANALYZE")
    return seeded
