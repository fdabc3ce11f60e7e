"""``kycvault keys rotate TENANT``: a new tenant key at once, every key under the old one
re-wrapped online (subject keys in their store, files stored before subject keys existed
moved under their subject's key), every file and sealed field still readable, and
``--resume`` finishing what a rotation left."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx2

from kycvault.domain.models import StoredFile
from kycvault.services import subject_keys
from kycvault.services.context import AppContext
from tests.e2e.documents_support import new_subject
from tests.e2e.holds_support import audit_events
from tests.helpers import Part, Server, image_bytes, post_multipart, server_on


def _upload(client: httpx2.Client, content: bytes, subject_id: str | None) -> dict[str, Any]:
    parts = [Part("type", b"passport"), Part("file", content, "scan.png", "image/png")]
    if subject_id is not None:
        parts.insert(1, Part("subject_id", subject_id.encode()))
    response = post_multipart(client, "/v1/documents", parts)
    assert response.status_code == 201, response.text
    made: dict[str, Any] = response.json()
    return made


def _file(server: Server, tenant_id: UUID, doc: dict[str, Any]) -> StoredFile:
    async def work(ctx: AppContext) -> StoredFile:
        async with ctx.store.read() as uow:
            found = await uow.documents.get(tenant_id, UUID(doc["id"]))
        assert found is not None
        return found.files[0]

    return server.in_context(work)


def _under_tenant_key(server: Server, stored: StoredFile, kek_id: UUID) -> None:
    """Put a file's data key back under a tenant key: how files stored before subject keys
    existed (or committed by an upload that outlasted a rotation) are wrapped."""

    async def work(ctx: AppContext) -> None:
        async with ctx.store.write() as uow:
            [moved] = await subject_keys.rewrap_files(ctx, uow, [stored], None)
            old = await ctx.keyring.get(stored.tenant_id, stored.kek_id)
            new = await ctx.keyring.get(stored.tenant_id, kek_id)
            context = subject_keys.file_context(stored.tenant_id, stored.id)
            wrapped = ctx.cipher.rewrap_data_key(old, new, moved.wrapped_dek, context)
            await uow.files.rewrap(stored.tenant_id, stored.id, wrapped, None, kek_id=kek_id)

    server.in_context(work)


# What the client says of the subject: sealed under the tenant key current at the time.
_SAID = {"display_name": "Qx Rotating", "external_id": "rot-1", "metadata": {"tier": 3}}


def _sealed_details_still_open(client: httpx2.Client, subject_id: str) -> None:
    """Sealed under the retired key, the subject still reads; its external id, indexed under
    the tenant's first key, is still taken; changed, it is sealed again and reads."""
    got = client.get(f"/v1/subjects/{subject_id}").json()
    assert {k: got[k] for k in _SAID} == _SAID
    taken = client.post("/v1/subjects", json={"external_id": _SAID["external_id"]})
    assert taken.status_code == 409, taken.text
    changed = client.patch(f"/v1/subjects/{subject_id}", json={"display_name": "Qx Rotated"})
    assert changed.status_code == 200, changed.text
    got = client.get(f"/v1/subjects/{subject_id}").json()
    assert (got["display_name"], got["external_id"]) == ("Qx Rotated", _SAID["external_id"])


def _rotate(server: Server, tenant: dict[str, Any], *extra: str) -> dict[str, Any]:
    done = server.cli("keys", "rotate", tenant["tenant_id"], "--json", *extra)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_rotation_rewraps_every_key_online_and_every_file_still_reads(
    tmp_path: Path, backend: str
) -> None:
    with server_on(tmp_path, backend, KYCVAULT_KEY_CACHE_SECONDS="0.2") as server:
        tenant = server.create_tenant()
        tenant_id = UUID(tenant["tenant_id"])
        contents = [image_bytes("PNG", (20 + i, 20)) for i in range(3)]
        with server.client(tenant["api_key"]) as client:
            subject = new_subject(client, **_SAID)
            of_subject = _upload(client, contents[0], subject["id"])
            legacy = _upload(client, contents[1], subject["id"])
            loose = _upload(client, contents[2], None)
        old_key = _file(server, tenant_id, loose).kek_id
        _under_tenant_key(server, _file(server, tenant_id, legacy), old_key)
        assert _file(server, tenant_id, legacy).subject_key_id is None

        done = _rotate(server, tenant)

        new_key = UUID(done["key_id"])
        assert new_key != old_key
        assert done == {
            "tenant_id": tenant["tenant_id"],
            "key_id": done["key_id"],
            "subject_keys": 1,
            "files": 2,  # the file of no subject, and the one stored before subject keys
            "remaining": 0,
        }
        moved = _file(server, tenant_id, legacy)
        assert moved.kek_id == new_key
        assert moved.subject_key_id == _file(server, tenant_id, of_subject).subject_key_id
        assert _file(server, tenant_id, loose).kek_id == new_key

        async def keys(ctx: AppContext) -> list[Any]:
            return await ctx.subject_keys.store.of_subject(tenant_id, UUID(subject["id"]))

        assert [k.tenant_key_id for k in server.in_context(keys)] == [new_key]
        with server.client(tenant["api_key"]) as client:
            for doc, content in zip((of_subject, legacy, loose), contents, strict=True):
                file_id = doc["files"][0]["id"]
                got = client.get(f"/v1/documents/{doc['id']}/files/{file_id}/content")
                assert got.content == content
            _sealed_details_still_open(client, subject["id"])
            added = _upload(client, image_bytes("PNG", (9, 9)), None)
            [event] = audit_events(client, "tenant_key.rotated")
            assert event["target_id"] == str(new_key) and event["actor"] == "cli"
        assert _file(server, tenant_id, added).kek_id == new_key

        # A file left under the retired key (an upload that began before the rotation and
        # committed after it): --resume moves it, and makes no new key.
        _under_tenant_key(server, _file(server, tenant_id, added), old_key)
        resumed = _rotate(server, tenant, "--resume")
        assert resumed["key_id"] == str(new_key)
        assert (resumed["files"], resumed["remaining"]) == (1, 0)
        assert _file(server, tenant_id, added).kek_id == new_key
        assert server.cli("audit", "verify").returncode == 0
