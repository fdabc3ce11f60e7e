"""``kycvault fsck`` and the scrub against a real server's store, on both backend pairs:
damage staged straight in the store (a truncated blob, a flipped byte, a lost blob, an
unreferenced blob, a dead process's staging file) is found and named; ``--repair`` removes the
leftovers and nothing else; the scrub turns a damaged file into an audit event and a metric."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from kycvault.adapters.staging_owner import owner_tag
from tests.helpers import PDF_BYTES, Part, Server, post_multipart, server_on
from tests.stored_blobs import StoredBlob

pytestmark = pytest.mark.slow


def _upload(client: httpx2.Client, data: bytes) -> dict[str, Any]:
    response = post_multipart(
        client, "/v1/documents", [Part("type", b"bank_statement"), Part("file", data, "s.pdf")]
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _blob(srv: Server, tenant: dict[str, Any], doc: dict[str, Any]) -> StoredBlob:
    return srv.storage.blob(tenant["tenant_id"], doc["files"][0]["id"])


def _fsck(srv: Server, *args: str) -> tuple[int, dict[str, Any]]:
    done = srv.cli("fsck", "--json", *args, check=False)
    assert done.returncode in (0, 1), done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return done.returncode, report


def _kinds(report: dict[str, Any]) -> dict[str, str]:
    """file id or blob key or staging name → kind of finding."""
    found = {}
    for finding in report["findings"]:
        where = finding.get("file_id") or finding.get("key") or finding.get("name")
        found[str(where)] = finding["kind"]
    return found


def _dead_writer_tag() -> str:
    """The tag of a process that has ended (a staging file it wrote can never be published)."""
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    host, _, start = owner_tag().split("_")
    return f"{host}_{done.stdout.strip()}_{int(start) + 1}"


@pytest.fixture
def fsck_server(tmp_path: Path, backend: str) -> Iterator[Server]:
    # Leftovers count at once for fsck run beside this server (no upload is in flight).
    with server_on(tmp_path, backend, KYCVAULT_ORPHAN_GRACE_SECONDS="0") as srv:
        yield srv


def test_fsck_names_damage_and_repairs_only_leftovers(fsck_server: Server) -> None:
    srv = fsck_server
    tenant = srv.create_tenant()
    with srv.client(tenant["api_key"]) as client:
        docs = [_upload(client, PDF_BYTES + bytes([n]) * 3000) for n in range(5)]
    code, report = _fsck(srv)
    assert (code, report["clean"], report["files_checked"]) == (0, True, 5), report

    truncated, flipped, lost = (_blob(srv, tenant, d) for d in docs[:3])
    truncated.write_bytes(truncated.read_bytes()[:-10])
    data = bytearray(flipped.read_bytes())
    data[40] ^= 1
    flipped.write_bytes(bytes(data))
    kept = lost.read_bytes()
    lost.unlink()
    orphan = StoredBlob(srv.storage, lost.key[:-1] + ("0" if lost.key[-1] != "0" else "1"))
    orphan.write_bytes(kept)
    staging = srv.data_dir / ("spool" if srv.storage.url else "blobs/.staging")
    prefix = "kv-s3-" if srv.storage.url else ""
    leftover = staging / f"{prefix}{_dead_writer_tag()}.deadbeef.tmp"
    leftover.write_bytes(b"ciphertext of an upload whose process died")

    code, report = _fsck(srv)
    assert code == 1
    assert not report["clean"]
    file_of = {name: docs[n]["files"][0]["id"] for n, name in enumerate(("t", "f", "l"))}
    assert _kinds(report) == {
        file_of["t"]: "blob_wrong_size",
        file_of["f"]: "integrity_error",
        file_of["l"]: "blob_missing",
        orphan.key: "unreferenced_blob",
        leftover.name: "staging_leftover",
    }

    code, report = _fsck(srv, "--repair")
    assert code == 1  # the damaged files stay findings: only leftovers are repaired
    repaired = {f["kind"] for f in report["findings"] if f["repaired"]}
    assert repaired == {"unreferenced_blob", "staging_leftover"}
    assert not orphan.exists()
    assert not leftover.exists()
    assert truncated.exists() and flipped.exists()
    code, report = _fsck(srv)
    assert set(_kinds(report).values()) == {"blob_wrong_size", "integrity_error", "blob_missing"}

    human = srv.cli("fsck", "--no-verify", check=False)
    assert human.returncode == 1
    assert "blob_missing" in human.stdout and "5 files checked" in human.stdout


def test_the_scrub_reports_a_damaged_file(tmp_path: Path, backend: str) -> None:
    env = {
        "KYCVAULT_SCRUB_CYCLE_DAYS": "0.00002",  # about 1.7 s
        "KYCVAULT_IN_PROCESS_WORKER": "true",
        "KYCVAULT_WORKER_POLL_SECONDS": "0.1",
    }
    with server_on(tmp_path, backend, **env) as srv:
        tenant = srv.create_tenant()
        with srv.client(tenant["api_key"]) as client:
            doc = _upload(client, PDF_BYTES + b"x" * 5000)
            blob = _blob(srv, tenant, doc)
            data = bytearray(blob.read_bytes())
            data[-3] ^= 0xFF
            blob.write_bytes(bytes(data))
            deadline = time.monotonic() + 60
            while True:
                events = client.get("/v1/audit-events").json()["data"]
                failed = [e for e in events if e["action"] == "file.integrity_failed"]
                if failed or time.monotonic() > deadline:
                    break
                time.sleep(0.3)
            assert failed, events
            assert failed[0]["target_id"] == doc["files"][0]["id"]
            assert failed[0]["outcome"] == "failure"
            metrics = httpx2.get(f"{srv.url}/metrics").text
        assert (
            'kycvault_integrity_failures_total{problem="integrity_error",source="scrub"}' in metrics
        )
