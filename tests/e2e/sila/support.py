"""Sila's own Python SDK (silasdk 1.1.3) pointed at a kycvault server, with apps and users
registered under fresh keys, plus signed requests made by hand (for what the SDK will not
send: altered bodies, old timestamps)."""

from __future__ import annotations

import hashlib
import json
import secrets
import time
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx2
import pytest

from tests.helpers import Server

with warnings.catch_warnings():
    # web3, which the SDK imports, still loads websockets' deprecated legacy module.
    warnings.simplefilter("ignore", DeprecationWarning)
    # Re-exported: the other Sila modules import the SDK from here, under this filter.
    import silasdk as silasdk
    from silasdk.endpoints import endPoints
    from silasdk.ethwallet import EthWallet

BASE = "/compat/sila/0.2"


@dataclass(frozen=True)
class Wallet:
    private_key: str
    address: str


def new_wallet() -> Wallet:
    made = EthWallet.create(secrets.token_hex(16))
    return Wallet(made["eth_private_key"], made["eth_address"])


@dataclass(frozen=True)
class RegisteredApp:
    """A tenant registered as a Sila app (``kycvault tenant update``)."""

    tenant: dict[str, Any]
    handle: str
    wallet: Wallet


def register_app(server: Server) -> RegisteredApp:
    tenant = server.create_tenant()
    handle = f"app-{uuid.uuid4().hex[:10]}.silamoney.eth"
    wallet = new_wallet()
    done = server.cli(
        "tenant",
        "update",
        tenant["tenant_id"],
        "--sila-app-handle",
        handle,
        "--sila-app-address",
        wallet.address,
        "--json",
    )
    shown = json.loads(done.stdout)
    assert (shown["sila_app_handle"], shown["sila_app_address"]) == (
        handle,
        wallet.address.lower(),
    )
    return RegisteredApp(tenant, handle, wallet)


@contextmanager
def sdk_pointed_at(server: Server) -> Iterator[None]:
    """The SDK keeps its URLs in one module-level dict: the API base (``%s`` is the tier,
    here the server's host and port) and the message-schema URL it reads when it starts."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(endPoints, "apiUrl", "http://%s" + BASE)
        patch.setitem(
            endPoints, "schemaUrl", f"{server.url}{BASE}/getmessage?emptymessage=%sTestMessage"
        )
        yield


def sdk_app(server: Server, private_key: str, handle: str) -> silasdk.App:
    return silasdk.App(server.url.removeprefix("http://"), private_key, handle)


@dataclass(frozen=True)
class SilaUser:
    handle: str
    wallet: Wallet
    subject: dict[str, Any]


def register_user(native: httpx2.Client, wallet: Wallet | None = None) -> SilaUser:
    """A subject whose external_id is the user handle and whose crypto_address is the
    address of the user's key."""
    wallet = wallet or new_wallet()
    handle = f"user-{uuid.uuid4().hex[:10]}.silamoney.eth"
    made = native.post(
        "/v1/subjects", json={"external_id": handle, "crypto_address": wallet.address}
    )
    assert made.status_code == 201, made.text
    return SilaUser(handle, wallet, made.json())


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def header(app_handle: str, user_handle: str | None = None, **changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "created": int(time.time()),
        "app_handle": app_handle,
        "version": "0.2",
        "crypto": "ETH",
        "reference": str(uuid.uuid4()),
    }
    if user_handle is not None:
        values["user_handle"] = user_handle
    values.update(changes)
    return values


def signatures(body: str, app_key: str | None, user_key: str | None = None) -> dict[str, str]:
    headers = {}
    if app_key is not None:
        headers["authsignature"] = EthWallet.signMessage(body, app_key)
    if user_key is not None:
        headers["usersignature"] = EthWallet.signMessage(body, user_key)
    return headers


def assert_failure(
    response: httpx2.Response | dict[str, Any], status: int, code: str
) -> dict[str, Any]:
    """Sila's error envelope, with our status and stable code."""
    if isinstance(response, httpx2.Response):
        assert response.status_code == status, response.text
        body: dict[str, Any] = response.json()
    else:
        body = response
        if "status_code" in body:  # the SDK adds it to what it returns, for most calls
            assert body["status_code"] == status, body
    assert body["success"] is False, body
    assert body["status"] == "FAILURE"
    assert body["code"] == code, body
    assert isinstance(body["message"], str)
    assert body["message"]
    assert isinstance(body["validation_details"], dict)
    assert body["response_time_ms"].isdigit()
    return body
