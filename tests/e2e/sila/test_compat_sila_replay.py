"""Each signed Sila request is accepted once. A captured upload or read sent again inside the
window of its ``created`` is refused with 409 ``request_replayed`` and changes nothing, also
when the same signature is written differently or when the copies race; the malleated form of
a signature (s -> n - s, v flipped) is refused as a wrong signature. A request that failed
does not spend its signature, different requests made in the same second all pass, and
requests made with the tenant's API key are not concerned. Used signatures are forgotten by
the housekeeping once their window has ended. (Two processes on one database:
tests/e2e/test_scale_out_sila_replay.py.)"""

from __future__ import annotations

import asyncio
import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any
from uuid import uuid4

import httpx2
import pytest

from kycvault.adapters.signatures import CURVE_ORDER
from kycvault.bootstrap import build_container, open_vault
from kycvault.services import maintenance
from tests.e2e.sila.support import (
    BASE,
    RegisteredApp,
    SilaUser,
    assert_failure,
    header,
    sha256,
    signatures,
    silasdk,
)
from tests.e2e.uploads_support import Snapshot, assert_staging_empty, document_ids
from tests.helpers import Part, Server, image_bytes, multipart

# The Sila SDK (silasdk) sends its requests with requests, to the server's URL.
pytestmark = pytest.mark.server_process

REPLAYED = "request_replayed"


def malleated(signature: str) -> str:
    """The other signature of the same body by the same key that anyone can compute from a
    captured one: (r, n - s) with v flipped (27 <-> 28)."""
    raw = bytes.fromhex(signature)
    s = CURVE_ORDER - int.from_bytes(raw[32:64], "big")
    return (raw[:32] + s.to_bytes(32, "big") + bytes([55 - raw[64]])).hex()


def rewritten(signature: str) -> str:
    """The same signature written differently: 0x, upper case, v as 0/1."""
    raw = bytes.fromhex(signature)
    return "0x" + (raw[:64] + bytes([raw[64] - 27])).hex().upper()


def signed_message(
    registered: RegisteredApp, user: SilaUser, **fields: Any
) -> tuple[str, dict[str, str]]:
    """A message for ``user`` (header plus ``fields``) and its two signatures."""
    created = fields.pop("created", None)
    head = header(registered.handle, user.handle, **({"created": created} if created else {}))
    text = json.dumps({"header": head, **fields})
    return text, signatures(text, registered.wallet.private_key, user.wallet.private_key)


def upload_fields(data: bytes) -> dict[str, Any]:
    return {
        "filename": "scan",
        "hash": sha256(data),
        "mime_type": "image/png",
        "document_type": "id_state",
    }


def post(server: Server, path: str, text: str, headers: dict[str, str]) -> httpx2.Response:
    return httpx2.post(f"{server.url}{BASE}{path}", content=text.encode(), headers=headers)


def post_upload(server: Server, text: str, data: bytes, headers: dict[str, str]) -> httpx2.Response:
    content_type, body, _ = multipart([Part("data", text.encode()), Part("file", data, "file")])
    return httpx2.post(
        f"{server.url}{BASE}/documents",
        content=b"".join(body),
        headers={"Content-Type": content_type, **headers},
        timeout=60,
    )


def users_documents(native: httpx2.Client, user: SilaUser) -> list[str]:
    listed = native.get("/v1/documents", params={"subject_id": user.subject["id"], "limit": 100})
    assert listed.status_code == 200, listed.text
    return [d["id"] for d in listed.json()["data"]]


# ------------------------------------------------------------------ replays


def test_a_replayed_upload_makes_no_second_document(
    server: Server, registered: RegisteredApp, user: SilaUser, native: httpx2.Client
) -> None:
    data = image_bytes("PNG")
    text, keys = signed_message(registered, user, **upload_fields(data))
    first = post_upload(server, text, data, keys)
    assert first.status_code == 200, first.text
    before = Snapshot(server, registered.tenant, native)
    again = post_upload(server, text, data, keys)
    body = assert_failure(again, 409, REPLAYED)
    assert body["reference"] == json.loads(text)["header"]["reference"]
    # However the captured signature is written, it is the same signature.
    respelled = {**keys, "authsignature": rewritten(keys["authsignature"])}
    assert_failure(post_upload(server, text, data, respelled), 409, REPLAYED)
    before.assert_unchanged()
    assert users_documents(native, user) == [first.json()["document_id"]]


def test_concurrent_copies_of_an_upload_make_one_document(
    server: Server, registered: RegisteredApp, user: SilaUser, native: httpx2.Client
) -> None:
    data = image_bytes("PNG", (320, 240))
    text, keys = signed_message(registered, user, **upload_fields(data))
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda _: post_upload(server, text, data, keys), range(6)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] + [409] * 5, [a.text for a in answers]
    for refused in (a for a in answers if a.status_code == 409):
        assert_failure(refused, 409, REPLAYED)
    (made,) = (a.json()["document_id"] for a in answers if a.status_code == 200)
    assert users_documents(native, user) == [made]
    assert_staging_empty(server)


def test_a_failed_upload_does_not_spend_its_signature(
    server: Server, registered: RegisteredApp, user: SilaUser, native: httpx2.Client
) -> None:
    data = image_bytes("PNG")
    text, keys = signed_message(registered, user, **upload_fields(data))
    # Another file under the captured data field: refused for its checksum, nothing stored,
    # and the signature is not spent (the documents and the use commit together).
    swapped = post_upload(server, text, image_bytes("PNG", (10, 10)), keys)
    assert_failure(swapped, 422, "checksum_mismatch")
    assert users_documents(native, user) == []
    stored = post_upload(server, text, data, keys)
    assert stored.status_code == 200, stored.text
    assert_failure(post_upload(server, text, data, keys), 409, REPLAYED)
    assert users_documents(native, user) == [stored.json()["document_id"]]


def test_replayed_reads_are_refused(
    server: Server, registered: RegisteredApp, user: SilaUser, native: httpx2.Client
) -> None:
    data = image_bytes("PNG")
    text, keys = signed_message(registered, user, **upload_fields(data))
    document_id = post_upload(server, text, data, keys).json()["document_id"]

    listing, keys = signed_message(registered, user, message="header_msg")
    listed = post(server, "/list_documents?&page=1", listing, keys)
    assert listed.status_code == 200, listed.text
    assert [d["document_id"] for d in listed.json()["documents"]] == [document_id]
    assert_failure(post(server, "/list_documents?&page=1", listing, keys), 409, REPLAYED)

    fetch, keys = signed_message(registered, user, document_id=document_id)
    got = post(server, "/get_document", fetch, keys)
    assert (got.status_code, got.content) == (200, data)
    assert _reads_audited(native, document_id) == 1
    assert_failure(post(server, "/get_document", fetch, keys), 409, REPLAYED)
    assert _reads_audited(native, document_id) == 1  # refused before the file is opened

    types = json.dumps({"header": header(registered.handle)})
    app_only = signatures(types, registered.wallet.private_key)
    assert post(server, "/document_types", types, app_only).status_code == 200
    assert_failure(post(server, "/document_types", types, app_only), 409, REPLAYED)


def _reads_audited(native: httpx2.Client, document_id: str) -> int:
    events = native.get("/v1/audit-events", params={"limit": 500}).json()["data"]
    return sum(e["action"] == "file.read" and e["document_id"] == document_id for e in events)


# ------------------------------------------------------------------ malleability


def test_malleated_signatures_are_refused(
    server: Server, registered: RegisteredApp, user: SilaUser, native: httpx2.Client
) -> None:
    listing, keys = signed_message(registered, user, message="header_msg")
    app_forged = {**keys, "authsignature": malleated(keys["authsignature"])}
    assert_failure(
        post(server, "/list_documents", listing, app_forged), 401, "invalid_app_signature"
    )
    user_forged = {**keys, "usersignature": malleated(keys["usersignature"])}
    assert_failure(
        post(server, "/list_documents", listing, user_forged), 401, "invalid_user_signature"
    )
    # The refusals spent nothing: the genuine request passes, once; its malleated copy is
    # still a wrong signature, not a second use.
    assert post(server, "/list_documents", listing, keys).status_code == 200
    assert_failure(
        post(server, "/list_documents", listing, app_forged), 401, "invalid_app_signature"
    )

    before = Snapshot(server, registered.tenant, native)
    data = image_bytes("PNG")
    text, keys = signed_message(registered, user, **upload_fields(data))
    forged = {**keys, "authsignature": malleated(keys["authsignature"])}
    assert_failure(post_upload(server, text, data, forged), 401, "invalid_app_signature")
    forged = {**keys, "usersignature": malleated(keys["usersignature"])}
    assert_failure(post_upload(server, text, data, forged), 401, "invalid_user_signature")
    before.assert_unchanged()


# ------------------------------------------------------------------ what still passes


def test_different_requests_in_the_same_second_all_pass(
    server: Server, registered: RegisteredApp, user: SilaUser, native: httpx2.Client
) -> None:
    created = int(time.time())
    for _ in range(2):
        listing, keys = signed_message(registered, user, created=created, message="header_msg")
        assert post(server, "/list_documents", listing, keys).status_code == 200
    data = image_bytes("PNG")
    made = []
    for _ in range(2):  # the same file, in two requests (each with its own reference)
        text, keys = signed_message(registered, user, created=created, **upload_fields(data))
        uploaded = post_upload(server, text, data, keys)
        assert uploaded.status_code == 200, uploaded.text
        made.append(uploaded.json()["document_id"])
    assert sorted(users_documents(native, user)) == sorted(made)


def test_the_sdk_repeats_a_call_freely(
    app: silasdk.App, registered: RegisteredApp, user: SilaUser
) -> None:
    # The SDK gives each message a fresh reference, so the same call is a new request.
    for _ in range(3):
        listed = silasdk.Documents.listDocuments(
            app, {"user_handle": user.handle}, user.wallet.private_key
        )
        assert listed["success"] is True, listed
        assert silasdk.Documents.listSupportedDocuments(app)["success"] is True


def test_api_key_requests_are_not_concerned(
    server: Server, registered: RegisteredApp, user: SilaUser, native: httpx2.Client
) -> None:
    bearer = {"Authorization": f"Bearer {registered.tenant['api_key']}"}
    listing = json.dumps({"header": header(registered.handle, user.handle)})
    for _ in range(2):
        assert post(server, "/list_documents", listing, bearer).status_code == 200
    data = image_bytes("PNG")
    text = json.dumps({"header": header(registered.handle, user.handle), **upload_fields(data)})
    for _ in range(2):
        assert post_upload(server, text, data, bearer).status_code == 200
    assert len(users_documents(native, user)) == 2
    assert document_ids(native)  # the tenant's listing still answers


def test_a_keyed_retry_with_an_api_key_replays_the_upload(
    server: Server, registered: RegisteredApp, user: SilaUser, native: httpx2.Client
) -> None:
    """The dialect honours Idempotency-Key: the retry gets the first answer back, and the
    user has one document."""
    data = image_bytes("PNG")
    text = json.dumps({"header": header(registered.handle, user.handle), **upload_fields(data)})
    keyed = {"Authorization": f"Bearer {registered.tenant['api_key']}", "Idempotency-Key": "k-1"}
    first = post_upload(server, text, data, keyed)
    assert first.status_code == 200, first.text
    again = post_upload(server, text, data, keyed)
    assert again.status_code == 200, again.text
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert users_documents(native, user) == [first.json()["document_id"]]


def test_a_keyed_retry_of_a_signed_upload_is_still_a_replay(
    server: Server, registered: RegisteredApp, user: SilaUser, native: httpx2.Client
) -> None:
    """A signed message is accepted once: its retry is refused before the key is read (the
    Dialect's stated policy), and nothing is stored twice."""
    data = image_bytes("PNG")
    text, signed = signed_message(registered, user, **upload_fields(data))
    keyed = {**signed, "Idempotency-Key": "k-2"}
    first = post_upload(server, text, data, keyed)
    assert first.status_code == 200, first.text
    assert_failure(post_upload(server, text, data, keyed), 409, REPLAYED)
    assert users_documents(native, user) == [first.json()["document_id"]]


# ------------------------------------------------------------------ housekeeping


def test_used_signatures_are_purged_after_their_window(server: Server) -> None:
    async def go() -> tuple[bool, bool]:
        container = build_container(server.settings())
        ctx = container.ctx
        tenant_id, now = uuid4(), ctx.clock()
        try:
            await open_vault(container)
            async with ctx.store.write() as uow:
                assert await uow.signature_uses.add(
                    tenant_id, b"e" * 32, now - timedelta(seconds=1)
                )
                assert await uow.signature_uses.add(
                    tenant_id, b"l" * 32, now + timedelta(minutes=5)
                )
                assert not await uow.signature_uses.add(tenant_id, b"l" * 32, now)
            await maintenance.purge_expired(ctx)
            async with ctx.store.read() as uow:
                expired = await uow.signature_uses.used(tenant_id, b"e" * 32)
                live = await uow.signature_uses.used(tenant_id, b"l" * 32)
        finally:
            await container.close()
        return expired, live

    assert asyncio.run(go()) == (False, True)
