"""Revision 0020 seals what earlier versions stored of subjects in clear (display names,
external ids, metadata; documents' metadata; the external id of events' snapshots), indexes
external ids blindly with their uniqueness kept, and gives it all back on a downgrade."""

from __future__ import annotations

import os
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Connection

from kycvault.adapters.crypto import AesGcmCipher
from kycvault.adapters.db import migrate
from kycvault.adapters.db.columns import UtcDateTime
from kycvault.adapters.db.database import create_database
from kycvault.adapters.db.event_tables import events
from kycvault.adapters.db.field_codec import FieldCodec
from kycvault.adapters.db.sealed_fields import RowFields
from kycvault.adapters.db.tables import documents, subjects
from tests.unit.test_migrations import database_url as database_url  # the empty databases
from tests.unit.test_sealing_migration import AT, _old_rows, _table, downgrade_to

_OLD_EVENTS = sa.table(
    "events",
    *(sa.column(c, sa.Uuid()) for c in ("id", "tenant_id")),
    *(sa.column(c) for c in ("sequence", "type")),
    sa.column("created_at", UtcDateTime()),
    sa.column("data", sa.JSON()),
)
NAME = "Qxmigra Wendeline"
EXTERNAL = "crm-QX-88121"
HOLDER = "QXHOLDERMIGRATE"


def _subject_rows(conn: Connection, ids: dict[str, uuid.UUID]) -> None:
    """Two subjects as 0019 stored them (one with nothing the client said), an event of the
    first, and metadata on the document."""
    ids.update(subject=uuid.uuid4(), bare=uuid.uuid4(), event=uuid.uuid4())
    columns = ("subjects", "id", "tenant_id", "number", "type", "external_id", "display_name")
    table = _table(*columns, "metadata", "created_at", "updated_at")
    for n, (sid, name, external, meta) in enumerate(
        ((ids["subject"], NAME, EXTERNAL, {"last_name": HOLDER}), (ids["bare"], None, None, {}))
    ):
        conn.execute(
            table.insert().values(
                id=sid,
                tenant_id=ids["tenant"],
                number=n + 1,
                type="individual",
                external_id=external,
                display_name=name,
                metadata=meta,
                created_at=AT,
                updated_at=AT,
            )
        )
    conn.execute(_table("documents", "metadata").update().values(metadata={"holder": HOLDER}))
    snapshot = {"subject_id": str(ids["subject"]), "subject": {"external_id": EXTERNAL}}
    conn.execute(
        _OLD_EVENTS.insert().values(
            id=ids["event"],
            tenant_id=ids["tenant"],
            sequence=1,
            type="subject.created",
            created_at=AT,
            data=snapshot,
        )
    )


def _everything(conn: Connection) -> str:
    tables = (subjects, documents, events)
    return repr([conn.execute(sa.select(sa.text("*")).select_from(t)).all() for t in tables])


@pytest.mark.anyio
async def test_subjects_are_sealed_indexed_and_come_back_on_downgrade(database_url: str) -> None:
    master = os.urandom(32)
    cipher = AesGcmCipher(master)
    codec = FieldCodec(cipher)
    database = create_database(database_url)
    try:
        await migrate.upgrade(database, "0015")

        def old(conn: Connection) -> dict[str, uuid.UUID]:
            ids = _old_rows(conn, cipher, master)
            _subject_rows(conn, ids)
            return ids

        ids = await database.run_sync(old)
        await migrate.upgrade(database, attributes={"field_codec": codec})
        tenant = ids["tenant"]

        def sealed(conn: Connection) -> None:
            dump = _everything(conn)
            for needle in (NAME, EXTERNAL, HOLDER, "Wendeline"):
                assert needle not in dump
            rows = RowFields(codec, conn)
            by_id = {r["id"]: r for r in conn.execute(sa.select(subjects)).mappings()}
            details = rows.subject_details(tenant, by_id[ids["subject"]])
            assert details == {
                "display_name": NAME,
                "external_id": EXTERNAL,
                "metadata": {"last_name": HOLDER},
                "birth_date": None,
            }
            assert by_id[ids["subject"]]["external_id_index"] == rows.external_id_index(
                tenant, EXTERNAL
            )
            bare = by_id[ids["bare"]]
            assert bare["details_sealed"] is None and bare["external_id_index"] is None
            assert rows.subject_details(tenant, bare)["metadata"] == {}
            doc = conn.execute(sa.select(documents)).mappings().one()
            assert rows.metadata(tenant, doc) == {"holder": HOLDER}
            event = conn.execute(sa.select(events)).mappings().one()
            assert event["data"]["subject"] == {"external_id": None}
            assert rows.event_data(tenant, event)["subject"] == {"external_id": EXTERNAL}

        await database.run_sync(sealed)

        def taken(conn: Connection) -> None:
            # The uniqueness of an external id per tenant holds on its index.
            index = RowFields(codec, conn).external_id_index(tenant, EXTERNAL)
            conn.execute(
                subjects.update().where(subjects.c.id == ids["bare"]),
                {"external_id_index": index},
            )

        with pytest.raises(sa.exc.IntegrityError):
            await database.run_sync(taken)

        await database.run_sync(downgrade_to("0019", codec))

        def clear(conn: Connection) -> dict[str, Any]:
            found = conn.execute(
                sa.text("SELECT display_name, external_id, metadata FROM subjects ORDER BY number")
            ).all()
            return {
                "subjects": [tuple(r) for r in found],
                "document": conn.execute(sa.text("SELECT metadata FROM documents")).scalar(),
                "event": conn.execute(sa.text("SELECT data FROM events")).scalar(),
            }

        back = await database.run_sync(clear)
        (name, external, meta), (none, no_id, empty) = back["subjects"]
        assert (name, external, none, no_id) == (NAME, EXTERNAL, None, None)
        assert HOLDER in str(meta) and str(empty) == "{}"
        assert HOLDER in str(back["document"]) and EXTERNAL in str(back["event"])
    finally:
        await database.dispose()
