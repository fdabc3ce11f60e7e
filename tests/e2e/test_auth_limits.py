"""Failed-authentication limits against real servers: after 20 failures in a minute from one
client address, or for one key id, failing requests get 429 with ``Retry-After`` in the
route's own error body, while a valid key is still served; other addresses and keys are
unaffected; ``X-Forwarded-For`` counts only behind a trusted proxy; the block is shared by
two API processes on one PostgreSQL and lifts when the window has passed; every dialect's
way of authenticating is counted.

Distinct client addresses are real socket peers: a client binds its end of the connection
to another loopback address (127.0.x.y), which Linux routes like 127.0.0.1.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import secrets
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests import backends
from tests.backends import Backend
from tests.e2e.problem_support import problem
from tests.e2e.sila.support import header, new_wallet, signatures
from tests.helpers import Server, client_tls, server_on

LIMIT = 20
CODE = "too_many_failed_attempts"
_peers = itertools.count(2)


def new_peer() -> str:
    """A loopback address no other test of the session sends from."""
    n = next(_peers)
    return f"127.0.{n // 250}.{n % 250 + 2}"


def client_from(server: Server, peer: str = "127.0.0.1") -> httpx2.Client:
    return httpx2.Client(
        base_url=server.url,
        transport=httpx2.HTTPTransport(local_address=peer, verify=client_tls()),
        timeout=60,
    )


def bearer(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"}


def basic(key_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key_id}:{secret}".encode()).decode()}


def unknown_key() -> str:
    """A well-formed key that no tenant has (a key id of its own each time)."""
    return f"kvk_{secrets.token_hex(8)}.{secrets.token_urlsafe(32)}"


def wrong_secret(tenant: dict[str, Any]) -> str:
    return f"{tenant['key_id']}.{secrets.token_urlsafe(32)}"


def retry_after(response: httpx2.Response, window: int = 60) -> int:
    assert response.status_code == 429, response.text
    seconds = int(response.headers["retry-after"])
    assert 1 <= seconds <= window
    return seconds


def blocked(response: httpx2.Response, window: int = 60) -> dict[str, Any]:
    """The native 429: a problem document with the stable code and Retry-After."""
    body = problem(response, 429, CODE)
    retry_after(response, window)
    assert "www-authenticate" not in response.headers
    return body


def fail_until_blocked(send: Callable[[int], httpx2.Response], *, limit: int = LIMIT) -> None:
    """``limit`` failing requests answered 401, then the next answered 429."""
    for n in range(limit):
        response = send(n)
        assert response.status_code == 401, (n, response.text)
    assert send(limit).status_code == 429


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory, backend: str) -> Iterator[Server]:
    """A server with the default limit (20 a minute) and no trusted proxy."""
    with server_on(
        tmp_path_factory.mktemp(f"limited-{backend}"),
        backend,
        KYCVAULT_AUTH_FAILURE_LIMIT=str(LIMIT),
    ) as srv:
        yield srv


@pytest.fixture(scope="module")
def behind_proxy(tmp_path_factory: pytest.TempPathFactory, backend: str) -> Iterator[Server]:
    """A server that trusts 127.0.0.1 as its reverse proxy."""
    with server_on(
        tmp_path_factory.mktemp(f"proxied-{backend}"),
        backend,
        KYCVAULT_AUTH_FAILURE_LIMIT=str(LIMIT),
        KYCVAULT_TRUSTED_PROXIES="127.0.0.1",
    ) as srv:
        yield srv


def test_the_21st_failure_from_an_address_is_429_and_a_valid_key_still_works(
    limited: Server,
) -> None:
    tenant = limited.create_tenant()
    peer = new_peer()
    with client_from(limited, peer) as client:
        for _ in range(LIMIT):
            problem(client.get("/v1/subjects", headers=bearer(unknown_key())), 401, None)
        body = blocked(client.get("/v1/subjects", headers=bearer(unknown_key())))
        assert "retry after" in body["detail"]
        # Any failing credential from the address is refused now, malformed ones too.
        blocked(client.get("/v1/subjects", headers={"Authorization": "Bearer nonsense"}))
        blocked(client.get("/v1/subjects"))
        blocked(client.post("/v1/subjects", json={}, headers=basic("kvk_x", "y")))
        # A valid key from the blocked address is served, by Bearer and by Basic.
        served = client.get("/v1/subjects", headers=bearer(tenant["api_key"]))
        assert served.status_code == 200, served.text
        made = client.post(
            "/v1/subjects", json={}, headers=basic(tenant["key_id"], tenant["key_secret"])
        )
        assert made.status_code == 201, made.text
        blocked(client.get("/v1/subjects", headers=bearer(unknown_key())))
    # Another address is not affected.
    with client_from(limited, new_peer()) as other:
        problem(other.get("/v1/subjects", headers=bearer(unknown_key())), 401, "unauthenticated")


def test_x_forwarded_for_is_ignored_without_a_trusted_proxy(limited: Server) -> None:
    # From 127.0.0.1, the address uvicorn itself would trust for X-Forwarded-For by default.
    with client_from(limited, "127.0.0.1") as client:

        def send(n: int) -> httpx2.Response:
            forged = {"X-Forwarded-For": f"198.51.100.{n + 1}", **bearer(unknown_key())}
            return client.get("/v1/subjects", headers=forged)

        fail_until_blocked(send)
        blocked(client.get("/v1/subjects", headers={"X-Forwarded-For": "203.0.113.99"}))


def test_a_key_id_is_counted_across_addresses_and_its_owner_is_never_locked_out(
    limited: Server,
) -> None:
    victim = limited.create_tenant()
    bystander = limited.create_tenant()

    def send(n: int) -> httpx2.Response:
        # Each try from an address of its own: only the key id's count can block it.
        with client_from(limited, new_peer()) as client:
            if n % 2:
                return client.get(
                    "/v1/subjects", headers=basic(victim["key_id"], secrets.token_urlsafe(32))
                )
            return client.get("/v1/subjects", headers=bearer(wrong_secret(victim)))

    fail_until_blocked(send)
    with client_from(limited, new_peer()) as client:
        blocked(client.get("/v1/subjects", headers=bearer(wrong_secret(victim))))
        # The owner, with the right secret, from anywhere: served.
        assert client.get("/v1/subjects", headers=bearer(victim["api_key"])).status_code == 200
        # Another key id is not affected.
        problem(client.get("/v1/subjects", headers=bearer(wrong_secret(bystander))), 401, None)
        assert client.get("/v1/subjects", headers=bearer(bystander["api_key"])).status_code == 200


def test_behind_a_trusted_proxy_the_forwarded_client_is_counted(behind_proxy: Server) -> None:
    tenant = behind_proxy.create_tenant()
    attacker = "198.51.100.7"
    with client_from(behind_proxy, "127.0.0.1") as proxy:

        def via(forwarded: str, credentials: dict[str, str]) -> httpx2.Response:
            return proxy.get("/v1/subjects", headers={"X-Forwarded-For": forwarded, **credentials})

        fail_until_blocked(lambda n: via(attacker, bearer(unknown_key())))
        blocked(via(attacker, bearer(unknown_key())))
        # Another client behind the same proxy is not affected.
        problem(via("198.51.100.8", bearer(unknown_key())), 401, "unauthenticated")
        # A forged address the client put in front does not help: the right-most address
        # that is not a trusted proxy is the client.
        blocked(via(f"203.0.113.1, {attacker}", bearer(unknown_key())))
        # A second trusted hop (the proxy's own address) is looked past.
        blocked(via(f"{attacker}, 127.0.0.1", bearer(unknown_key())))
        # The blocked client's valid key is served.
        assert via(attacker, bearer(tenant["api_key"])).status_code == 200
    # From a peer that is no trusted proxy the header is not believed: the peer is counted.
    with client_from(behind_proxy, new_peer()) as direct:
        forged = {"X-Forwarded-For": attacker, **bearer(unknown_key())}
        problem(direct.get("/v1/subjects", headers=forged), 401, "unauthenticated")


def test_the_block_lifts_when_the_window_has_passed(tmp_path: Path, backend: str) -> None:
    window = 4
    with (
        server_on(
            tmp_path,
            backend,
            KYCVAULT_AUTH_FAILURE_LIMIT="3",
            KYCVAULT_AUTH_FAILURE_WINDOW_SECONDS=str(window),
        ) as srv,
        client_from(srv) as client,
    ):

        def send(_: int) -> httpx2.Response:
            return client.get("/v1/subjects", headers=bearer(unknown_key()))

        fail_until_blocked(send, limit=3)
        wait = retry_after(send(0), window)
        time.sleep(wait)
        deadline = time.monotonic() + 30
        while (response := send(0)).status_code == 429 and time.monotonic() < deadline:
            time.sleep(0.2)
        problem(response, 401, "unauthenticated")
        # A new window: three failures again before the next block.
        problem(send(0), 401, None)
        problem(send(0), 401, None)
        blocked(send(0), window)


def test_two_api_processes_share_the_count(tmp_path: Path) -> None:
    backends.require(backends.SCALED)
    store = Backend.create(backends.SCALED)
    shared = {
        "KYCVAULT_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
        "KYCVAULT_ALLOW_GENERATED_KEY": "false",
        "KYCVAULT_AUTH_FAILURE_LIMIT": str(LIMIT),
    }
    apis = [Server(tmp_path / f"api{n}", env_extra=shared, backend=store) for n in (1, 2)]
    try:
        for api in apis:
            api.start()
        tenant = apis[0].create_tenant()
        peer = new_peer()
        with client_from(apis[0], peer) as first, client_from(apis[1], peer) as second:
            # Alternate: each process sees only half of the failures.
            fail_until_blocked(
                lambda n: (first, second)[n % 2].get("/v1/subjects", headers=bearer(unknown_key()))
            )
            for client in (first, second):
                blocked(client.get("/v1/subjects", headers=bearer(unknown_key())))
                assert client.get("/v1/subjects", headers=bearer(tenant["api_key"])).is_success
    finally:
        for api in apis:
            api.stop()
        store.drop()


# Each dialect's way of presenting credentials: (send a request with these credentials or a
# wrong one, check its 429 body).


def _ncore(server: Server, tenant: dict[str, Any], subject: dict[str, Any]) -> Any:
    url = f"/compat/ncore/users/{subject['id']}/identifications"

    def send(client: httpx2.Client, valid: bool) -> httpx2.Response:
        key = tenant["api_key"] if valid else unknown_key()
        return client.get(url, headers={"apikey": key})

    def envelope(body: dict[str, Any]) -> None:
        assert body["status"] == 429
        assert body["error"] == "Too Many Requests"
        assert body["code"] == CODE

    return send, envelope


def _argyle(server: Server, tenant: dict[str, Any], subject: dict[str, Any]) -> Any:
    def send(client: httpx2.Client, valid: bool) -> httpx2.Response:
        secret = tenant["key_secret"] if valid else secrets.token_urlsafe(32)
        key_id = tenant["key_id"] if valid else f"kvk_{secrets.token_hex(8)}"
        return client.get("/compat/argyle/v2/user-uploads", headers=basic(key_id, secret))

    def envelope(body: dict[str, Any]) -> None:
        assert body["code"] == CODE
        assert "retry after" in body["detail"]

    return send, envelope


def _kycgenie(server: Server, tenant: dict[str, Any], subject: dict[str, Any]) -> Any:
    def send(client: httpx2.Client, valid: bool) -> httpx2.Response:
        key = tenant["api_key"] if valid else unknown_key()
        return client.get("/compat/kycgenie/api/v2/documents/", headers=bearer(key))

    def envelope(body: dict[str, Any]) -> None:
        assert body["code"] == "rate_limited"  # KYC Genie's own code for a 429
        assert body["details"]["code"] == CODE

    return send, envelope


def _cynopsis(server: Server, tenant: dict[str, Any], subject: dict[str, Any]) -> Any:
    url = f"/compat/cynopsis/api/customer/{subject['number']}/document"

    def send(client: httpx2.Client, valid: bool) -> httpx2.Response:
        key = tenant["api_key"] if valid else unknown_key()
        return client.get(url, headers={**bearer(key), "X-Domain-ID": str(tenant["domain_id"])})

    def envelope(body: dict[str, Any]) -> None:
        assert (body["status"], body["error"], body["code"]) == (429, "Too Many Requests", CODE)
        assert body["path"] == url

    return send, envelope


def _sila_envelope(body: dict[str, Any]) -> None:
    assert (body["success"], body["status"], body["code"]) == (False, "FAILURE", CODE)


def _sila_signature(server: Server, tenant: dict[str, Any], subject: dict[str, Any]) -> Any:
    wallet = new_wallet()  # registered for no app: its signatures never match

    def send(client: httpx2.Client, valid: bool) -> httpx2.Response:
        handle = f"app-{uuid.uuid4().hex[:10]}.silamoney.eth"
        text = json.dumps({"header": header(handle), "message": "header_msg"})
        credentials = bearer(tenant["api_key"]) if valid else signatures(text, wallet.private_key)
        return client.post("/compat/sila/0.2/document_types", content=text, headers=credentials)

    return send, _sila_envelope


def _sila_bearer(server: Server, tenant: dict[str, Any], subject: dict[str, Any]) -> Any:
    def send(client: httpx2.Client, valid: bool) -> httpx2.Response:
        key = tenant["api_key"] if valid else unknown_key()
        text = json.dumps({"header": header("any-app"), "message": "header_msg"})
        return client.post("/compat/sila/0.2/document_types", content=text, headers=bearer(key))

    return send, _sila_envelope


DIALECTS = {
    "ncore-apikey": _ncore,
    "argyle-basic": _argyle,
    "kycgenie-bearer": _kycgenie,
    "cynopsis-bearer": _cynopsis,
    "sila-signature": _sila_signature,
    "sila-bearer": _sila_bearer,
}


@pytest.mark.parametrize("dialect", list(DIALECTS))
def test_each_dialects_failures_count(limited: Server, dialect: str) -> None:
    tenant = limited.create_tenant()
    with limited.client(tenant["api_key"]) as native:
        subject = native.post("/v1/subjects", json={}).json()
    send, envelope = DIALECTS[dialect](limited, tenant, subject)
    with client_from(limited, new_peer()) as client:
        served = send(client, True)
        assert served.status_code == 200, served.text
        fail_until_blocked(lambda _: send(client, False))
        refused = send(client, False)
        retry_after(refused)
        envelope(refused.json())
        served = send(client, True)
        assert served.status_code == 200, served.text
