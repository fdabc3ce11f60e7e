"""A signed Sila request accepted by one API process is refused by another on the same
PostgreSQL database: the record of used signatures is shared state in the database, not
process memory. Also when the copies reach the two processes at the same moment."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2
import pytest

from tests import backends
from tests.backends import Backend
from tests.e2e.sila.support import (
    BASE,
    RegisteredApp,
    SilaUser,
    assert_failure,
    header,
    register_app,
    register_user,
    sha256,
    signatures,
)
from tests.helpers import Part, Server, image_bytes, multipart


@pytest.fixture
def two_apis(tmp_path: Path) -> Iterator[list[Server]]:
    backends.require(backends.SCALED)
    store = Backend.create(backends.SCALED)
    shared = {
        "KYCVAULT_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
        "KYCVAULT_ALLOW_GENERATED_KEY": "false",
    }
    apis: list[Server] = [
        Server(tmp_path / f"api{n}", env_extra=shared, backend=store) for n in (1, 2)
    ]
    try:
        for api in apis:
            api.start()
        yield apis
    finally:
        for api in apis:
            api.stop()
        store.drop()


def _signed(
    registered: RegisteredApp, user: SilaUser, **fields: object
) -> tuple[str, dict[str, str]]:
    text = json.dumps({"header": header(registered.handle, user.handle), **fields})
    return text, signatures(text, registered.wallet.private_key, user.wallet.private_key)


def _upload(api: Server, text: str, data: bytes, keys: dict[str, str]) -> httpx2.Response:
    content_type, body, _ = multipart([Part("data", text.encode()), Part("file", data, "file")])
    return httpx2.post(
        f"{api.url}{BASE}/documents",
        content=b"".join(body),
        headers={"Content-Type": content_type, **keys},
        timeout=60,
    )


def test_a_replay_through_another_process_is_refused(two_apis: list[Server]) -> None:
    first, second = two_apis
    registered = register_app(first)
    with first.client(registered.tenant["api_key"]) as native:
        user = register_user(native)

        data = image_bytes("PNG")
        fields = {"filename": "scan", "hash": sha256(data), "mime_type": "image/png"}
        text, keys = _signed(registered, user, document_type="id_state", **fields)
        stored = _upload(first, text, data, keys)
        assert stored.status_code == 200, stored.text
        assert_failure(_upload(second, text, data, keys), 409, "request_replayed")

        listing, keys = _signed(registered, user, message="header_msg")
        listed = httpx2.post(f"{second.url}{BASE}/list_documents", content=listing, headers=keys)
        assert listed.status_code == 200, listed.text
        again = httpx2.post(f"{first.url}{BASE}/list_documents", content=listing, headers=keys)
        assert_failure(again, 409, "request_replayed")

        # Copies sent to both processes at once: one document.
        text, keys = _signed(registered, user, document_type="id_passport", **fields)
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda n: _upload(two_apis[n % 2], text, data, keys), range(8)))
        assert sorted(a.status_code for a in answers) == [200] + [409] * 7
        mine = native.get("/v1/documents", params={"subject_id": user.subject["id"]})
        assert len(mine.json()["data"]) == 2
