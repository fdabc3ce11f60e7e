"""The crash matrix: the real server kills itself (SIGKILL) at each named step of an upload, a
file addition and a deletion (``kycvault.crashpoints``), on both backend pairs. After each
restart the retry with the same Idempotency-Key yields exactly one write (replayed when the
first attempt had committed), ``fsck`` is clean once the successor has swept what the dead
process left, and the test's own write reads back byte for byte; when the module's crashes
are done, every write acknowledged in any of them is intact and ``fsck`` verifies every
blob. An import killed after publishing its blobs runs again to completion; one killed after
committing its rows is complete (a second run is refused); either way the store is clean and
every file reads back."""

from __future__ import annotations

import hashlib
import signal
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2
import pytest

from kycvault.services.sweep import Grace
from tests.backends import Backend
from tests.e2e.crash_support import (
    CRASH_ENV,
    Ledger,
    Upload,
    assert_fsck_clean,
    assert_intact,
    documents_tagged,
    file_bytes,
    no_processing,
    send_until_settled,
    wait_killed,
)
from tests.helpers import Server, server_on

pytestmark = pytest.mark.slow

ORPHAN_GRACE = 2
GRACE = Grace(orphan_seconds=ORPHAN_GRACE, staging_seconds=3600)


@dataclass(frozen=True)
class Point:
    operation: str  # create | add | delete
    name: str
    committed: bool  # whether the first attempt's change was committed when it died


POINTS = [
    Point("create", "idempotency.claimed", committed=False),
    Point("create", "upload.mid_body", committed=False),
    Point("create", "upload.staged", committed=False),
    Point("create", "upload.published", committed=False),
    Point("create", "document.create.before_commit", committed=False),
    Point("create", "document.create.after_commit", committed=True),
    Point("add", "upload.staged", committed=False),
    Point("add", "upload.published", committed=False),
    Point("add", "files.add.before_commit", committed=False),
    Point("add", "files.add.after_commit", committed=True),
    Point("delete", "document.delete.before_commit", committed=False),
    Point("delete", "document.delete.after_commit", committed=True),
]


@dataclass
class Crashing:
    srv: Server
    client: httpx2.Client
    ledger: Ledger


@pytest.fixture(scope="module")
def crashing(tmp_path_factory: pytest.TempPathFactory, backend: str) -> Iterator[Crashing]:
    root = tmp_path_factory.mktemp(f"crash-{backend}")
    env = {**CRASH_ENV, "KYCVAULT_ORPHAN_GRACE_SECONDS": str(ORPHAN_GRACE)}
    with server_on(root, backend, **env) as srv:
        tenant = srv.create_tenant()
        with srv.client(tenant["api_key"]) as client:
            no_processing(client)
            crashing = Crashing(srv, client, Ledger())
            yield crashing
            # After every crash of the module: each file acknowledged in any test is intact,
            # its blob decrypts and verifies, and nothing is left over.
            assert_fsck_clean(srv, GRACE)
            assert_intact(client, crashing.ledger)


def _new_upload(document_id: str | None = None) -> Upload:
    key = f"crash-{uuid.uuid4().hex}"
    # Two files of a few frames each (1 MiB frames), so mid-body points fall inside a file.
    return Upload(
        key, [file_bytes(key + "a", 2_500_000), file_bytes(key + "b", 70_000)], document_id
    )


def _acknowledged(crashing: Crashing, upload: Upload) -> str:
    response = upload.send(crashing.client)
    assert response.status_code == 201, response.text
    crashing.ledger.record(upload, response.json())
    return str(response.json()["id"]) if upload.document_id is None else upload.document_id


def _delete(
    client: httpx2.Client, document_id: str, key: str, crashpoint: str | None = None
) -> httpx2.Response:
    headers = {"Idempotency-Key": key}
    if crashpoint:
        headers["X-Crashpoint"] = crashpoint
    return client.delete(f"/v1/documents/{document_id}", headers=headers)


@pytest.mark.parametrize("point", POINTS, ids=lambda p: f"{p.operation}-{p.name}")
def test_a_crash_at_each_step_leaves_one_write_and_a_clean_store(
    crashing: Crashing, point: Point
) -> None:
    srv, client, ledger = crashing.srv, crashing.client, crashing.ledger
    target = _acknowledged(crashing, _new_upload()) if point.operation != "create" else None
    upload = _new_upload(target if point.operation == "add" else None)
    delete_key = f"crash-{uuid.uuid4().hex}"

    def first_attempt() -> httpx2.Response:
        if point.operation == "delete":
            assert target is not None
            return _delete(client, target, delete_key, crashpoint=point.name)
        return upload.send(client, crashpoint=point.name)

    with pytest.raises(httpx2.TransportError):
        first_attempt()
    wait_killed(srv)
    srv.start()

    if point.operation == "delete":
        assert target is not None
        retried = _delete(client, target, delete_key)
        while retried.status_code == 409:  # the dead attempt's claim lapses (0.3 s)
            retried = _delete(client, target, delete_key)
        assert retried.status_code == 204, retried.text
        ledger.deleted.add(target)
    else:
        retried = send_until_settled(client, upload)
        assert retried.status_code == 201, retried.text
        ledger.record(upload, retried.json())
    assert (retried.headers.get("idempotent-replayed") == "true") == point.committed

    if point.operation == "create":
        [tagged] = documents_tagged(client, upload.key)
        assert tagged["id"] == retried.json()["id"]
    if point.operation == "add":
        assert target is not None
        files = client.get(f"/v1/documents/{target}/files").json()["data"]
        sent = [hashlib.sha256(data).hexdigest() for data in upload.files]
        assert len(files) == 2 + len(sent)  # the document's own two, and these once
        assert [f["sha256"] for f in files[2:]] == sent

    # This test's documents read back (the whole ledger is checked when the module ends).
    assert_fsck_clean(srv, GRACE, verify=False)
    touched = {retried.json()["id"] if point.operation == "create" else target}
    assert_intact(client, ledger, only={str(d) for d in touched})


@pytest.mark.parametrize("point", ["import.blobs_published", "import.rows_committed"])
def test_an_import_killed_mid_way_can_be_finished_and_leaves_a_clean_store(
    tmp_path: Path, backend: str, point: str
) -> None:
    source = Server(tmp_path / "source").start()
    tenant = source.create_tenant()
    ledger = Ledger()
    with source.client(tenant["api_key"]) as client:
        no_processing(client)
        for _ in range(3):
            _acknowledged(Crashing(source, client, ledger), _new_upload())
    source.stop()
    export = tmp_path / "export"
    assert source.cli("export", str(export)).returncode == 0

    store = Backend.create(backend)
    key = (source.data_dir / "master.key").read_text().strip()
    target = Server(tmp_path / "target", env_extra={"KYCVAULT_MASTER_KEY": key}, backend=store)
    try:
        target.env_extra["KYCVAULT_CRASHPOINT"] = point
        killed = target.cli("import", str(export), check=False)
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        del target.env_extra["KYCVAULT_CRASHPOINT"]
        again = target.cli("import", str(export), check=False)
        if point == "import.blobs_published":
            # Nothing was committed: the same import runs again over the blobs in place.
            assert again.returncode == 0, again.stderr
        else:
            assert again.returncode == 1
            assert "vault_not_empty" in again.stderr
        target.start()
        with target.client(tenant["api_key"]) as client:
            assert_intact(client, ledger)
        assert_fsck_clean(target, Grace(orphan_seconds=0, staging_seconds=3600))
    finally:
        target.stop()
        store.drop()
