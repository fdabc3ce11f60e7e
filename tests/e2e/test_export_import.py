"""Moving a vault from the embedded shape to the scaled-out one: ``kycvault export`` on
SQLite + local disk, ``kycvault import`` into PostgreSQL + S3, and the same API key finds the
same documents there, every file's SHA-256 intact. An import checks every digest and the
master key before it writes, and never writes into a vault that has data."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from tests import backends
from tests.backends import Backend
from tests.e2e.processing_support import settled
from tests.helpers import PDF_BYTES, Server, image_bytes


def _fill(client: Any) -> dict[str, Any]:
    company = client.post("/v1/subjects", json={"type": "company", "display_name": "Acme"}).json()
    person = client.post(
        "/v1/subjects",
        json={"type": "individual", "display_name": "Jane", "parent_id": company["id"]},
    ).json()
    made = client.post("/v1/document-types", json={"label": "Board minutes"})
    assert made.status_code == 201, made.text
    docs = []
    for n in range(6):
        files = [("file", (f"p{n}.pdf", PDF_BYTES + str(n).encode() * 300, "application/pdf"))]
        if n % 2:
            files.append(("file", (f"scan{n}.png", image_bytes(), "image/png")))
        response = client.post(
            "/v1/documents",
            data={"type": "board_minutes" if n == 5 else "passport", "subject_id": person["id"]},
            files=files,
        )
        assert response.status_code == 201, response.text
        docs.append(response.json())
    return {"person": person, "company": company, "documents": docs}


def _contents(client: Any, docs: list[dict[str, Any]]) -> dict[str, str]:
    found = {}
    for doc in docs:
        for stored in doc["files"]:
            url = f"/v1/documents/{doc['id']}/files/{stored['id']}/content"
            response = client.get(url)
            assert response.status_code == 200, response.text
            found[stored["id"]] = hashlib.sha256(response.content).hexdigest()
    return found


@pytest.fixture
def source(tmp_path: Path) -> Server:
    return Server(tmp_path / "source")


@pytest.fixture
def target(tmp_path: Path, source: Server) -> Any:
    backends.require(backends.SCALED)
    store = Backend.create(backends.SCALED)
    key = {"KYCVAULT_ALLOW_GENERATED_KEY": "false"}
    srv = Server(tmp_path / "target", env_extra=key, backend=store)
    yield srv
    srv.stop()
    store.drop()


def _with_source_key(target: Server, source: Server) -> None:
    target.env_extra["KYCVAULT_MASTER_KEY"] = (source.data_dir / "master.key").read_text().strip()


def _filled_export(source: Server, tmp_path: Path) -> tuple[dict[str, Any], Path]:
    """A tenant filled on ``source`` (then stopped), and the export of it."""
    source.start()
    tenant = source.create_tenant()
    with source.client(tenant["api_key"]) as client:
        _fill(client)
    source.stop()
    export = tmp_path / "export"
    source.cli("export", str(export))
    return tenant, export


def _refused(target: Server, export: Path, tenant: dict[str, Any], code: str) -> str:
    """Import ``export`` into ``target``: refused with ``code``, nothing of ``tenant`` left in
    its store; the refusal's stderr."""
    refused = target.cli("import", str(export), check=False)
    assert refused.returncode == 1
    assert code in refused.stderr
    assert target.storage.tenant_blobs(tenant["tenant_id"]) == set()
    return refused.stderr


def test_embedded_vault_moves_to_postgres_and_s3(
    source: Server, target: Server, tmp_path: Path
) -> None:
    source.start()
    tenant = source.create_tenant()
    with source.client(tenant["api_key"]) as client:
        made = _fill(client)
        before = _contents(client, made["documents"])
        for doc in made["documents"]:  # their processing results move too
            settled(client, doc["id"])
        listed = client.get("/v1/documents", params={"limit": 100}).json()["data"]
    source.stop()
    assert before == {f["id"]: f["sha256"] for d in made["documents"] for f in d["files"]}

    export = tmp_path / "export"
    out = source.cli("export", str(export), check=False)
    assert out.returncode == 0, out.stderr
    assert "exported" in out.stdout
    manifest = json.loads((export / "manifest.json").read_text())
    assert manifest["blobs"]["count"] == len(before)

    _with_source_key(target, source)
    done = target.cli("import", str(export))
    assert f"{len(before)} blobs" in done.stdout
    target.start()
    with target.client(tenant["api_key"]) as client:
        assert _contents(client, made["documents"]) == before
        assert client.get("/v1/documents", params={"limit": 100}).json()["data"] == listed
        person = client.get(f"/v1/subjects/{made['person']['id']}").json()
        assert person["parent_id"] == made["company"]["id"]
        assert person["display_name"] == "Jane"  # sealed, and carried as stored
        names = [t["name"] for t in client.get("/v1/document-types").json()["data"]]
        assert "board_minutes" in names
        found = client.get("/v1/documents", params={"search": "p5"}).json()["data"]
        assert [d["id"] for d in found] == [made["documents"][5]["id"]]


def test_import_refuses_a_tampered_blob_and_writes_nothing(
    source: Server, target: Server, tmp_path: Path
) -> None:
    tenant, export = _filled_export(source, tmp_path)
    victim = next(p for p in (export / "blobs").rglob("*") if p.is_file())
    original = victim.read_bytes()
    victim.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))

    _with_source_key(target, source)
    _refused(target, export, tenant, "integrity_error")

    victim.write_bytes(original)
    assert target.cli("import", str(export)).returncode == 0  # nothing was left behind
    again = target.cli("import", str(export), check=False)
    assert again.returncode == 1
    assert "vault_not_empty" in again.stderr


def test_import_needs_the_source_master_key(source: Server, target: Server, tmp_path: Path) -> None:
    source.start()
    source.stop()
    export = tmp_path / "export"
    source.cli("export", str(export))
    target.env_extra["KYCVAULT_MASTER_KEY"] = "A" * 43 + "="
    refused = target.cli("import", str(export), check=False)
    assert refused.returncode == 1
    assert "master_key_mismatch" in refused.stderr


def test_an_incomplete_export_is_refused(source: Server, target: Server, tmp_path: Path) -> None:
    tenant, export = _filled_export(source, tmp_path)
    next(p for p in (export / "blobs").rglob("*") if p.is_file()).unlink()
    _with_source_key(target, source)
    _refused(target, export, tenant, "bad_export")


def test_import_refuses_an_edited_or_unsigned_manifest(
    source: Server, target: Server, tmp_path: Path
) -> None:
    """A row edited in the export, with its table's digest recomputed in the manifest, is
    caught by the manifest's MAC (a key derived from the master key, which an editor does not
    hold); an export without its signature is refused as unprovable."""
    tenant, export = _filled_export(source, tmp_path)
    assert (export / "manifest.sig").is_file()
    rows = export / "rows" / "subjects.jsonl"
    original_rows, original_manifest = rows.read_bytes(), (export / "manifest.json").read_bytes()
    edited = original_rows.replace(b'"individual"', b'"company"')
    assert edited != original_rows
    rows.write_bytes(edited)
    manifest = json.loads(original_manifest)
    manifest["tables"]["subjects"]["sha256"] = hashlib.sha256(edited).hexdigest()
    (export / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")

    _with_source_key(target, source)
    _refused(target, export, tenant, "manifest_mac_mismatch")

    rows.write_bytes(original_rows)
    (export / "manifest.json").write_bytes(original_manifest)
    (export / "manifest.sig").unlink()
    assert "manifest.sig" in _refused(target, export, tenant, "unsigned_export")
