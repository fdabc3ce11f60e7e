"""End to end: the identity data a passport yields (the MRZ's names, number and birth date),
the declared document numbers, and what the client says of a person (a subject's display
name, external id and metadata, a document's metadata) are sealed at rest. The database (the
SQLite file and its WAL; every PostgreSQL row) and a ``kycvault export`` hold none of it in
clear, while the API shows it as before and the lookups that compare numbers (the
duplicate-number signal) or external ids (a vendor's user id) work through blind indexes. A
sealed value moved to another row fails as an integrity error."""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import psycopg
import pytest
from psycopg import sql

from kycvault.domain.mrz import Layout
from tests.backends import EMBEDDED
from tests.e2e.documents_support import new_subject
from tests.e2e.processing_support import settled, signal, upload
from tests.helpers import WORKER_INSIDE, Server, image_bytes, server_on
from tests.samples import Person, document_image, random_person


def _person(seed: int) -> Person:
    # Seeds whose number and dates the processing tests read; names found nowhere else.
    return random_person(
        random.Random(seed), Layout.TD3, surname="QXWENDERSEAL", given_names="ZYLPHA MARGIT"
    )


# What the client says of the person, in words found nowhere else.
SUBJECT = {
    "display_name": "Qxaveline Trommsdorff",
    "external_id": "crm-QXSEAL-4417",
    "metadata": {"last_name": "QXMETASEAL", "tier": 2},
}
DOCUMENT_METADATA = {"first_name": "QXDOCMETA"}


def _needles(person: Person) -> list[bytes]:
    words = [person.surname, *person.given_names.split()]
    said = ["Qxaveline", "Trommsdorff", "crm-QXSEAL-4417", "QXMETASEAL", "QXDOCMETA"]
    return [w.encode() for w in [*words, *said]] + [
        person.document_number.encode(),
        person.birth_date.isoformat().encode(),
    ]


@pytest.fixture
def server(tmp_path: Path, backend: str) -> Iterator[Server]:
    with server_on(tmp_path / "sealed", backend, **WORKER_INSIDE) as srv:
        yield srv


def _fill(client: httpx2.Client, person: Person) -> dict[str, Any]:
    """A passport of ``person`` read on one subject; the same number declared (in another
    spelling) on a second subject's document."""
    first, second = new_subject(client, **SUBJECT), new_subject(client)
    declared = {
        "id_number": person.document_number,
        "expiry_date": person.expiry_date.isoformat(),
        "metadata": json.dumps(DOCUMENT_METADATA),
    }
    image = document_image(person, dpi=300)
    passport = upload(
        client, "passport", image, "passport.png", "image/png", subject_id=first["id"], **declared
    )
    read = settled(client, passport["id"])
    other = upload(
        client,
        "passport",
        image_bytes(),
        "scan.png",
        "image/png",
        subject_id=second["id"],
        id_number=person.document_number.lower(),
    )
    return {"passport": read, "other": settled(client, other["id"]), "subject": first}


def _shows_the_subject(client: httpx2.Client, subject_id: str) -> None:
    got = client.get(f"/v1/subjects/{subject_id}")
    assert got.status_code == 200, got.text
    assert {k: got.json()[k] for k in SUBJECT} == SUBJECT
    # The external id still identifies the subject (through its blind index): as another
    # subject's it is refused, and the event log shows it as given.
    taken = client.post("/v1/subjects", json={"external_id": SUBJECT["external_id"]})
    assert taken.status_code == 409 and taken.json()["code"] == "external_id_taken", taken.text
    made = client.get("/v1/events", params={"type": "subject.created", "subject_id": subject_id})
    [event] = made.json()["data"]
    assert event["data"]["subject"]["external_id"] == SUBJECT["external_id"]


def _shows_the_person(doc: dict[str, Any], person: Person) -> None:
    mrz = doc["extracted"]["mrz"]
    assert mrz["surname"] == person.surname
    assert mrz["given_names"] == person.given_names
    assert mrz["document_number"] == person.document_number
    assert mrz["birth_date"] == person.birth_date.isoformat()
    assert doc["id_number"] == person.document_number
    assert doc["metadata"] == DOCUMENT_METADATA


def _sqlite_bytes(server: Server) -> bytes:
    database = server.data_dir / "kycvault.db"
    wal = server.data_dir / "kycvault.db-wal"
    return database.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def _postgres_rows(server: Server) -> bytes:
    """Every row of every table as PostgreSQL prints it (what a dump would carry)."""
    url = server.env()["KYCVAULT_DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
    out = []
    with psycopg.connect(url) as conn:
        names = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
        assert any(name == "documents" for (name,) in names)
        for (name,) in names:
            query = sql.SQL("SELECT t::text FROM {} AS t").format(sql.Identifier(name))
            out += [row[0].encode() for row in conn.execute(query)]
    return b"\n".join(out)


def _stored(server: Server) -> bytes:
    if server.backend.name == EMBEDDED:
        return _sqlite_bytes(server)
    return _postgres_rows(server)


def test_identity_data_is_sealed_in_the_database_and_the_export(
    server: Server, tmp_path: Path
) -> None:
    person = _person(11)
    tenant = server.create_tenant()
    with server.client(tenant["api_key"]) as client:
        made = _fill(client, person)
        _shows_the_person(made["passport"], person)
        assert made["other"]["id_number"] == person.document_number.lower()
        # Numbers still compare, through their blind indexes: the second subject's number is
        # the first one's in another spelling.
        assert signal(made["other"], "duplicate_document_number")["fired"] is True
        again = client.get(f"/v1/documents/{made['passport']['id']}").json()
        _shows_the_person(again, person)
        assert again["files"] == made["passport"]["files"]
        _shows_the_subject(client, made["subject"]["id"])
    stored = _stored(server)
    row_id = made["passport"]["id"]
    assert (row_id if server.backend.name != EMBEDDED else row_id.replace("-", "")).encode() in (
        stored
    )  # the rows are there to be searched
    for needle in _needles(person):
        assert needle not in stored, needle
    # The file's SHA-256 is sealed too: only its keyed index is stored.
    digest = made["passport"]["files"][0]["sha256"].encode()
    assert digest not in stored

    server.stop()
    export = tmp_path / "export"
    out = server.cli("export", str(export), check=False)
    assert out.returncode == 0, out.stderr
    written = b"".join(p.read_bytes() for p in export.rglob("*") if p.is_file())
    assert b"documents" in written
    for needle in [*_needles(person), digest]:
        assert needle not in written, needle


def _column(server: Server, column: str, document_id: str) -> bytes:
    with sqlite3.connect(server.data_dir / "kycvault.db") as db:
        row = db.execute(
            f"SELECT {column} FROM documents WHERE id = ?",  # noqa: S608 (a fixed name)
            (document_id.replace("-", ""),),
        ).fetchone()
    assert row is not None and row[0] is not None
    return bytes(row[0])


def _put(server: Server, column: str, document_id: str, value: bytes) -> None:
    with sqlite3.connect(server.data_dir / "kycvault.db") as db:
        db.execute(
            f"UPDATE documents SET {column} = ? WHERE id = ?",  # noqa: S608 (a fixed name)
            (value, document_id.replace("-", "")),
        )
        assert db.total_changes == 1


def _refused(client: httpx2.Client, document_id: str) -> None:
    response = client.get(f"/v1/documents/{document_id}")
    assert response.status_code == 500, response.text
    assert response.json()["code"] == "integrity_error"


@pytest.mark.embedded
def test_a_sealed_value_moved_to_another_row_or_rolled_back_does_not_open(
    server: Server,
) -> None:
    person = _person(16)
    tenant = server.create_tenant()
    with server.client(tenant["api_key"]) as client:
        made = _fill(client, person)
        passport, other = made["passport"]["id"], made["other"]["id"]
        for column in ("id_number_sealed", "processing_sealed"):
            kept = _column(server, column, other)
            _put(server, column, other, _column(server, column, passport))
            _refused(client, other)
            _put(server, column, other, kept)
            assert client.get(f"/v1/documents/{other}").status_code == 200
        # An older processing result over a newer state (a later generation) fails too.
        older = _column(server, "processing_sealed", passport)
        again = client.post(f"/v1/documents/{passport}/reprocess")
        assert again.status_code == 202, again.text
        assert settled(client, passport)["extracted"]["mrz"]["surname"] == person.surname
        _put(server, "processing_sealed", passport, older)
        _refused(client, passport)


@pytest.mark.embedded
def test_sealed_fields_open_and_numbers_compare_across_a_key_rotation(tmp_path: Path) -> None:
    person = _person(11)
    with server_on(
        tmp_path / "rotated", EMBEDDED, **WORKER_INSIDE, KYCVAULT_KEY_CACHE_SECONDS="0.2"
    ) as server:
        tenant = server.create_tenant()
        with server.client(tenant["api_key"]) as client:
            made = _fill(client, person)
            before = _column(server, "id_number_sealed", made["passport"]["id"])
            done = server.cli("keys", "rotate", tenant["tenant_id"], "--json")
            assert done.returncode == 0, done.stderr
            # Sealed under the retired key, still open.
            again = client.get(f"/v1/documents/{made['passport']['id']}").json()
            _shows_the_person(again, person)
            # So is the subject, and its external id is still found (indexed under the
            # tenant's first key, whatever key is current).
            _shows_the_subject(client, made["subject"]["id"])
            # A number declared after the rotation is sealed under the new key and still
            # matches the one indexed before it.
            third = new_subject(client)
            late = upload(
                client,
                "passport",
                image_bytes(),
                "late.png",
                "image/png",
                subject_id=third["id"],
                id_number=person.document_number,
            )
            doc = settled(client, late["id"])
            assert doc["id_number"] == person.document_number
            assert signal(doc, "duplicate_document_number")["fired"] is True
            after = _column(server, "id_number_sealed", late["id"])
            assert after[5:21] != before[5:21]  # the key id each names
