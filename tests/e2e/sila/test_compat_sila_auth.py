"""Who may call /compat/sila: the app's and the user's ECDSA signatures over the exact body,
checked against the keys the tenant and the subject registered, within the replay window; or
an API key. Each wrong key, altered body, old timestamp and other tenant's handle is refused
with Sila's envelope and stores nothing. The SDK makes what it can; the rest is signed by
hand with the SDK's signing function."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx2
import pytest

from tests.e2e.sila.support import (
    BASE,
    RegisteredApp,
    SilaUser,
    Wallet,
    assert_failure,
    header,
    new_wallet,
    register_app,
    register_user,
    sdk_app,
    sha256,
    signatures,
    silasdk,
)
from tests.e2e.uploads_support import Snapshot
from tests.helpers import MiB, Part, Server, image_bytes, multipart, zeros

# The Sila SDK (silasdk) sends its requests with requests, to the server's URL.
pytestmark = pytest.mark.server_process


def _post(
    server: Server,
    path: str,
    message: dict[str, Any],
    app_key: str | None,
    user_key: str | None = None,
    *,
    sent: str | None = None,
    headers: dict[str, str] | None = None,
) -> httpx2.Response:
    """``message`` signed as the SDK signs it (over its JSON text); ``sent`` replaces the
    body actually sent, to alter it after signing."""
    text = json.dumps(message)
    body = text if sent is None else sent
    return httpx2.post(
        f"{server.url}{BASE}{path}",
        content=body.encode(),
        headers={**signatures(text, app_key, user_key), **(headers or {})},
    )


def _list_message(registered: RegisteredApp, user: SilaUser, **header_changes: Any) -> Any:
    return {
        "header": header(registered.handle, user.handle, **header_changes),
        "message": "header_msg",
    }


def _upload_parts(data_text: str, data: bytes, *, data_first: bool = True) -> list[Part]:
    parts = [Part("data", data_text.encode()), Part("file", data, "file", None)]
    return parts if data_first else parts[::-1]


def _upload_message(registered: RegisteredApp, user: SilaUser, data: bytes) -> dict[str, Any]:
    return {
        "header": header(registered.handle, user.handle),
        "filename": "scan",
        "hash": sha256(data),
        "mime_type": "image/png",
        "document_type": "id_state",
    }


def _post_upload(server: Server, parts: list[Part], headers: dict[str, str]) -> httpx2.Response:
    content_type, body, _ = multipart(parts)
    return httpx2.post(
        f"{server.url}{BASE}/documents",
        content=b"".join(body),
        headers={"Content-Type": content_type, **headers},
    )


# ------------------------------------------------------------------ what is accepted


def test_signed_by_hand_as_the_sdk_signs(
    server: Server, registered: RegisteredApp, user: SilaUser
) -> None:
    message = _list_message(registered, user)
    listed = _post(
        server, "/list_documents?&page=1", message, registered.wallet.private_key,
        user.wallet.private_key,
    )  # fmt: skip
    assert listed.status_code == 200, listed.text
    assert listed.json()["reference"] == message["header"]["reference"]
    # auth_handle is the header's older name for the app handle; v may be 0/1 as well as
    # 27/28, and the signature may carry 0x.
    older = {"header": header("", user.handle, auth_handle=registered.handle)}
    del older["header"]["app_handle"]
    text = json.dumps(older)
    signed = signatures(text, registered.wallet.private_key, user.wallet.private_key)
    raw = bytes.fromhex(signed["authsignature"])
    signed["authsignature"] = "0x" + (raw[:64] + bytes([raw[64] - 27])).hex()
    response = httpx2.post(f"{server.url}{BASE}/list_documents", content=text, headers=signed)
    assert response.status_code == 200, response.text


def test_within_the_replay_window(
    server: Server, registered: RegisteredApp, user: SilaUser
) -> None:
    for skew in (-240, 240):
        message = _list_message(registered, user, created=int(time.time()) + skew)
        response = _post(
            server, "/list_documents", message, registered.wallet.private_key,
            user.wallet.private_key,
        )  # fmt: skip
        assert response.status_code == 200, response.text


def test_an_api_key_instead_of_signatures(
    server: Server, registered: RegisteredApp, user: SilaUser, native: httpx2.Client
) -> None:
    bearer = {"Authorization": f"Bearer {registered.tenant['api_key']}"}
    data = image_bytes("PNG")
    uploaded = _post_upload(
        server, _upload_parts(json.dumps(_upload_message(registered, user, data)), data), bearer
    )
    assert uploaded.status_code == 200, uploaded.text
    document_id = uploaded.json()["document_id"]
    assert native.get(f"/v1/documents/{document_id}").json()["type"] == "state_id"
    listed = _post(server, "/list_documents", _list_message(registered, user), None, headers=bearer)
    assert [d["document_id"] for d in listed.json()["documents"]] == [document_id]
    got = _post(
        server,
        "/get_document",
        {"header": header(registered.handle, user.handle), "document_id": document_id},
        None,
        headers=bearer,
    )
    assert (got.status_code, got.content) == (200, data)
    types = _post(server, "/document_types", {"header": header("")}, None, headers=bearer)
    assert types.json()["success"] is True
    wrong = {"Authorization": "Bearer kvk_0000000000000000.nope"}
    refused = _post(server, "/list_documents", _list_message(registered, user), None, headers=wrong)
    assert_failure(refused, 401, "unauthenticated")


# ------------------------------------------------------------------ what is refused


def test_no_signatures(server: Server, registered: RegisteredApp, user: SilaUser) -> None:
    response = _post(server, "/list_documents", _list_message(registered, user), None)
    assert_failure(response, 401, "unauthenticated")
    only_app = _post(
        server, "/list_documents", _list_message(registered, user), registered.wallet.private_key
    )
    assert_failure(only_app, 401, "user_signature_required")
    types = _post(server, "/document_types", {"header": header(registered.handle)}, None)
    assert_failure(types, 401, "unauthenticated")


def test_a_wrong_user_key(
    server: Server, registered: RegisteredApp, app: silasdk.App, user: SilaUser,
    native: httpx2.Client,
) -> None:  # fmt: skip
    stranger = new_wallet()
    listed = silasdk.Documents.listDocuments(
        app, {"user_handle": user.handle}, stranger.private_key
    )
    assert_failure(listed, 401, "invalid_user_signature")
    before = Snapshot(server, registered.tenant, native)
    data = image_bytes("PNG")
    payload = {
        "user_handle": user.handle,
        "filename": "scan",
        "hash": sha256(data),
        "mime_type": "image/png",
        "document_type": "id_state",
    }
    uploaded = silasdk.Documents.uploadDocument(app, payload, data, stranger.private_key)
    assert_failure(uploaded, 401, "invalid_user_signature")
    before.assert_unchanged()
    got = silasdk.Documents.getDocument(
        app, {"user_handle": user.handle, "document_id": "279687a0-30c6-463d-85bc-eee9bf395e21"},
        stranger.private_key,
    )  # fmt: skip
    assert_failure(got, 401, "invalid_user_signature")


def test_a_wrong_app_key(server: Server, registered: RegisteredApp, user: SilaUser) -> None:
    impostor = sdk_app(server, new_wallet().private_key, registered.handle)
    assert_failure(silasdk.Documents.listSupportedDocuments(impostor), 401, "invalid_app_signature")
    listed = silasdk.Documents.listDocuments(
        impostor, {"user_handle": user.handle}, user.wallet.private_key
    )
    assert_failure(listed, 401, "invalid_app_signature")


def test_a_user_without_a_registered_address(
    server: Server, registered: RegisteredApp, native: httpx2.Client
) -> None:
    made = native.post("/v1/subjects", json={"external_id": "no-key.silamoney.eth"})
    assert made.status_code == 201, made.text
    wallet = new_wallet()
    message = {"header": header(registered.handle, "no-key.silamoney.eth")}
    response = _post(
        server, "/list_documents", message, registered.wallet.private_key, wallet.private_key
    )
    assert_failure(response, 401, "invalid_user_signature")


def test_a_tampered_body(
    server: Server, registered: RegisteredApp, user: SilaUser, native: httpx2.Client
) -> None:
    message = {**_list_message(registered, user), "search": "passport"}
    text = json.dumps(message)
    response = _post(
        server, "/list_documents", message, registered.wallet.private_key,
        user.wallet.private_key, sent=text.replace("passport", "license"),
    )  # fmt: skip
    assert_failure(response, 401, "invalid_app_signature")
    # An upload's signed data field, changed after signing.
    before = Snapshot(server, registered.tenant, native)
    data = image_bytes("PNG")
    signed = json.dumps(_upload_message(registered, user, data))
    keys = signatures(signed, registered.wallet.private_key, user.wallet.private_key)
    altered = signed.replace('"id_state"', '"id_passport"')
    uploaded = _post_upload(server, _upload_parts(altered, data), keys)
    assert_failure(uploaded, 401, "invalid_app_signature")
    before.assert_unchanged()


@pytest.mark.parametrize("skew", [-3600, 3600], ids=["an-hour-old", "an-hour-ahead"])
def test_an_old_created(
    server: Server, registered: RegisteredApp, user: SilaUser, native: httpx2.Client, skew: int
) -> None:
    created = int(time.time()) + skew
    message = _list_message(registered, user, created=created)
    response = _post(
        server, "/list_documents", message, registered.wallet.private_key,
        user.wallet.private_key,
    )  # fmt: skip
    body = assert_failure(response, 401, "request_expired")
    assert body["reference"] == message["header"]["reference"]
    before = Snapshot(server, registered.tenant, native)
    data = image_bytes("PNG")
    upload = _upload_message(registered, user, data)
    upload["header"]["created"] = created
    signed = json.dumps(upload)
    keys = signatures(signed, registered.wallet.private_key, user.wallet.private_key)
    assert_failure(_post_upload(server, _upload_parts(signed, data), keys), 401, "request_expired")
    before.assert_unchanged()
    missing = _list_message(registered, user)
    del missing["header"]["created"]
    response = _post(
        server, "/list_documents", missing, registered.wallet.private_key,
        user.wallet.private_key,
    )  # fmt: skip
    assert set(assert_failure(response, 400, "required")["validation_details"]) == {
        "header.created"
    }


def test_another_tenants_handles(
    server: Server, registered: RegisteredApp, app: silasdk.App, user: SilaUser
) -> None:
    other = register_app(server)
    with server.client(other.tenant["api_key"]) as other_native:
        their_user = register_user(other_native)
    # Our app, their user (signed with their user's own key): no such user here.
    listed = silasdk.Documents.listDocuments(
        app, {"user_handle": their_user.handle}, their_user.wallet.private_key
    )
    assert_failure(listed, 404, "subject_not_found")
    # Their app handle, signed with our app's key.
    posing = sdk_app(server, registered.wallet.private_key, other.handle)
    assert_failure(silasdk.Documents.listSupportedDocuments(posing), 401, "invalid_app_signature")
    # Their app, properly signed, asking for our user.
    theirs = sdk_app(server, other.wallet.private_key, other.handle)
    mine = silasdk.Documents.listDocuments(
        theirs, {"user_handle": user.handle}, user.wallet.private_key
    )
    assert_failure(mine, 404, "subject_not_found")
    # A handle nobody registered.
    nobody = sdk_app(server, registered.wallet.private_key, "nobody.silamoney.eth")
    assert_failure(silasdk.Documents.listSupportedDocuments(nobody), 401, "invalid_app_signature")


# ------------------------------------------------------------------ malformed requests


def test_the_data_field_comes_first(
    server: Server, registered: RegisteredApp, user: SilaUser, native: httpx2.Client
) -> None:
    before = Snapshot(server, registered.tenant, native)
    data = image_bytes("PNG")
    signed = json.dumps(_upload_message(registered, user, data))
    keys = signatures(signed, registered.wallet.private_key, user.wallet.private_key)
    late = _post_upload(server, _upload_parts(signed, data, data_first=False), keys)
    assert set(assert_failure(late, 400, "required")["validation_details"]) == {"data"}
    no_file = _post_upload(server, [Part("data", signed.encode())], keys)
    assert_failure(no_file, 400, "file_required")
    unsigned_no_file = _post_upload(server, [Part("data", signed.encode())], {})
    assert_failure(unsigned_no_file, 401, "unauthenticated")  # who, before what is missing
    stray = [*_upload_parts(signed, data), Part("file_1", data, "file_1", None)]
    assert_failure(_post_upload(server, stray, keys), 400, "unexpected_file")
    before.assert_unchanged()


def test_metadata_the_sdk_does_not_send(
    server: Server, registered: RegisteredApp, user: SilaUser, native: httpx2.Client
) -> None:
    before = Snapshot(server, registered.tenant, native)
    data = image_bytes("PNG")
    message = {**_upload_message(registered, user, data), "identity_type": "passport"}
    signed = json.dumps(message)
    keys = signatures(signed, registered.wallet.private_key, user.wallet.private_key)
    mismatch = _post_upload(server, _upload_parts(signed, data), keys)
    body = assert_failure(mismatch, 400, "identity_type_mismatch")
    assert set(body["validation_details"]) == {"identity_type"}
    incomplete = {"header": header(registered.handle, user.handle), "filename": "scan"}
    signed = json.dumps(incomplete)
    keys = signatures(signed, registered.wallet.private_key, user.wallet.private_key)
    missing = assert_failure(
        _post_upload(server, _upload_parts(signed, data), keys), 400, "validation_error"
    )
    assert set(missing["validation_details"]) == {"hash", "mime_type", "document_type"}
    before.assert_unchanged()


def test_not_a_message(server: Server, registered: RegisteredApp) -> None:
    for body in ("not json", "[]", json.dumps({"message": "header_msg"})):
        response = httpx2.post(f"{server.url}{BASE}/document_types", content=body)
        assert_failure(response, 400, "validation_error")


def test_a_request_over_twenty_megabytes(
    server: Server, registered: RegisteredApp, user: SilaUser, native: httpx2.Client
) -> None:
    before = Snapshot(server, registered.tenant, native)
    size = 21 * MiB
    message = {**_upload_message(registered, user, b""), "mime_type": "application/pdf"}
    signed = json.dumps(message)
    keys = signatures(signed, registered.wallet.private_key, user.wallet.private_key)
    parts = [Part("data", signed.encode()), Part("file", zeros(size), "file", None, size=size)]
    content_type, body, length = multipart(parts)
    response = httpx2.post(
        f"{server.url}{BASE}/documents",
        content=body,
        headers={"Content-Type": content_type, "Content-Length": str(length), **keys},
        timeout=60,
    )
    assert_failure(response, 413, "body_too_large")
    before.assert_unchanged()


# ------------------------------------------------------------------ registration


def test_registering_keys(server: Server, registered: RegisteredApp, native: httpx2.Client) -> None:
    other = server.create_tenant()
    taken = server.cli(
        "tenant", "update", other["tenant_id"], "--sila-app-handle", registered.handle,
        "--sila-app-address", new_wallet().address, check=False,
    )  # fmt: skip
    assert taken.returncode == 1
    assert "sila_app_handle_taken" in taken.stderr
    bad = server.cli(
        "tenant", "update", other["tenant_id"], "--sila-app-handle", "x.silamoney.eth",
        "--sila-app-address", "0x1234", check=False,
    )  # fmt: skip
    assert (bad.returncode, "invalid_address" in bad.stderr) == (1, True)
    listed = json.loads(server.cli("tenant", "list", "--json").stdout)
    mine = next(t for t in listed if t["tenant_id"] == registered.tenant["tenant_id"])
    assert mine["sila_app_handle"] == registered.handle
    # The subject's crypto_address, through the native API.
    wallet: Wallet = new_wallet()
    made = native.post("/v1/subjects", json={"crypto_address": wallet.address.upper()[2:]})
    assert made.status_code == 400
    assert made.json()["code"] == "invalid_address"
    made = native.post("/v1/subjects", json={"crypto_address": wallet.address})
    assert made.json()["crypto_address"] == wallet.address.lower()
    url = f"/v1/subjects/{made.json()['id']}"
    assert native.get(url).json()["crypto_address"] == wallet.address.lower()
    assert native.patch(url, json={"crypto_address": None}).json()["crypto_address"] is None
