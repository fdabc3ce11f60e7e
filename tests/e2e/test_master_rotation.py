"""Moving a live vault to a new master key: files uploaded, API keys made and audit events
written under the old key; the servers restarted with both keys; ``kycvault keys
rotate-master`` interrupted after its first committed row and run again; then the servers on
the new key alone serve every file, accept every old API key, and the audit trail verifies.
Started on the old key alone afterwards, the vault refuses (``master_key_mismatch``). On
SQLite + local disk and on PostgreSQL + S3."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import backends
from tests.backends import Backend
from tests.helpers import PDF_BYTES, Server

ROTATE = ("keys", "rotate-master")


def _upload(server: Server, api_key: str, n: int) -> dict[str, str]:
    """Two documents of one tenant; the SHA-256 of each stored file by its URL."""
    stored = {}
    with server.client(api_key) as client:
        subject = client.post("/v1/subjects", json=_said(n))
        assert subject.status_code == 201, subject.text
        for i in range(2):
            body = PDF_BYTES + f"{n}-{i}".encode() * 500
            made = client.post(
                "/v1/documents",
                data={"type": "passport", "subject_id": subject.json()["id"]},
                files=[("file", (f"p{i}.pdf", body, "application/pdf"))],
            )
            assert made.status_code == 201, made.text
            doc = made.json()
            for file in doc["files"]:
                url = f"/v1/documents/{doc['id']}/files/{file['id']}/content"
                stored[url] = hashlib.sha256(body).hexdigest()
    return stored


def _said(n: int) -> dict[str, Any]:
    """What the client says of tenant ``n``'s subject: sealed under its tenant key."""
    return {
        "type": "individual",
        "display_name": f"J Rotated {n}",
        "external_id": f"crm-{n}",
        "metadata": {"n": n},
    }


def _downloads(server: Server, api_key: str, stored: dict[str, str]) -> None:
    with server.client(api_key) as client:
        [subject] = client.get("/v1/subjects").json()["data"]
        n = subject["metadata"]["n"]
        assert {k: subject[k] for k in _said(n)} == _said(n)
        for url, digest in stored.items():
            got = client.get(url)
            assert got.status_code == 200, got.text
            assert hashlib.sha256(got.content).hexdigest() == digest


def _status(server: Server) -> dict[str, Any]:
    status: dict[str, Any] = json.loads(server.cli("keys", "status", "--json").stdout)
    return status


def _under(status: dict[str, Any], table: str) -> dict[str, int]:
    return {w["master_key_id"]: w["rows"] for w in status["wrapped"] if w["table"] == table}


@pytest.fixture(params=backends.ALL)
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    """A vault on each backend pair: its key in a file beside the data (embedded) or given
    in the environment (PostgreSQL + S3)."""
    backends.require(request.param)
    store = Backend.create(request.param)
    srv = Server(tmp_path, backend=store)
    try:
        yield srv
    finally:
        srv.stop()
        store.drop()


def test_a_live_vault_moves_to_a_new_master_key(server: Server, tmp_path: Path) -> None:
    server.start()
    try:
        old_id = _status(server)["configured"]
        tenants = [server.create_tenant() for _ in range(3)]
        files = {t["api_key"]: _upload(server, str(t["api_key"]), n) for n, t in enumerate(tenants)}
        more = json.loads(
            server.cli("key", "create", str(tenants[0]["tenant_id"]), "--json").stdout
        )
        before = _under(_status(server), "tenant_keys")  # with the embedded first tenant's
        assert list(before) == [old_id]
        total = before[old_id]
        # Beside the old key: the embedded subject-key store lives beside the key file.
        new_key = server.data_dir / "new.key"
        created = server.cli("init-key", "--file", str(new_key)).stdout
        new_id = created.split("master key id ")[1].split(")")[0]
        assert new_id != old_id

        # A rolling restart with both keys: the old one still current, the new one accepted.
        server.stop()
        server.env_extra["KYCVAULT_PREVIOUS_MASTER_KEY_FILES"] = str(new_key)
        server.start()

        # Interrupted twice: after the root's row, then after the first tenant key.
        crashing = server.twin(KYCVAULT_CRASHPOINT="rotate_master.row_rewrapped")
        for under_new in (0, 1):
            crashed = crashing.cli(*ROTATE, "--new-key-file", str(new_key), check=False)
            assert crashed.returncode == -9, crashed.stderr
            halfway = _status(server)
            assert _under(halfway, "vault_keys") == {new_id: 1}
            expected = {new_id: under_new, old_id: total - under_new}
            assert _under(halfway, "tenant_keys") == {k: n for k, n in expected.items() if n}
        for api_key, stored in files.items():  # the running server serves all along
            _downloads(server, api_key, stored)

        done = server.cli(*ROTATE, "--new-key-file", str(new_key)).stdout
        assert f"0 vault keys and {total - 1} tenant keys under master key {new_id}" in done
        again = server.cli(*ROTATE, "--new-key-file", str(new_key)).stdout
        assert "0 vault keys and 0 tenant keys" in again
        finished = _status(server)
        assert _under(finished, "vault_keys") == {new_id: 1}
        assert _under(finished, "tenant_keys") == {new_id: total}

        # Restarted on the new key alone: every file, every old API key, the audit trail.
        server.stop()
        del server.env_extra["KYCVAULT_PREVIOUS_MASTER_KEY_FILES"]
        server.env_extra["KYCVAULT_MASTER_KEY_PROVIDER"] = "file"
        server.env_extra["KYCVAULT_MASTER_KEY_FILE"] = str(new_key)
        server.start()
        assert _status(server)["configured"] == new_id
        for api_key, stored in files.items():
            _downloads(server, api_key, stored)
        with server.client(str(more["api_key"])) as client:
            assert client.get("/v1/documents").status_code == 200
            events = client.get("/v1/audit-events", params={"action": "tenant_key.rewrapped"})
            assert events.status_code == 200, events.text
            [event] = events.json()["data"]
            assert event["details"] == {"from_master_key": old_id, "to_master_key": new_id}
        verified = json.loads(server.cli("audit", "verify", "--json").stdout)
        assert verified["intact"] and verified["events"] > 0

        # The old key alone no longer opens the vault.
        server.stop()
        del server.env_extra["KYCVAULT_MASTER_KEY_FILE"]
        del server.env_extra["KYCVAULT_MASTER_KEY_PROVIDER"]
        refused = server.cli("tenant", "list", check=False)
        assert refused.returncode == 1
        assert "master_key_mismatch" in refused.stderr and new_id in refused.stderr
    finally:
        server.stop()
