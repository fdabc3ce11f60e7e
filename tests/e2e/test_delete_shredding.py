"""Shredding on delete: a document (or file) of a subject deleted by a DELETE, the retention
purge or a questionnaire answer's removal no longer decrypts from a backup of the database and
the blob store, once the subject's re-keying (a ``subject.rekey`` job, run here by
``kycvault worker --once``) has moved the subject's other files under a new generation of its
key and destroyed the older ones; a crash anywhere in the re-keying leaves every file
readable, and running it again finishes it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx2
import pytest

from kycvault import crashpoints
from kycvault.domain.models import StoredFile
from kycvault.errors import IntegrityFailure
from kycvault.services import files as file_service
from kycvault.services import subject_rekey
from kycvault.services.context import AppContext
from tests.e2e.documents_support import new_subject
from tests.e2e.holds_support import audit_events, dialect_target, hold
from tests.e2e.kycgenie_support import answer_upload, entity, response_of
from tests.e2e.problem_support import problem
from tests.e2e.retention_support import exists, purge, set_rule
from tests.e2e.subject_keys_support import (
    read_content,
    restore_after,
    stored,
    subject_keys,
    upload,
)
from tests.helpers import Part, Server, image_bytes, post_multipart, server_on

# Every answer is checked against the OpenAPI documents (tests/spec_conformance.py).
pytestmark = pytest.mark.usefixtures("responses_conform")

# The re-keying runs when the test says (``worker --once``), not in the server's own worker.
NO_WORKER = {"KYCVAULT_IN_PROCESS_WORKER": "false"}


@pytest.fixture(scope="module")
def vault(tmp_path_factory: pytest.TempPathFactory, backend: str) -> Iterator[Server]:
    with server_on(tmp_path_factory.mktemp(f"shred-{backend}"), backend, **NO_WORKER) as srv:
        yield srv


@pytest.fixture
def tenant(vault: Server) -> dict[str, Any]:
    return vault.create_tenant()


@pytest.fixture
def client(vault: Server, tenant: dict[str, Any]) -> Iterator[httpx2.Client]:
    with vault.client(tenant["api_key"]) as c:
        yield c


def opens(server: Server, row: StoredFile) -> str:
    """``ok`` if the vault can open ``row`` (its blob in place), else the failure's code."""

    async def work(ctx: AppContext) -> str:
        try:
            opened = await file_service.open_stored(ctx, row)
        except IntegrityFailure as failed:
            return failed.code
        try:
            async for _ in opened.stream():
                pass
        finally:
            opened.close()
        return "ok"

    return server.in_context(work)


def rekeyed(client: httpx2.Client, subject_id: str) -> list[dict[str, Any]]:
    return [e for e in audit_events(client, "subject.rekeyed") if e["subject_id"] == subject_id]


def run_worker(server: Server, **env: str) -> int:
    return server.twin(**env).cli("worker", "--once", check=False).returncode


def backed_up_opens(server: Server, tenant: dict[str, Any], row: StoredFile, blob: bytes) -> str:
    """Whether the deleted file, its row and blob put back as a backup holds them, opens."""
    restored = server.storage.blob(tenant["tenant_id"], str(row.id))
    restored.write_bytes(blob)
    try:
        return opens(server, row)
    finally:
        restored.unlink()


@dataclass
class Pair:
    """Two documents of one subject: one to delete (its row and blob as a backup holds them),
    one that stays."""

    subject_id: str
    gone: dict[str, Any]
    kept: dict[str, Any]
    kept_body: bytes
    row: StoredFile
    blob: bytes


def pair(vault: Server, tenant: dict[str, Any], client: httpx2.Client, gone_type: str) -> Pair:
    subject_id = new_subject(client)["id"]
    gone = upload(client, subject_id, gone_type, image_bytes("PNG", (21, 9)))
    body = image_bytes("PNG", (22, 9))
    kept = upload(client, subject_id, "passport", body)
    row = stored(vault, tenant, gone)
    blob = vault.storage.blob(tenant["tenant_id"], str(row.id)).read_bytes()
    return Pair(subject_id, gone, kept, body, row, blob)


def test_a_deleted_document_no_longer_decrypts_from_a_backup_once_its_subject_is_rekeyed(
    vault: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    two = pair(vault, tenant, client, "passport")
    (before,) = subject_keys(vault, tenant, two.subject_id)

    assert client.delete(f"/v1/documents/{two.gone['id']}").status_code == 204
    # Until the re-keying runs, the backed-up row still opens: the shredding's latency.
    assert backed_up_opens(vault, tenant, two.row, two.blob) == "ok"
    assert run_worker(vault) == 0

    assert backed_up_opens(vault, tenant, two.row, two.blob) == "subject_key_destroyed"
    assert read_content(client, two.kept).content == two.kept_body  # the other file, live
    (after,) = subject_keys(vault, tenant, two.subject_id)
    assert after.generation == before.generation + 1
    (event,) = rekeyed(client, two.subject_id)
    assert event["actor"] == "worker"
    assert event["details"]["files"] == 1 and event["details"]["destroyed"] == 1
    assert "wrapped_key" not in str(event) and after.wrapped_key.hex() not in str(event)


def test_deletions_in_a_burst_share_one_rekeying(
    vault: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    subject = new_subject(client)
    docs = [
        upload(client, subject["id"], "passport", image_bytes("PNG", (30 + i, 9))) for i in range(4)
    ]
    for doc in docs[:3]:
        assert client.delete(f"/v1/documents/{doc['id']}").status_code == 204
    file_id = docs[3]["files"][0]["id"]
    # A file deleted from a document shreds the same way.
    added = post_multipart(
        client,
        f"/v1/documents/{docs[3]['id']}/files",
        [Part("file", image_bytes("PNG", (40, 9)), "p.png", "image/png")],
    )
    assert added.status_code == 201, added.text
    assert client.delete(f"/v1/documents/{docs[3]['id']}/files/{file_id}").status_code == 204
    assert run_worker(vault) == 0
    assert len(rekeyed(client, subject["id"])) == 1
    assert [k.generation for k in subject_keys(vault, tenant, subject["id"])] == [2]


def test_a_retention_purge_shreds_what_it_deletes(
    vault: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    """A rule of ``P0D``: the worker's ``--once`` purges the document and, in the same run,
    re-keys its subject; a document under hold is not deleted, so nothing of it changes."""
    set_rule(client, "utility_bill", "upload", "P0D")
    two = pair(vault, tenant, client, "utility_bill")

    assert run_worker(vault) == 0

    assert not exists(client, two.gone["id"])
    assert backed_up_opens(vault, tenant, two.row, two.blob) == "subject_key_destroyed"
    assert read_content(client, two.kept).content == two.kept_body
    assert [k.generation for k in subject_keys(vault, tenant, two.subject_id)] == [2]
    assert len(rekeyed(client, two.subject_id)) == 1


def test_a_held_document_is_not_purged_and_its_subject_not_rekeyed(
    vault: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    set_rule(client, "utility_bill", "upload", "P0D")
    subject = new_subject(client)
    held = upload(client, subject["id"], "utility_bill", image_bytes("PNG", (25, 9)))
    hold(client, document_id=held["id"])
    assert purge(vault, tenant) == 0
    assert run_worker(vault) == 0
    assert exists(client, held["id"])
    assert [k.generation for k in subject_keys(vault, tenant, subject["id"])] == [1]


def test_deleting_a_questionnaire_answer_shreds_the_document_it_uploaded(
    vault: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    company = entity(vault, tenant["api_key"])
    response = response_of(client, company["id"])
    doc_id, url = answer_upload(client, response["id"])
    row = stored(vault, tenant, {"id": doc_id})
    blob = vault.storage.blob(tenant["tenant_id"], str(row.id)).read_bytes()
    assert client.delete(url).status_code == 204
    assert run_worker(vault) == 0
    assert len(rekeyed(client, company["id"])) == 1
    assert backed_up_opens(vault, tenant, row, blob) == "subject_key_destroyed"


def test_a_document_moved_away_is_shredded_with_the_subject_it_joins(
    vault: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    """Moved from one subject to another, a file's backed-up row (under the first subject's
    key) stops opening once the first subject is re-keyed: erasing the subject it joined
    then leaves no copy of it that opens."""
    two = pair(vault, tenant, client, "passport")
    joined = new_subject(client)["id"]
    moved = client.patch(f"/v1/documents/{two.gone['id']}", json={"subject_id": joined})
    assert moved.status_code == 200, moved.text
    # The blob is the live one (a move leaves it as it is): the old row is what a backup holds.
    assert opens(vault, two.row) == "ok"
    assert run_worker(vault) == 0
    assert opens(vault, two.row) == "subject_key_destroyed"
    assert read_content(client, two.gone).status_code == 200  # live, under its new subject
    assert read_content(client, two.kept).content == two.kept_body


def test_a_file_replaced_by_an_update_is_shredded(vault: Server) -> None:
    """Cynopsis' update replaces the side it is sent: the replaced file is deleted, and
    shredded like any other."""
    tenant, ids = dialect_target(vault)
    row = stored(vault, tenant, {"id": ids["doc"]})
    blob = vault.storage.blob(tenant["tenant_id"], str(row.id)).read_bytes()
    url = f"/compat/cynopsis/api/customer/{ids['subject_number']}/document/{ids['doc_number']}"
    front = ("front", ("front.png", image_bytes("PNG", (35, 35)), "image/png"))
    with vault.client(tenant["api_key"], headers={"X-Domain-ID": ids["domain"]}) as cyn:
        replaced = cyn.put(url, data={"document": '{"type": "PASSPORT"}'}, files=[front])
        assert replaced.status_code == 200, replaced.text
        assert run_worker(vault) == 0
        assert len(rekeyed(cyn, ids["subject"])) == 1
    assert backed_up_opens(vault, tenant, row, blob) == "subject_key_destroyed"


@pytest.mark.parametrize("crashpoint", ["subject.rekey.key_made", "subject.rekey.batch_committed"])
def test_a_crash_in_the_rekeying_leaves_every_file_readable_and_a_rerun_finishes_it(
    vault: Server, tenant: dict[str, Any], client: httpx2.Client, crashpoint: str
) -> None:
    subject = new_subject(client)
    gone = upload(client, subject["id"], "passport", image_bytes("PNG", (26, 9)))
    contents = [image_bytes("PNG", (27 + i, 9)) for i in range(3)]
    kept = [upload(client, subject["id"], "passport", c) for c in contents]
    row = stored(vault, tenant, gone)
    blob = vault.storage.blob(tenant["tenant_id"], str(row.id)).read_bytes()
    assert run_worker(vault) == 0  # the uploads' own jobs, out of the way
    assert client.delete(f"/v1/documents/{gone['id']}").status_code == 204

    lease = {"KYCVAULT_JOB_LEASE_SECONDS": "1"}
    assert run_worker(vault, KYCVAULT_CRASHPOINT=crashpoint, **lease) == -9  # SIGKILL
    assert len(subject_keys(vault, tenant, subject["id"])) == 2  # both generations still there
    for doc, body in zip(kept, contents, strict=True):
        assert read_content(client, doc).content == body

    time.sleep(1.2)  # the dead worker's lease lapses
    assert run_worker(vault, **lease) == 0
    for doc, body in zip(kept, contents, strict=True):
        assert read_content(client, doc).content == body
    assert len(subject_keys(vault, tenant, subject["id"])) == 1
    assert backed_up_opens(vault, tenant, row, blob) == "subject_key_destroyed"


class Crash(Exception):
    pass


def test_a_rekeying_stopped_between_batches_leaves_every_file_readable(
    vault: Server, tenant: dict[str, Any], client: httpx2.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stopped after its first batch of one file: the subject's files are under two
    generations, both still there, and each file reads; the job then finishes the work."""
    subject = new_subject(client)
    gone = upload(client, subject["id"], "passport", image_bytes("PNG", (33, 9)))
    contents = [image_bytes("PNG", (34 + i, 9)) for i in range(3)]
    kept = [upload(client, subject["id"], "passport", c) for c in contents]
    assert client.delete(f"/v1/documents/{gone['id']}").status_code == 204

    def reached(name: str) -> None:
        if name == "subject.rekey.batch_committed":
            raise Crash(name)

    monkeypatch.setattr(subject_rekey, "BATCH", 1)
    monkeypatch.setattr(crashpoints, "reached", reached)
    tenant_id, subject_id = UUID(str(tenant["tenant_id"])), UUID(subject["id"])
    with pytest.raises(Crash):
        vault.in_context(lambda ctx: subject_rekey.rekey(ctx, tenant_id, subject_id))
    monkeypatch.undo()

    under = {stored(vault, tenant, doc).subject_key_id for doc in kept}
    assert len(under) == 2 and under <= {k.id for k in subject_keys(vault, tenant, subject["id"])}
    for doc, body in zip(kept, contents, strict=True):
        assert read_content(client, doc).content == body
    assert run_worker(vault) == 0  # the deletion's job, still queued, finishes it
    (left,) = subject_keys(vault, tenant, subject["id"])
    for doc, body in zip(kept, contents, strict=True):
        assert stored(vault, tenant, doc).subject_key_id == left.id
        assert read_content(client, doc).content == body


@pytest.mark.embedded
def test_restoring_the_database_and_blobs_from_before_a_delete_restores_no_content(
    tmp_path: Path,
) -> None:
    """The embedded vault backed up (database and blob directory, not the subject-key store)
    before a DELETE, and restored after the re-keying: the deleted document's row comes back,
    its content does not. The subject's other document is read live before the restore; its
    restored row, wrapped by the destroyed generation too, does not decrypt either (a restore
    older than a re-keying needs the subject-key store's backup of the same age: README,
    "Compliance"). Another subject's document is untouched."""

    server = Server(tmp_path / "vault", env_extra=dict(NO_WORKER)).start()
    try:
        tenant = server.create_tenant()
        body = image_bytes("PNG", (61, 18))
        with server.client(tenant["api_key"]) as client:
            subject = new_subject(client)
            gone = upload(client, subject["id"], "passport", body)
            sibling = upload(client, subject["id"], "passport", body)
            stranger = upload(client, new_subject(client)["id"], "passport", body)

        def delete(client: httpx2.Client) -> None:
            assert client.delete(f"/v1/documents/{gone['id']}").status_code == 204
            assert run_worker(server) == 0
            assert read_content(client, sibling).content == body

        restore_after(server, tenant["api_key"], tmp_path / "backup", delete)
        with server.client(tenant["api_key"]) as client:
            assert client.get(f"/v1/documents/{gone['id']}").status_code == 200  # the row is back
            problem(read_content(client, gone), 500, "subject_key_destroyed")
            problem(read_content(client, sibling), 500, "subject_key_destroyed")
            assert read_content(client, stranger).content == body
    finally:
        server.stop()
