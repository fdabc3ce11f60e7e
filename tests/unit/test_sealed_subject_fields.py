"""What the client says of a person, sealed in the rows (``sealed_fields.py``): a subject's
display name, external id and metadata, a document's metadata, the external id of an event's
snapshot. Each opens only on its own row; nothing is sealed when nothing is given; the
external id's blind index is exact, per tenant, and stays put across a key rotation."""

from __future__ import annotations

import os
import uuid
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa

from kycvault.adapters.crypto import AesGcmCipher
from kycvault.adapters.db.field_codec import FieldCodec
from kycvault.adapters.db.sealed_fields import RowFields
from kycvault.adapters.db.tables import tenant_keys
from kycvault.errors import IntegrityFailure
from tests.unit.test_sealed_fields import _add_key, _at, _tenant
from tests.unit.test_sealed_fields import conn as conn  # the fixture

NAME, EXTERNAL = "Zylpha Qxwender", "crm-QX-1"
METADATA = {"first_name": "Zylpha", "last_name": "Qxwender", "tier": 2}


def _row(values: dict[str, Any]) -> Any:
    """A row as the repositories pass it (a mapping of its columns)."""
    return values


def _rows(conn: sa.Connection) -> tuple[RowFields, uuid.UUID, AesGcmCipher]:
    cipher = AesGcmCipher(os.urandom(32))
    return RowFields(FieldCodec(cipher), conn), _tenant(conn, cipher, 1), cipher


def _subject(rows: RowFields, tenant: uuid.UUID, subject: uuid.UUID, **given: Any) -> Any:
    values = rows.subject_values(
        tenant,
        subject,
        display_name=given.get("display_name"),
        external_id=given.get("external_id"),
        metadata=given.get("metadata", {}),
        birth_date=given.get("birth_date"),
    )
    return {"id": subject, **values}


def test_a_subjects_details_are_sealed_and_open_on_their_row_only(conn: sa.Connection) -> None:
    rows, tenant, _ = _rows(conn)
    subject = uuid.uuid4()
    row = _subject(
        rows,
        tenant,
        subject,
        display_name=NAME,
        external_id=EXTERNAL,
        metadata=METADATA,
        birth_date=date(1815, 12, 10),
    )
    sealed = row["details_sealed"]
    for clear in (b"Zylpha", b"Qxwender", EXTERNAL.encode(), b"tier", b"1815"):
        assert clear not in sealed
    assert rows.subject_details(tenant, row) == {
        "display_name": NAME,
        "external_id": EXTERNAL,
        "metadata": METADATA,
        "birth_date": date(1815, 12, 10),
    }
    assert list(rows.subject_details(tenant, row)["metadata"]) == list(METADATA)  # key order
    assert row["external_id_index"] == rows.external_id_index(tenant, EXTERNAL)
    with pytest.raises(IntegrityFailure):
        rows.subject_details(tenant, _row({**row, "id": uuid.uuid4()}))  # copied to another row
    # Sealed for a subject, it does not open as a document's metadata (another label).
    with pytest.raises(IntegrityFailure):
        rows.metadata(tenant, _row({"id": subject, "metadata_sealed": sealed}))


def test_nothing_given_is_nothing_sealed(conn: sa.Connection) -> None:
    rows, tenant, _ = _rows(conn)
    row = _subject(rows, tenant, uuid.uuid4())
    assert row["details_sealed"] is None and row["external_id_index"] is None
    assert rows.subject_details(tenant, row) == {
        "display_name": None,
        "external_id": None,
        "metadata": {},
        "birth_date": None,
    }
    only = _subject(rows, tenant, uuid.uuid4(), display_name=NAME)
    assert rows.subject_details(tenant, only)["display_name"] == NAME
    assert only["external_id_index"] is None
    document = uuid.uuid4()
    assert rows.metadata_values(tenant, document, {}) == {"metadata_sealed": None}
    assert rows.metadata(tenant, _row({"id": document, "metadata_sealed": None})) == {}


def test_a_documents_metadata_is_bound_to_its_document(conn: sa.Connection) -> None:
    rows, tenant, _ = _rows(conn)
    document = uuid.uuid4()
    row = _row({"id": document, **rows.metadata_values(tenant, document, METADATA)})
    assert b"Qxwender" not in row["metadata_sealed"]
    assert rows.metadata(tenant, row) == METADATA
    with pytest.raises(IntegrityFailure):
        rows.metadata(tenant, _row({**row, "id": uuid.uuid4()}))


def test_an_events_external_id_is_sealed_and_the_rest_stays_clear(conn: sa.Connection) -> None:
    rows, tenant, _ = _rows(conn)
    event = uuid.uuid4()
    data: dict[str, Any] = {"subject_id": "s-1", "subject": {"number": 7, "external_id": EXTERNAL}}
    values = rows.event_values(tenant, event, data)
    assert values["data"] == {"subject_id": "s-1", "subject": {"number": 7, "external_id": None}}
    assert data["subject"]["external_id"] == EXTERNAL  # the caller's data is left alone
    assert rows.event_data(tenant, _row({"id": event, **values})) == data
    with pytest.raises(IntegrityFailure):
        rows.event_data(tenant, _row({"id": uuid.uuid4(), **values}))
    # Nothing to seal: an event of no subject, or of a subject without an external id.
    nothing: list[dict[str, Any]] = [{"document_id": "d-1"}, {"subject": {"external_id": None}}]
    for clear in nothing:
        assert rows.event_values(tenant, event, clear) == {
            "data": clear,
            "external_id_sealed": None,
        }


def test_the_external_id_index_is_exact_per_tenant_and_survives_a_rotation(
    conn: sa.Connection,
) -> None:
    rows, tenant, cipher = _rows(conn)
    index = rows.external_id_index(tenant, EXTERNAL)
    assert index is not None and EXTERNAL not in index
    # Exact: no case folding nor trimming (the lookups compare ids as the client gave them).
    assert rows.external_id_index(tenant, EXTERNAL.upper()) != index
    assert rows.external_id_index(tenant, EXTERNAL + " ") != index
    assert rows.external_id_index(_tenant(conn, cipher, 2), EXTERNAL) != index
    before = _subject(rows, tenant, uuid.uuid4(), display_name=NAME, external_id=EXTERNAL)
    newer = _add_key(conn, cipher, tenant, _at(30))
    conn.execute(
        tenant_keys.update()
        .where(tenant_keys.c.tenant_id == tenant, tenant_keys.c.id != newer)
        .values(retired_at=_at(30))
    )
    fresh = RowFields(FieldCodec(cipher), conn)  # another process, after the rotation
    after = _subject(fresh, tenant, uuid.uuid4(), display_name=NAME, external_id=EXTERNAL)
    assert cipher.field_key_id(after["details_sealed"]) == newer
    assert cipher.field_key_id(before["details_sealed"]) != newer
    assert fresh.subject_details(tenant, before)["display_name"] == NAME
    assert after["external_id_index"] == before["external_id_index"] == index
