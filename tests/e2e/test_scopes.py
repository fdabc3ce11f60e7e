"""Scoped API keys over HTTP, on both backend pairs: every native route and a read and a
write route (and the download and delete ones) of each dialect answer a key without the
route's scope with 403 ``insufficient_scope`` naming the scope (problem+json with
``required_scope`` on /v1, each vendor's envelope under /compat), and the refusal is in the
audit log without the secret; a key holding only that scope gets past the check. A write
sent with an Idempotency-Key is refused and audited the same way, and its stored answer is
not replayed to a key without its scopes. Expired keys answer 401 as unknown ones do."""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx2
import pytest

from kycvault.api.compat import DIALECTS as VENDORS
from kycvault.api.openapi import documents
from kycvault.domain.scopes import Scope
from tests.e2e.scopes_support import (
    DIALECTS,
    DL,
    FILE,
    NATIVE,
    NCORE,
    SR,
    Call,
    R,
    Vault,
    call_name,
    make_key,
    newest_event,
    open_vault,
    refusal,
)
from tests.e2e.test_auth import unauthenticated
from tests.helpers import Server


@pytest.fixture(scope="module")
def vault(server: Server) -> Vault:
    return open_vault(server)


@pytest.mark.parametrize("call", NATIVE + DIALECTS, ids=call_name)
def test_a_key_without_the_scope_is_refused_and_audited(vault: Vault, call: Call) -> None:
    key = vault.without[call.scope]
    # Writes carry an Idempotency-Key: their refusal happens inside the transaction that
    # would hold the change and the stored answer, and must still be recorded.
    keyed = {"Idempotency-Key": uuid.uuid4().hex} if call.method not in ("GET", "HEAD") else {}
    with vault.client(key.api_key) as client:
        response = call.send(client, vault.ids, **keyed)
    if call.method == "HEAD":
        assert response.status_code == 403
    else:
        code, words = refusal(call, response)
        assert code == "insufficient_scope"
        assert call.scope in words
    event, text = newest_event(vault)
    assert event["action"] == "auth.scope_refused"
    assert event["outcome"] == "refused"
    assert event["actor"] == key.key.key_id
    assert event["details"] == {"scope": call.scope}
    assert key.key_secret not in text


@pytest.mark.parametrize("call", NATIVE + DIALECTS, ids=call_name)
def test_a_key_with_only_the_scope_gets_past_the_check(vault: Vault, call: Call) -> None:
    with vault.client(vault.only[call.scope].api_key) as client:
        response = call.send(client, vault.ids)
    assert response.status_code != 403, response.text
    assert response.status_code < 500, response.text


# What answers without a key (operations, single-use links, Sila's empty messages).
OPEN = re.compile(r"^/(healthz|readyz|metrics)$|/downloads/|/files/\{token\}/|/getmessage$")


def test_no_route_lets_a_key_through_without_a_scope(vault: Vault) -> None:
    """Every operation of the live OpenAPI, asked by a key holding only ``audit:read`` (the
    audit log and the deletion receipts by one without it), is refused, or fails its input
    checks first: none answers, and none looks anything up (no 404), before the scope is
    checked. A route that forgot its scope fails here."""
    app = getattr(vault.server, "app", None)
    if app is None:
        pytest.skip("the OpenAPI is read off the in-process application")
    operations = 0
    paths = {
        path: methods
        for spec in documents(app, VENDORS).values()
        for path, methods in spec["paths"].items()
    }
    for path, methods in paths.items():
        if OPEN.search(path):
            continue
        audit_read = path.startswith(("/v1/audit-events", "/v1/deletion-receipts"))
        scope = R if audit_read else Scope.AUDIT_READ
        filled = re.sub(r"\{(customerId|documentId)\}", "1", path)
        filled = filled.replace("{user_id}", vault.ids["external"])
        filled = re.sub(r"\{[^}]+\}", vault.ids["doc"], filled)
        key = vault.only[scope].api_key
        with vault.client(key, **{"X-Domain-ID": vault.ids["domain"]}) as client:
            for method in methods:
                # A Sila message needs the user its header names to say who is calling.
                message = {"header": {"user_handle": vault.ids["external"]}}
                response = client.request(method.upper(), filled, json=message)
                operations += 1
                if response.status_code == 403:
                    assert method == "head" or "insufficient_scope" in response.text
                    continue
                assert response.status_code in (400, 415), (method, path, response.text)
    assert operations > 90


def test_an_admin_key_and_the_first_key_do_everything(vault: Vault) -> None:
    for api_key in (vault.tenant["api_key"], vault.only[Scope.ADMIN].api_key):
        with vault.client(api_key) as client:
            for call in NATIVE:
                if call.method in ("GET", "HEAD"):
                    response = call.send(client, vault.ids)
                    assert response.status_code not in (401, 403), (call, response.text)


@pytest.fixture
def admin(vault: Vault) -> Iterator[httpx2.Client]:
    with vault.client(vault.tenant["api_key"]) as client:
        yield client


def test_a_stored_answer_is_not_replayed_to_a_key_without_its_scope(
    vault: Vault, admin: httpx2.Client
) -> None:
    """A download link made with an Idempotency-Key holds a token: a key that may only read
    metadata must not get it by sending the same request with the same key."""
    path = FILE.format(**vault.ids) + "/download-link"
    same = {"Idempotency-Key": f"link-{uuid.uuid4().hex}"}
    made = admin.post(path, headers=same)
    assert made.status_code == 201, made.text
    token = made.json()["download_url"].rsplit("/", 1)[1]
    again = admin.post(path, headers=same)
    assert again.headers.get("idempotent-replayed") == "true"
    with vault.client(vault.without[DL].api_key) as reader:
        refused = reader.post(path, headers=same)
    assert refused.status_code == 403, refused.text
    assert refused.json()["required_scope"] == DL
    assert token not in refused.text
    event, _ = newest_event(vault)
    assert (event["action"], event["details"]) == ("auth.scope_refused", {"scope": DL})
    with vault.client(vault.only[DL].api_key) as downloader:
        replayed = downloader.post(path, headers=same)
    assert replayed.status_code == 201
    assert replayed.json()["download_url"].endswith(token)


def test_an_expired_key_answers_as_an_unknown_one(vault: Vault) -> None:
    past = datetime.now(UTC) - timedelta(seconds=1)
    expired = make_key(vault.server, vault.tenant["tenant_id"], [], expires_at=past)
    unknown = f"kvk_{secrets.token_hex(8)}.{secrets.token_urlsafe(32)}"
    with vault.client(unknown) as client:
        expected = unauthenticated(client.get("/v1/subjects"))
    with vault.client(expired.api_key) as client:
        assert unauthenticated(client.get("/v1/subjects")) == expected
        assert unauthenticated(client.get(f"/v1/documents/{vault.ids['doc']}")) == expected
        ncore = client.get(NCORE.format(**vault.ids))
    assert ncore.status_code == 401
    later = datetime.now(UTC) + timedelta(hours=1)
    living = make_key(vault.server, vault.tenant["tenant_id"], [SR], expires_at=later)
    with vault.client(living.api_key) as client:
        assert client.get("/v1/subjects").status_code == 200
