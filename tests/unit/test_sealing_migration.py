"""Revision 0018 seals what earlier versions stored in clear (declared and extracted
document numbers, processing findings, file digests) with the tenant keys, drops the clear
columns, and gives it all back on a downgrade."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Connection

from kycvault.adapters.crypto import AesGcmCipher
from kycvault.adapters.db import migrate
from kycvault.adapters.db.columns import UtcDateTime
from kycvault.adapters.db.database import create_database
from kycvault.adapters.db.field_codec import FieldCodec
from kycvault.adapters.db.sealed_fields import RowFields
from kycvault.adapters.db.tables import documents, files
from tests.unit.test_migrations import database_url as database_url  # the empty databases

NUMBER = "QXW4471K9"
SURNAME = "QXSEALMIGRATE"
DIGEST = "9f" * 32
AT = datetime(2026, 1, 1, tzinfo=UTC)


def _old_rows(conn: Connection, cipher: AesGcmCipher, master: bytes) -> dict[str, uuid.UUID]:
    """A tenant with its key, one processed document and one file, as 0015 stored them (the
    tenant key in the first wrap: AES-GCM under the master key itself, AAD the tenant)."""
    ids = {name: uuid.uuid4() for name in ("tenant", "key", "document", "file")}
    nonce = os.urandom(12)
    aad = b"kycvault/tenant-key|" + ids["tenant"].bytes
    wrapped = nonce + AESGCM(master).encrypt(nonce, os.urandom(32), aad)
    table = _table
    conn.execute(
        table("tenants", "id", "number", "name", "settings", "created_at").insert(),
        {"id": ids["tenant"], "number": 1, "name": "t", "settings": {}, "created_at": AT},
    )
    conn.execute(
        table("tenant_keys", "id", "tenant_id", "wrapped_key", "master_key_id", "created_at")
        .insert()
        .values(
            id=ids["key"],
            tenant_id=ids["tenant"],
            wrapped_key=wrapped,
            master_key_id=cipher.master_key_id,
            created_at=AT,
        )
    )
    processing = {
        "stages": {"ocr": "completed"},
        "generation": 1,
        "extracted": {"mrz": {"surname": SURNAME, "document_number": NUMBER}},
        "signals": [{"code": "mrz_check_digits", "detail": "all pass"}],
    }
    columns = ("documents", "id", "tenant_id", "number", "type", "id_number", "extracted_number")
    conn.execute(
        table(
            *columns, "processing", "notify_before_expiry", "metadata", "created_at", "updated_at"
        )
        .insert()
        .values(
            id=ids["document"],
            tenant_id=ids["tenant"],
            number=1,
            type="passport",
            id_number=NUMBER.lower(),
            extracted_number=NUMBER,
            processing=processing,
            updated_at=AT,
            notify_before_expiry=False,
            metadata={},
            created_at=AT,
        )
    )
    file_columns = ("files", "id", "tenant_id", "document_id", "position", "content_type", "size")
    conn.execute(
        table(*file_columns, "sha256", "blob_key", "wrapped_dek", "kek_id", "created_at")
        .insert()
        .values(
            id=ids["file"],
            tenant_id=ids["tenant"],
            document_id=ids["document"],
            position=0,
            content_type="image/png",
            size=10,
            sha256=DIGEST,
            blob_key="k1",
            wrapped_dek=b"x",
            kek_id=ids["key"],
            created_at=AT,
        )
    )
    return ids


def _table(name: str, *columns: str) -> sa.TableClause:
    kinds: dict[str, Any] = {
        "settings": sa.JSON(),
        "processing": sa.JSON(),
        "metadata": sa.JSON(),
        "created_at": UtcDateTime(),
        "updated_at": UtcDateTime(),
        "wrapped_key": sa.LargeBinary(),
        "wrapped_dek": sa.LargeBinary(),
    }
    uuids = {"id", "tenant_id", "document_id", "kek_id"}
    return sa.table(
        name, *(sa.column(c, sa.Uuid() if c in uuids else kinds.get(c)) for c in columns)
    )


def downgrade_to(revision: str, codec: FieldCodec) -> Callable[[Connection], None]:
    """A downgrade to ``revision`` on a connection, with ``codec`` to open sealed rows."""

    def down(conn: Connection) -> None:
        config = migrate.alembic_config()
        config.attributes["connection"] = conn
        config.attributes["field_codec"] = codec
        command.downgrade(config, revision)

    return down


def _everything(conn: Connection) -> str:
    rows = [conn.execute(sa.select(sa.text("*")).select_from(t)).all() for t in (documents, files)]
    return repr(rows)


@pytest.mark.anyio
async def test_clear_rows_are_sealed_and_come_back_on_downgrade(database_url: str) -> None:
    master = os.urandom(32)
    cipher = AesGcmCipher(master)
    codec = FieldCodec(cipher)
    database = create_database(database_url)
    try:
        await migrate.upgrade(database, "0015")
        ids = await database.run_sync(lambda conn: _old_rows(conn, cipher, master))
        with pytest.raises(RuntimeError, match="no field codec"):
            await migrate.upgrade(database)
        await migrate.upgrade(database, attributes={"field_codec": codec})

        def sealed(conn: Connection) -> None:
            dump = _everything(conn)
            for needle in (NUMBER, NUMBER.lower(), SURNAME, DIGEST):
                assert needle not in dump
            rows = RowFields(codec, conn)
            doc = conn.execute(sa.select(documents)).mappings().one()
            tenant = ids["tenant"]
            assert rows.id_number(tenant, doc) == NUMBER.lower()
            assert rows.processing(tenant, doc).extracted["mrz"]["surname"] == SURNAME
            assert rows.processing(tenant, doc).signals[0]["code"] == "mrz_check_digits"
            assert doc["id_number_index"] == doc["extracted_number_index"]
            assert doc["id_number_index"] == rows.number_index(tenant, NUMBER)
            stored = conn.execute(sa.select(files)).mappings().one()
            assert rows.sha256(tenant, stored) == DIGEST
            assert stored["content_index"] == rows.content_index(tenant, DIGEST)

        await database.run_sync(sealed)

        await database.run_sync(downgrade_to("0015", codec))

        def clear(conn: Connection) -> None:
            doc = conn.execute(sa.text("SELECT id_number, extracted_number FROM documents"))
            assert tuple(doc.one()) == (NUMBER.lower(), NUMBER)
            assert conn.execute(sa.text("SELECT sha256 FROM files")).scalar() == DIGEST
            assert SURNAME in str(
                conn.execute(sa.text("SELECT processing FROM documents")).scalar()
            )

        await database.run_sync(clear)
    finally:
        await database.dispose()
