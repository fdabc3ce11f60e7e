"""End-to-end tests of API-key authentication (Bearer and Basic) and key administration."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import pytest

from tests.helpers import Server

# Every answer is checked against the OpenAPI documents (tests/spec_conformance.py).
pytestmark = pytest.mark.usefixtures("responses_conform")

AUTH_DETAIL = "missing, invalid or revoked API key"


def basic(key_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{key_id}:{secret}".encode()).decode()


def unauthenticated(response: httpx2.Response) -> dict[str, Any]:
    """Assert the one 401 answer; return its body without the per-request id."""
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["www-authenticate"].lower().startswith("bearer")
    assert 'realm="kycvault"' in response.headers["www-authenticate"]
    body = response.json()
    assert body["code"] == "unauthenticated"
    assert body["status"] == 401
    assert body["type"] == "urn:kycvault:problem:unauthenticated"
    assert body["detail"] == AUTH_DETAIL
    assert body["request_id"] == response.headers["x-request-id"]
    assert "errors" not in body
    return {k: v for k, v in body.items() if k != "request_id"}


@pytest.fixture
def anon(server: Server) -> Iterator[httpx2.Client]:
    with server.client(None) as c:
        yield c


def wrong_key_body(anon: httpx2.Client, tenant: dict[str, Any]) -> dict[str, Any]:
    wrong = f"{tenant['key_id']}.{secrets.token_urlsafe(32)}"
    return unauthenticated(anon.get("/v1/subjects", headers={"Authorization": f"Bearer {wrong}"}))


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/subjects"),
        ("POST", "/v1/subjects"),
        ("GET", "/v1/documents"),
        ("POST", "/v1/documents"),
        ("GET", "/v1/document-types"),
        ("GET", "/v1/document-types/passport"),
        ("GET", "/v1/audit-events"),
        ("GET", "/v1/subjects/00000000-0000-4000-8000-000000000000"),
        ("DELETE", "/v1/documents/00000000-0000-4000-8000-000000000000"),
    ],
)
def test_no_authorization_is_401(anon: httpx2.Client, method: str, path: str) -> None:
    response = anon.request(method, path, json={} if method == "POST" else None)
    unauthenticated(response)


def test_health_needs_no_key(anon: httpx2.Client) -> None:
    response = anon.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_valid_bearer_key_works(client: httpx2.Client, tenant: dict[str, Any]) -> None:
    response = client.post("/v1/subjects", json={})
    assert response.status_code == 201
    assert response.json()["created_by"] == tenant["key_id"]
    assert client.get("/v1/subjects").json()["data"][0]["id"] == response.json()["id"]


def test_wrong_secret_is_401(anon: httpx2.Client, tenant: dict[str, Any]) -> None:
    expected = wrong_key_body(anon, tenant)
    # a secret that differs only in its last character
    near = tenant["key_secret"][:-1] + ("A" if tenant["key_secret"][-1] != "A" else "B")
    body = unauthenticated(
        anon.get("/v1/subjects", headers={"Authorization": f"Bearer {tenant['key_id']}.{near}"})
    )
    assert body == expected
    # the key itself still works afterwards
    ok = anon.get("/v1/subjects", headers={"Authorization": f"Bearer {tenant['api_key']}"})
    assert ok.status_code == 200


def test_unknown_key_id_is_401(anon: httpx2.Client, tenant: dict[str, Any]) -> None:
    expected = wrong_key_body(anon, tenant)
    unknown = f"kvk_{secrets.token_hex(8)}.{tenant['key_secret']}"
    body = unauthenticated(anon.get("/v1/subjects", headers={"Authorization": f"Bearer {unknown}"}))
    assert body == expected


@pytest.mark.parametrize(
    "header",
    [
        "",
        "Bearer",
        "Bearer no-dot-at-all",
        "Bearer kvk_0123456789abcdef",
        "Bearer kvk_0123456789abcdef.",
        "Bearer .secret",
        "Bearer notkvk_0123456789abcdef.secret",
        "Bearer kvk_" + "a" * 100 + ".secret",
        "Bearer kvk_0123456789abcdef." + "s" * 500,
        "Token kvk_0123456789abcdef.secret",
        "kvk_0123456789abcdef.secret",
        "Basic",
        "Basic !!!not-base64!!!",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Basic " + base64.b64encode(b":secret-only").decode(),
        "Basic " + base64.b64encode(b"kvk_0123456789abcdef:").decode(),
        "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode(),
        "Digest username=x",
    ],
)
def test_malformed_authorization_is_401(
    anon: httpx2.Client, tenant: dict[str, Any], header: str
) -> None:
    expected = wrong_key_body(anon, tenant)
    body = unauthenticated(anon.get("/v1/subjects", headers={"Authorization": header}))
    assert body == expected


def test_basic_auth_works(anon: httpx2.Client, tenant: dict[str, Any]) -> None:
    header = basic(tenant["key_id"], tenant["key_secret"])
    created = anon.post(
        "/v1/subjects", json={"display_name": "via basic"}, headers={"Authorization": header}
    )
    assert created.status_code == 201, created.text
    assert created.json()["created_by"] == tenant["key_id"]
    listed = anon.get("/v1/subjects", headers={"Authorization": header})
    assert listed.status_code == 200
    assert [s["id"] for s in listed.json()["data"]] == [created.json()["id"]]
    # the same tenant through Bearer sees the same row
    bearer = anon.get("/v1/subjects", headers={"Authorization": f"Bearer {tenant['api_key']}"})
    assert bearer.json()["data"] == listed.json()["data"]
    # httpx2's own Basic auth helper produces the same header
    via_auth = anon.get("/v1/subjects", auth=(tenant["key_id"], tenant["key_secret"]))
    assert via_auth.status_code == 200


def test_basic_auth_wrong_secret_is_401(anon: httpx2.Client, tenant: dict[str, Any]) -> None:
    expected = wrong_key_body(anon, tenant)
    wrong = basic(tenant["key_id"], secrets.token_urlsafe(32))
    assert unauthenticated(anon.get("/v1/subjects", headers={"Authorization": wrong})) == expected
    # the whole api_key as the Basic password is not the secret either
    full = basic(tenant["key_id"], tenant["api_key"])
    assert unauthenticated(anon.get("/v1/subjects", headers={"Authorization": full})) == expected
    # nor is another key id with this secret
    other = basic(f"kvk_{secrets.token_hex(8)}", tenant["key_secret"])
    assert unauthenticated(anon.get("/v1/subjects", headers={"Authorization": other})) == expected


def test_revoked_key_fails_on_the_very_next_request(
    server: Server, anon: httpx2.Client, tenant: dict[str, Any]
) -> None:
    expected = wrong_key_body(anon, tenant)
    bearer = {"Authorization": f"Bearer {tenant['api_key']}"}
    made = anon.post("/v1/subjects", json={}, headers=bearer)
    assert made.status_code == 201

    result = server.cli("key", "revoke", tenant["key_id"])
    assert tenant["key_id"] in result.stdout

    revoked = unauthenticated(anon.get("/v1/subjects", headers=bearer))
    assert revoked == expected
    unauthenticated(anon.get(f"/v1/subjects/{made.json()['id']}", headers=bearer))
    unauthenticated(anon.post("/v1/subjects", json={}, headers=bearer))
    via_basic = basic(tenant["key_id"], tenant["key_secret"])
    assert unauthenticated(anon.get("/v1/subjects", headers={"Authorization": via_basic})) == (
        expected
    )

    listed = server.cli("key", "list", tenant["tenant_id"], "--json")
    (row,) = json.loads(listed.stdout)
    assert row["key_id"] == tenant["key_id"]
    assert row["revoked_at"] is not None
    assert tenant["key_secret"] not in listed.stdout


def test_revoking_an_unknown_key_fails(server: Server) -> None:
    result = server.cli("key", "revoke", f"kvk_{secrets.token_hex(8)}", check=False)
    assert result.returncode != 0


def test_second_key_from_the_cli_works(
    server: Server, anon: httpx2.Client, tenant: dict[str, Any]
) -> None:
    result = server.cli("key", "create", tenant["tenant_id"], "--name", "ci key", "--json")
    new = json.loads(result.stdout)
    assert new["tenant_id"] == tenant["tenant_id"]
    assert new["name"] == "ci key"
    assert new["revoked_at"] is None
    assert new["key_id"].startswith("kvk_")
    assert new["key_id"] != tenant["key_id"]
    assert new["api_key"] == f"{new['key_id']}.{new['key_secret']}"

    first = {"Authorization": f"Bearer {tenant['api_key']}"}
    second = {"Authorization": f"Bearer {new['api_key']}"}
    made = anon.post("/v1/subjects", json={}, headers=second)
    assert made.status_code == 201, made.text
    assert made.json()["created_by"] == new["key_id"]
    # both keys see the same tenant
    assert [s["id"] for s in anon.get("/v1/subjects", headers=first).json()["data"]] == [
        made.json()["id"]
    ]
    ok = anon.get(
        "/v1/subjects", headers={"Authorization": basic(new["key_id"], new["key_secret"])}
    )
    assert ok.status_code == 200

    # revoking one key leaves the other working
    server.cli("key", "revoke", new["key_id"])
    unauthenticated(anon.get("/v1/subjects", headers=second))
    assert anon.get("/v1/subjects", headers=first).status_code == 200


def test_key_list_never_shows_secrets(server: Server, tenant: dict[str, Any]) -> None:
    new = json.loads(server.cli("key", "create", tenant["tenant_id"], "--json").stdout)
    result = server.cli("key", "list", tenant["tenant_id"], "--json")
    rows = json.loads(result.stdout)
    assert {r["key_id"] for r in rows} == {tenant["key_id"], new["key_id"]}
    for row in rows:
        assert row["tenant_id"] == tenant["tenant_id"]
        assert set(row) == {
            "key_id", "tenant_id", "name", "created_at", "revoked_at", "scopes", "expires_at",
        }  # fmt: skip
        assert row["revoked_at"] is None
        assert row["scopes"] == ["admin"]
        assert row["expires_at"] is None
    for secret in (tenant["key_secret"], new["key_secret"]):
        assert secret not in result.stdout
        assert secret not in result.stderr


def test_a_scoped_expiring_key_from_the_cli(
    server: Server, anon: httpx2.Client, tenant: dict[str, Any]
) -> None:
    before = datetime.now(UTC)
    result = server.cli(
        "key", "create", tenant["tenant_id"], "--scope", "subjects:read",
        "--scope", "documents:read", "--expires-in", "90d", "--json",
    )  # fmt: skip
    new = json.loads(result.stdout)
    assert new["scopes"] == ["documents:read", "subjects:read"]
    expires_at = datetime.fromisoformat(new["expires_at"])
    assert before + timedelta(days=90) <= expires_at <= datetime.now(UTC) + timedelta(days=90)
    assert new["api_key"] == f"{new['key_id']}.{new['key_secret']}"

    bearer = {"Authorization": f"Bearer {new['api_key']}"}
    assert anon.get("/v1/documents", headers=bearer).status_code == 200
    assert anon.get("/v1/subjects", headers=bearer).status_code == 200
    refused = anon.post("/v1/subjects", json={}, headers=bearer)
    assert refused.status_code == 403, refused.text
    assert refused.json()["code"] == "insufficient_scope"
    assert refused.json()["required_scope"] == "subjects:write"

    rows = {
        r["key_id"]: r
        for r in json.loads(server.cli("key", "list", tenant["tenant_id"], "--json").stdout)
    }
    assert rows[new["key_id"]]["scopes"] == ["documents:read", "subjects:read"]
    assert rows[new["key_id"]]["expires_at"] == new["expires_at"]
    assert rows[tenant["key_id"]]["scopes"] == ["admin"]
    assert rows[tenant["key_id"]]["expires_at"] is None
    text = server.cli("key", "list", tenant["tenant_id"]).stdout
    (line,) = [row for row in text.splitlines() if row.startswith(new["key_id"])]
    assert "active" in line
    assert "documents:read,subjects:read" in line
    assert new["expires_at"] in line
    assert new["key_secret"] not in text


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--scope", "documents:erase"),
        ("--scope", "*"),
        ("--expires-in", "90"),
        ("--expires-in", "2w"),
        ("--expires-in", "0d"),
        ("--expires-in", "-5m"),
    ],
)
def test_the_cli_refuses_unknown_scopes_and_lifetimes(
    server: Server, tenant: dict[str, Any], option: str, value: str
) -> None:
    result = server.cli("key", "create", tenant["tenant_id"], f"{option}={value}", check=False)
    assert result.returncode == 2, result.stdout
    assert f"Invalid value for {option}" in result.stderr
    assert f"'{value}'" in result.stderr
    assert result.stdout == ""
    listed = json.loads(server.cli("key", "list", tenant["tenant_id"], "--json").stdout)
    assert [row["key_id"] for row in listed] == [tenant["key_id"]]
