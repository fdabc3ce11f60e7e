"""Subject erasure: ``POST /v1/subjects/{id}/erasure`` erases what no retention period or hold
protects, keeps the rest (and says why, until when), and destroys the subject keys of what
went, so that a restored backup of the database and the blob store cannot decrypt it."""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx2
import pytest

from kycvault.domain.models import StoredFile
from kycvault.errors import IntegrityFailure
from kycvault.services import files as file_service
from kycvault.services.context import AppContext
from tests.e2e.documents_support import new_subject
from tests.e2e.holds_support import audit_events, hold, passport
from tests.e2e.problem_support import problem
from tests.e2e.retention_support import set_rule
from tests.e2e.scopes_support import make_key
from tests.e2e.subject_keys_support import (
    read_content,
    restore_after,
    stored,
    subject_keys,
    upload,
)
from tests.helpers import Part, Server, image_bytes, post_multipart

# Every answer is checked against the OpenAPI documents (tests/spec_conformance.py).
pytestmark = pytest.mark.usefixtures("responses_conform")


def _erase(client: httpx2.Client, subject_id: str) -> dict[str, Any]:
    response = client.post(f"/v1/subjects/{subject_id}/erasure")
    assert response.status_code == 200, response.text
    done: dict[str, Any] = response.json()
    return done


def test_erasing_a_subject_with_nothing_protected_erases_it_all(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    subject = new_subject(client, display_name="Zelda Kycreviewer")
    first = upload(client, subject["id"], "passport", image_bytes("PNG"))
    second = upload(client, subject["id"], "utility_bill", image_bytes("PNG", (40, 30)))
    assert len(subject_keys(server, tenant, subject["id"])) == 1

    done = _erase(client, subject["id"])

    assert done["subject_id"] == subject["id"]
    assert {d["document_id"] for d in done["erased"]} == {first["id"], second["id"]}
    assert all(d["files"] == 1 for d in done["erased"])
    assert done["kept"] == []
    assert done["subject_erased"] is True
    assert done["keys_destroyed"] == 2  # the key the files were under, and the unused next one
    assert subject_keys(server, tenant, subject["id"]) == []
    assert client.get(f"/v1/subjects/{subject['id']}").status_code == 404
    for doc in (first, second):
        assert client.get(f"/v1/documents/{doc['id']}").status_code == 404

    [event] = audit_events(client, "subject.erased")
    assert event["subject_id"] == subject["id"]
    assert event["details"] == {"erased": 2, "kept": 0, "subject_erased": True}
    assert "Kycreviewer" not in str(event)
    assert len(audit_events(client, "document.erased")) == 2
    types = [e["type"] for e in client.get("/v1/events", params={"limit": 100}).json()["data"]]
    assert "subject.erased" in types

    problem(client.post(f"/v1/subjects/{subject['id']}/erasure"), 404, "subject_not_found")


def test_retention_and_holds_keep_documents_and_the_kept_ones_stay_readable(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    set_rule(client, "passport", "upload", "P5Y")
    subject = new_subject(client)
    retained = upload(client, subject["id"], "passport", image_bytes("PNG"))
    held_content = image_bytes("PNG", (50, 50))
    held = upload(client, subject["id"], "utility_bill", held_content)
    erased = upload(client, subject["id"], "bank_statement", image_bytes("PNG", (30, 30)))
    placed = hold(client, document_id=held["id"])
    [before] = subject_keys(server, tenant, subject["id"])

    done = _erase(client, subject["id"])

    today = datetime.now(UTC).date()
    assert [d["document_id"] for d in done["erased"]] == [erased["id"]]
    kept = {k["document_id"]: k for k in done["kept"]}
    assert kept[retained["id"]]["basis"] == "upload"
    assert kept[retained["id"]]["until"] == date(today.year + 5, today.month, today.day).isoformat()
    assert kept[held["id"]] == {"document_id": held["id"], "basis": "legal_hold", "until": None}
    assert done["subject_erased"] is False
    assert client.get(f"/v1/subjects/{subject['id']}").status_code == 200
    assert client.get(f"/v1/documents/{erased['id']}").status_code == 404
    # The kept files moved under a new generation of the subject's key; the old one, which
    # the erased file was under too, is gone.
    [after] = subject_keys(server, tenant, subject["id"])
    assert after.generation == before.generation + 1 and after.id != before.id
    assert done["keys_destroyed"] == 1
    assert read_content(client, held).content == held_content
    assert read_content(client, retained).status_code == 200

    # New files of the subject go under the new generation and read back.
    added = upload(client, subject["id"], "passport", image_bytes("PNG", (20, 20)))
    assert read_content(client, added).status_code == 200
    assert client.delete(f"/v1/legal-holds/{placed['id']}").status_code == 200
    again = _erase(client, subject["id"])
    assert {d["document_id"] for d in again["erased"]} == {held["id"]}
    assert {k["document_id"] for k in again["kept"]} == {retained["id"], added["id"]}
    assert read_content(client, retained).status_code == 200


def test_a_hold_on_the_subject_keeps_everything(client: httpx2.Client) -> None:
    doc = passport(client)
    hold(client, subject_id=doc["subject_id"])
    done = _erase(client, doc["subject_id"])
    assert done["erased"] == []
    assert done["kept"] == [{"document_id": doc["id"], "basis": "legal_hold", "until": None}]
    assert read_content(client, doc).status_code == 200


def test_a_relationship_that_has_not_ended_keeps_its_documents_with_no_day(
    client: httpx2.Client,
) -> None:
    set_rule(client, "passport", "relationship_end", "P5Y")
    doc = passport(client)
    done = _erase(client, doc["subject_id"])
    assert done["kept"] == [{"document_id": doc["id"], "basis": "relationship_end", "until": None}]


def test_a_document_moved_to_another_subject_moves_under_its_key(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    first, second = new_subject(client), new_subject(client)
    content = image_bytes("PNG", (33, 22))
    doc = upload(client, first["id"], "passport", content)
    moved = client.patch(f"/v1/documents/{doc['id']}", json={"subject_id": second["id"]})
    assert moved.status_code == 200, moved.text
    assert len(subject_keys(server, tenant, second["id"])) == 1
    # Erasing the subject it left destroys that subject's keys, not the document's.
    assert _erase(client, first["id"])["erased"] == []
    assert read_content(client, doc).content == content
    unbound = client.patch(f"/v1/documents/{doc['id']}", json={"subject_id": None})
    assert unbound.status_code == 200, unbound.text
    assert _erase(client, second["id"])["keys_destroyed"] >= 1
    assert read_content(client, doc).content == content


def test_erasure_needs_delete_and_write_scopes(
    server: Server, tenant: dict[str, Any], client: httpx2.Client, other_client: httpx2.Client
) -> None:
    subject = new_subject(client)
    for scopes in (["subjects:write", "documents:read"], ["documents:delete"]):
        key = make_key(server, tenant["tenant_id"], scopes)
        with server.client(key.api_key) as limited:
            refused = limited.post(f"/v1/subjects/{subject['id']}/erasure")
            problem(refused, 403, "insufficient_scope")
    problem(other_client.post(f"/v1/subjects/{subject['id']}/erasure"), 404, "subject_not_found")
    assert client.get(f"/v1/subjects/{subject['id']}").status_code == 200


def _open_fails(server: Server, stored: StoredFile) -> str:
    async def work(ctx: AppContext) -> str:
        with pytest.raises(IntegrityFailure) as failed:
            await file_service.open_stored(ctx, stored)
        return failed.value.code

    return server.in_context(work)


def test_a_backed_up_file_row_and_blob_no_longer_decrypt_after_erasure(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    """What a backup holds of an erased file (its row with the wrapped data key, its blob)
    is what the vault is asked to open here, with the blob put back in the store: the key
    that unwraps it is gone."""
    subject = new_subject(client)
    doc = upload(client, subject["id"], "passport", image_bytes("PNG"))
    row = stored(server, tenant, doc)
    blob = server.storage.blob(tenant["tenant_id"], doc["files"][0]["id"])
    backup = blob.read_bytes()
    assert row.subject_key_id is not None

    _erase(client, subject["id"])
    assert not blob.exists()
    blob.write_bytes(backup)
    try:
        assert _open_fails(server, row) == "subject_key_destroyed"
    finally:
        blob.unlink()


def test_restoring_the_database_and_blobs_from_before_an_erasure_restores_no_content(
    tmp_path: Path,
) -> None:
    """The embedded vault, backed up (database and blob directory, as an operator's backup of
    the data would be) before an erasure and restored after it: the rows come back, the
    content does not. The subject-key store, which lives apart, is the live one."""
    server = Server(tmp_path / "vault").start()
    try:
        tenant = server.create_tenant()
        with server.client(tenant["api_key"]) as client:
            subject = new_subject(client)
            content = image_bytes("PNG", (61, 17))
            doc = upload(client, subject["id"], "passport", content)
            kept = upload(client, new_subject(client)["id"], "passport", content)

        def erase(client: httpx2.Client) -> None:
            assert _erase(client, subject["id"])["subject_erased"] is True

        restore_after(server, tenant["api_key"], tmp_path / "backup", erase)
        with server.client(tenant["api_key"]) as client:
            assert client.get(f"/v1/documents/{doc['id']}").status_code == 200  # the row is back
            problem(read_content(client, doc), 500, "subject_key_destroyed")
            assert read_content(client, kept).content == content  # others' files are untouched
    finally:
        server.stop()


@pytest.mark.server_process  # uploads and erasures from several connections at once
def test_uploads_during_an_erasure_never_end_under_a_destroyed_key(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    """Files added to a kept document while erasures re-key its subject: each is bound either
    before a re-keying (and re-wrapped with the rest) or after it (to the new generation)."""
    set_rule(client, "passport", "upload", "P5Y")
    subject = new_subject(client)
    kept = upload(client, subject["id"], "passport", image_bytes("PNG"))
    contents = [image_bytes("PNG", (10 + i, 12)) for i in range(8)]

    def add(content: bytes) -> dict[str, Any]:
        with server.client(tenant["api_key"]) as own:
            parts = [Part("file", content, "page.png", "image/png")]
            response = post_multipart(own, f"/v1/documents/{kept['id']}/files", parts)
            assert response.status_code == 201, response.text
            added: dict[str, Any] = response.json()["data"][0]
            return added

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(add, content) for content in contents]
        for _ in range(3):
            assert _erase(client, subject["id"])["kept"][0]["document_id"] == kept["id"]
        added = [f.result() for f in futures]

    for file, content in zip(added, contents, strict=True):
        got = client.get(f"/v1/documents/{kept['id']}/files/{file['id']}/content")
        assert got.status_code == 200, got.text
        assert got.content == content
    assert len(subject_keys(server, tenant, subject["id"])) == 1


def test_deleting_a_subject_destroys_its_keys(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    subject = new_subject(client)
    doc = upload(client, subject["id"], "passport", image_bytes("PNG"))
    assert client.delete(f"/v1/documents/{doc['id']}").status_code == 204
    # The deletion's re-keying (run by the embedded server's worker meanwhile, or never)
    # leaves one generation, after two for a moment.
    assert _eventually(lambda: len(subject_keys(server, tenant, subject["id"])) == 1)
    assert client.delete(f"/v1/subjects/{subject['id']}").status_code == 204
    assert _eventually(lambda: subject_keys(server, tenant, subject["id"]) == [])


def _eventually(check: Callable[[], bool], seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True
