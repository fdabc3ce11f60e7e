"""Encryption at rest and verification on read, checked on the files the server leaves."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import httpx2

from tests.helpers import Part, Server, post_multipart
from tests.stored_blobs import StoredBlob


def _all_files(*roots: Path) -> list[Path]:
    return [Path(d) / f for root in roots for d, _, names in os.walk(root) for f in names]


def _upload(client: httpx2.Client, data: bytes, name: str = "statement.txt") -> dict:  # type: ignore[type-arg]
    response = post_multipart(
        client,
        "/v1/documents",
        [Part("type", b"bank_statement"), Part("file", data, name, "text/plain")],
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def test_no_plaintext_anywhere_on_disk(fresh_server: Server) -> None:
    marker = f"KYCMARKER-{secrets.token_hex(16)}".encode()
    # Big enough to span several encryption frames and any in-memory spool threshold.
    data = (marker + b"\n" + secrets.token_hex(64).encode() + b"\n") * 40_000
    with fresh_server.client(fresh_server.create_tenant()["api_key"]) as client:
        doc = _upload(client, data)
        assert (
            client.get(f"/v1/documents/{doc['id']}/files/{doc['files'][0]['id']}/content").content
            == data
        )
    found = _all_files(fresh_server.data_dir, fresh_server.tmp_dir)
    assert any("blobs" in str(p) for p in found)
    for path in found:
        content = path.read_bytes()
        assert marker not in content, f"plaintext found in {path}"
        assert data[1000:1064] not in content, f"plaintext found in {path}"


def _blob_path(server: Server, tenant_id: str, file_id: str) -> StoredBlob:
    return server.storage.blob(tenant_id, file_id)


def test_a_tampered_blob_is_never_served(server: Server) -> None:
    tenant = server.create_tenant()
    with server.client(tenant["api_key"]) as client:
        doc = _upload(client, b"account statement\n" * 1000)
        file_id = doc["files"][0]["id"]
        url = f"/v1/documents/{doc['id']}/files/{file_id}/content"
        path = _blob_path(server, tenant["tenant_id"], file_id)
        blob = bytearray(path.read_bytes())
        blob[100] ^= 0x01
        path.write_bytes(bytes(blob))
        response = client.get(url)
        assert response.status_code == 500
        assert response.json()["code"] == "integrity_error"
        assert b"account statement" not in response.content


def test_a_blob_swapped_between_files_fails_verification(server: Server) -> None:
    tenant = server.create_tenant()
    with server.client(tenant["api_key"]) as client:
        first = _upload(client, b"first document\n" * 100)
        second = _upload(client, b"other document\n" * 100)
        a = _blob_path(server, tenant["tenant_id"], first["files"][0]["id"])
        b = _blob_path(server, tenant["tenant_id"], second["files"][0]["id"])
        a.write_bytes(b.read_bytes())
        response = client.get(
            f"/v1/documents/{first['id']}/files/{first['files'][0]['id']}/content"
        )
        assert response.status_code == 500
        assert b"document" not in response.content


def test_a_missing_blob_is_an_integrity_error(server: Server) -> None:
    tenant = server.create_tenant()
    with server.client(tenant["api_key"]) as client:
        doc = _upload(client, b"statement\n" * 10)
        file_id = doc["files"][0]["id"]
        _blob_path(server, tenant["tenant_id"], file_id).unlink()
        response = client.get(f"/v1/documents/{doc['id']}/files/{file_id}/content")
        assert response.status_code == 500
        assert response.json()["code"] == "blob_missing"


def test_database_holds_no_key_secrets_or_file_content(fresh_server: Server) -> None:
    tenant = fresh_server.create_tenant()
    marker = f"DBMARKER{secrets.token_hex(8)}".encode()
    with fresh_server.client(tenant["api_key"]) as client:
        _upload(client, marker * 100)
    database = (fresh_server.data_dir / "kycvault.db").read_bytes()
    wal = fresh_server.data_dir / "kycvault.db-wal"
    everything = database + (wal.read_bytes() if wal.exists() else b"")
    assert tenant["key_secret"].encode() not in everything
    assert marker not in everything
    assert tenant["key_id"].encode() in everything  # the public prefix is what is stored
