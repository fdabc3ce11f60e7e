"""Seed a vault database with many documents, fast: bulk inserts through the database
driver (executemany on SQLite, COPY on PostgreSQL) with the search index built once at the
end, not the API.

The distribution follows the reference measurements: document types 30/30/15/10/10/5 %,
about one subject per four documents, 10 % of documents in the tenant library (no subject),
creation times spread over three years, 70 % with an expiry date, 5 % without files. Other
tenants get documents too, so every query must really filter by tenant.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from kycvault.adapters.crypto import AesGcmCipher
from kycvault.adapters.db import search_index
from kycvault.adapters.db.field_codec import FieldCodec
from kycvault.adapters.db.sealed_fields import RowFields
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
# The NATO alphabet: 26 words for names and searches.
WORDS = [
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
    "juliet", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra",
    "tango", "uniform", "victor", "whiskey", "xray", "yankee", "zulu",
]  # fmt: skip
START = datetime(2023, 1, 1, tzinfo=UTC)
SPAN = timedelta(days=3 * 365)
BATCH = 50_000
_LOADED = (documents, files, subjects)


@dataclass
class Seeded:
    tenant_id: uuid.UUID
    subject_ids: list[uuid.UUID]
    names: list[str] = field(default_factory=list)
    documents: int = 0


class BulkWriter:
    """Writes rows of kycvault's tables through the raw driver, with the values converted
    exactly as SQLAlchemy would bind them."""

    def __init__(self, url: str, master_key: bytes) -> None:
        self.engine = sa.create_engine(url.replace("+aiosqlite", ""))
        # The vault's master key: tenants get real keys, files sealed digests (the store
        # opens them when it reads the rows).
        self.cipher = AesGcmCipher(master_key)
        self.fields = FieldCodec(self.cipher)
        self.dialect = self.engine.dialect
        self._processors: dict[str, list[tuple[str, Callable[[Any], Any] | None]]] = {}

    def _convert(self, table: sa.Table) -> list[tuple[str, Callable[[Any], Any] | None]]:
        if table.name not in self._processors:
            self._processors[table.name] = [
                (column.name, column.type.bind_processor(self.dialect)) for column in table.c
            ]
        return self._processors[table.name]

    @staticmethod
    def _unset(table: sa.Table) -> dict[str, Any]:
        """What a column the rows leave out gets: its server default, or null (columns later
        migrations add need no change here)."""
        found: dict[str, Any] = {}
        for column in table.c:
            default = column.server_default
            if isinstance(default, sa.DefaultClause) and isinstance(default.arg, str):
                found[column.name] = default.arg
            elif column.nullable:
                found[column.name] = None
        return found

    def write(self, table: sa.Table, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        unset = self._unset(table)
        rows = [{**unset, **row} for row in rows]
        converters = self._convert(table)
        columns = [name for name, _ in converters]
        with self.engine.begin() as conn:
            raw = conn.connection.driver_connection
            if self.dialect.name == "sqlite":
                values = [
                    tuple(fn(row[name]) if fn else row[name] for name, fn in converters)
                    for row in rows
                ]
                marks = ", ".join("?" for _ in columns)
                raw.executemany(  # type: ignore[union-attr]
                    f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})", values
                )
            else:
                from psycopg.types.json import Json

                json_columns = {c.name for c in table.c if isinstance(c.type, sa.JSON)}
                with raw.cursor() as cursor:  # type: ignore[union-attr]
                    statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
                    with cursor.copy(statement) as copy:
                        for row in rows:
                            copy.write_row(
                                [Json(row[c]) if c in json_columns else row[c] for c in columns]
                            )

    @contextmanager
    def loading(self) -> Iterator[None]:
        """Bulk-load without index upkeep: drop the secondary indexes and the search index,
        load, then build them once (a sorted build is many times faster than a million
        random inserts), and refresh the planner's statistics."""
        secondary = [ix for table in _LOADED for ix in table.indexes]
        with self.engine.begin() as conn:
            search_index.drop(conn)
            for index in secondary:
                conn.exec_driver_sql(f"DROP INDEX IF EXISTS {index.name}")
        yield
        started = time.perf_counter()
        with self.engine.begin() as conn:
            for index in secondary:
                index.create(conn)
            search_index.create(conn)
        print(f"  indexes built in {time.perf_counter() - started:.0f} s", flush=True)
        self.analyze()

    def tenant_state(self, tenant_id: uuid.UUID) -> tuple[uuid.UUID, int, int]:
        """(current key id, subject number, document number) of a tenant."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(tenants.c.subject_seq, tenants.c.document_seq).where(
                    tenants.c.id == tenant_id
                )
            ).one()
            key = conn.execute(
                sa.select(tenant_keys.c.id)
                .where(tenant_keys.c.tenant_id == tenant_id)
                .order_by(tenant_keys.c.created_at.desc())
                .limit(1)
            ).scalar_one()
        return key, int(row.subject_seq), int(row.document_seq)

    def finish_tenant(self, tenant_id: uuid.UUID, *, subjects: int, documents: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                tenants.update()
                .where(tenants.c.id == tenant_id)
                .values(
                    subject_seq=tenants.c.subject_seq + subjects,
                    document_seq=tenants.c.document_seq + documents,
                    document_count=tenants.c.document_count + documents,
                )
            )

    def analyze(self) -> None:
        """Planner statistics (and on PostgreSQL the visibility map, which index-only scans
        need after a bulk load; autovacuum would get there in a while)."""
        if self.dialect.name == "postgresql":
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")
            return
        with self.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")

    def close(self) -> None:
        self.engine.dispose()


def _subjects(
    tenant_id: uuid.UUID, ids: list[uuid.UUID], now: datetime, first: int
) -> Iterator[dict[str, Any]]:
    for i, sid in enumerate(ids):
        yield {
            "id": sid,
            "tenant_id": tenant_id,
            "number": first + i + 1,
            "type": "individual",
            "external_id_index": None,
            "details_sealed": None,  # no display name, external id nor metadata
            "parent_id": None,
            "created_at": now,
            "updated_at": now,
            "created_by": None,
            "updated_by": None,
        }


def _document(
    rng: random.Random,
    tenant_id: uuid.UUID,
    kek_id: uuid.UUID,
    number: int,
    doc_type: str,
    subject: uuid.UUID | None,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    doc_id = uuid.uuid4()
    created = START + SPAN * rng.random()
    expiry = date(2024, 1, 1) + timedelta(days=rng.randrange(3650)) if rng.random() < 0.7 else None
    name = f"{doc_type}_{rng.choice(WORDS)}_{rng.choice(WORDS)}_{number}"
    filename = f"scan_{rng.choice(WORDS)}{rng.randrange(100000)}.pdf"
    has_file = rng.random() >= 0.05
    row = {
        "id": doc_id,
        "tenant_id": tenant_id,
        "number": number,
        "subject_id": subject,
        "type": doc_type,
        "name": name,
        "id_number": None,
        "issuing_country": None,
        "issue_date": None,
        "expiry_date": expiry,
        "authenticity": None,
        "notify_before_expiry": False,
        "metadata_sealed": None,  # no metadata
        "created_at": created,
        "updated_at": created,
        "created_by": None,
        "updated_by": None,
        "name_key": listing.name_key(name),
        "expiry_key": listing.expiry_key(expiry),
        "search_text": listing.search_text(name, [filename] if has_file else []),
        "file_count": 1 if has_file else 0,
    }
    file_row = None
    if has_file:
        file_row = {
            "id": uuid.uuid4(),
            "tenant_id": tenant_id,
            "document_id": doc_id,
            "position": 0,
            "role": None,
            "filename": filename,
            "content_type": "application/pdf",
            "size": 200_000,
            "blob_key": f"{tenant_id.hex}/{doc_id.hex}",
            "wrapped_dek": b"\0" * 60,
            "kek_id": kek_id,
            "created_at": created,
            "created_by": None,
        }
    return row, file_row


def new_tenant(writer: BulkWriter, *, name: str, number: int) -> tuple[uuid.UUID, uuid.UUID]:
    """A bare tenant row and key row (enough for listing; its files have no blobs)."""
    tenant_id = uuid.uuid4()
    # The key row takes the tenant's id (one key a tenant here), and wraps in format 2.
    _key, wrapped = writer.cipher.new_tenant_key(tenant_id.bytes, tenant_id.bytes)
    now = datetime.now(UTC)
    writer.write(
        tenants,
        [
            {
                "id": tenant_id,
                "number": number,
                "name": name,
                "settings": {},
                "subject_seq": 0,
                "document_seq": 0,
                "document_count": 0,
                "created_at": now,
            }
        ],
    )
    writer.write(
        tenant_keys,
        [
            {
                "id": tenant_id,
                "tenant_id": tenant_id,
                "wrapped_key": wrapped,
                "master_key_id": writer.cipher.master_key_id,
                "created_at": now,
                "retired_at": None,
                "wrap_format": 2,
            }
        ],
    )
    return tenant_id, tenant_id


def seed_tenant(
    writer: BulkWriter,
    *,
    name: str,
    count: int,
    seed: int,
    number: int | None = None,
    tenant_id: uuid.UUID | None = None,
) -> Seeded:
    """Insert ``count`` documents (with subjects and file rows) for a new tenant (``number``)
    or an existing one (``tenant_id``, e.g. one made through the API, whose key works)."""
    rng = random.Random(seed)
    if tenant_id is None:
        assert number is not None
        tenant_id, kek_id = new_tenant(writer, name=name, number=number)
    kek_id, first_subject, first_document = writer.tenant_state(tenant_id)
    now = datetime.now(UTC)
    subject_ids = [uuid.uuid4() for _ in range(max(1, count // 4))]
    subject_rows = list(_subjects(tenant_id, subject_ids, now, first_subject))
    for first in range(0, len(subject_rows), BATCH):
        writer.write(subjects, subject_rows[first : first + BATCH])
    seeded = Seeded(tenant_id=tenant_id, subject_ids=subject_ids)
    started = time.perf_counter()
    names, weights = zip(*TYPES, strict=True)
    for first in range(0, count, BATCH):
        size = min(BATCH, count - first)
        doc_rows, file_rows = [], []
        for i, doc_type in enumerate(rng.choices(names, weights=weights, k=size)):
            subject = None if rng.random() < 0.10 else rng.choice(subject_ids)
            number_in_tenant = first_document + first + i + 1
            row, file_row = _document(rng, tenant_id, kek_id, number_in_tenant, doc_type, subject)
            doc_rows.append(row)
            if file_row:
                file_rows.append(file_row)
            if len(seeded.names) < 1000:
                seeded.names.append(row["name"])
        with writer.engine.connect() as conn:
            sealed = RowFields(writer.fields, conn)
            for file_row in file_rows:
                file_row.update(sealed.file_values(tenant_id, file_row["id"], "0" * 64))
        writer.write(documents, doc_rows)
        writer.write(files, file_rows)
        seeded.documents += size
        if seeded.documents % 250_000 == 0 or seeded.documents == count:
            rate = seeded.documents / (time.perf_counter() - started)
            print(f"  {name}: {seeded.documents:>9,} documents ({rate:,.0f}/s)", flush=True)
    writer.finish_tenant(tenant_id, subjects=len(subject_ids), documents=count)
    return seeded
