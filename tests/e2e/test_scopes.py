"""Scoped API keys over HTTP, on both backend pairs: every native route and a read and a
write route (and the download and delete ones) of each dialect answer a key without the
route's scope with 403 ``insufficient_scope`` naming the scope (problem+json with
``required_scope`` on /v1, each vendor's envelope under /compat), and the refusal is in the
audit log without the secret; a key holding only that scope gets past the check. A write
sent with an Idempotency-Key is refused and audited the same way, and its stored answer is
not replayed to a key without its scopes. Expired keys answer 401 as unknown ones do."""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx2
import pytest

from kycvault.domain.scopes import Scope
from kycvault.services import tenants
from kycvault.services.context import AppContext
from tests.e2e.test_auth import unauthenticated
from tests.helpers import Part, Server, image_bytes, multipart

SCOPES = [scope for scope in Scope if scope != Scope.ADMIN]
R, W = Scope.DOCUMENTS_READ, Scope.DOCUMENTS_WRITE
DL, DEL = Scope.DOCUMENTS_DOWNLOAD, Scope.DOCUMENTS_DELETE
SR, SW = Scope.SUBJECTS_READ, Scope.SUBJECTS_WRITE
NOWHERE = "00000000-0000-4000-8000-000000000000"
PNG = image_bytes("PNG")


@dataclass
class Vault:
    """One tenant on one server: its admin key, a key per scope and one per missing scope,
    and a subject with a passport and its first page."""

    server: Server
    tenant: dict[str, Any]
    only: dict[Scope, tenants.IssuedKey]
    without: dict[Scope, tenants.IssuedKey]
    ids: dict[str, str]

    def client(self, api_key: str, **headers: str) -> httpx2.Client:
        return self.server.client(api_key, headers=headers)


def make_key(
    server: Server, tenant_id: str, scopes: list[str], **options: Any
) -> tenants.IssuedKey:
    async def make(ctx: AppContext) -> tenants.IssuedKey:
        return await tenants.create_key(ctx, tenant_id=UUID(tenant_id), scopes=scopes, **options)

    return server.in_context(make)


@pytest.fixture(scope="module")
def vault(server: Server) -> Vault:
    tenant = server.create_tenant()
    only = {s: make_key(server, tenant["tenant_id"], [s]) for s in Scope}
    without = {
        s: make_key(server, tenant["tenant_id"], [o for o in SCOPES if o != s]) for s in Scope
    }
    external = f"user-{secrets.token_hex(4)}"
    with server.client(tenant["api_key"]) as admin:
        subject = admin.post("/v1/subjects", json={"external_id": external}).json()
        parts = [
            Part("type", b"passport"),
            Part("subject_id", subject["id"].encode()),
            Part("role", b"PAGE1"),
            Part("file", PNG, "page.png", "image/png"),
        ]
        content_type, body, _ = multipart(parts)
        made = admin.post(
            "/v1/documents", content=b"".join(body), headers={"Content-Type": content_type}
        )
        assert made.status_code == 201, made.text
        doc = made.json()
    ids = {
        "subject": subject["id"],
        "subject_number": str(subject["number"]),
        "external": external,
        "domain": str(tenant["domain_id"]),
        "doc": doc["id"],
        "doc_number": str(doc["number"]),
        "file": doc["files"][0]["id"],
        "nowhere": NOWHERE,
    }
    return Vault(server, tenant, only, without, ids)


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    scope: Scope
    json: Any = None
    form: tuple[tuple[str, bytes, str | None], ...] | None = None  # (part, data, filename)
    raw: Any = None  # a JSON message sent as Sila's SDKs send it (no content type)
    headers: tuple[tuple[str, str], ...] = ()

    def send(self, client: httpx2.Client, ids: dict[str, str], **extra: str) -> httpx2.Response:
        """The request, with the vault's ids in place of ``{subject}``, ``{doc}``…"""

        def fill(text: str) -> str:
            for name, value in ids.items():
                text = text.replace("{" + name + "}", value)
            return text

        path = fill(self.path)
        headers = {k: fill(v) for k, v in self.headers} | extra
        if self.form is not None:
            parts = [
                Part(name, data if filename else fill(data.decode()).encode(), filename)
                for name, data, filename in self.form
            ]
            content_type, body, _ = multipart(parts)
            headers["Content-Type"] = content_type
            return client.request(self.method, path, content=b"".join(body), headers=headers)
        if self.raw is not None:
            text = fill(json.dumps(self.raw))
            return client.request(self.method, path, content=text.encode(), headers=headers)
        sent = None if self.json is None else json.loads(fill(json.dumps(self.json)))
        return client.request(self.method, path, json=sent, headers=headers)


DOC = "/v1/documents/{doc}"
FILE = DOC + "/files/{file}"
UPLOAD = (("type", b"passport", None), ("file", PNG, "page.png"))

NATIVE = [
    Call("GET", "/v1/subjects", SR),
    Call("POST", "/v1/subjects", SW, json={}),
    Call("GET", "/v1/subjects/{subject}", SR),
    Call("PATCH", "/v1/subjects/{subject}", SW, json={"display_name": "renamed"}),
    Call("DELETE", "/v1/subjects/{nowhere}", SW),
    Call("GET", "/v1/subjects/{subject}/documents", R),
    Call("GET", "/v1/documents", R),
    Call("POST", "/v1/documents", W, json={"type": "passport"}),
    Call("POST", "/v1/documents", W, form=UPLOAD),
    Call("GET", DOC, R),
    Call("PATCH", DOC, W, json={"name": "renamed"}),
    Call("DELETE", "/v1/documents/{nowhere}", DEL),
    Call("POST", DOC + "/files", W, form=(("file", PNG, "more.png"),)),
    Call("GET", DOC + "/files", R),
    Call("GET", FILE, R),
    Call("GET", FILE + "/content", DL),
    Call("HEAD", FILE + "/content", DL),
    Call("POST", FILE + "/download-link", DL),
    Call("DELETE", DOC + "/files/{nowhere}", DEL),
    Call("POST", "/v1/documents/{nowhere}/reprocess", W),
    Call("GET", DOC + "/text", R),
    Call("GET", "/v1/reports/expiring", R),
    Call("GET", "/v1/document-types", R),
    Call("GET", "/v1/document-types/passport", R),
    Call("POST", "/v1/document-types", Scope.ADMIN, json={"label": "Board minutes"}),
    Call("GET", "/v1/settings/processing", Scope.ADMIN),
    Call("PATCH", "/v1/settings/processing", Scope.ADMIN, json={}),
    Call("GET", "/v1/settings/notifications", Scope.ADMIN),
    Call("PATCH", "/v1/settings/notifications", Scope.ADMIN, json={}),
    Call("GET", "/v1/audit-events", Scope.AUDIT_READ),
    Call("GET", "/v1/events", Scope.WEBHOOKS_MANAGE),
    Call("GET", "/v1/events/{nowhere}", Scope.WEBHOOKS_MANAGE),
    Call("POST", "/v1/events/{nowhere}/redeliver", Scope.WEBHOOKS_MANAGE),
    Call("GET", "/v1/webhook-endpoints", Scope.WEBHOOKS_MANAGE),
    Call(
        "POST",
        "/v1/webhook-endpoints",
        Scope.WEBHOOKS_MANAGE,
        # Refused by the scope or, past it, as no URL (nothing is resolved).
        json={"url": "not a url", "events": ["document.created"]},
    ),
    Call("DELETE", "/v1/webhook-endpoints/{nowhere}", Scope.WEBHOOKS_MANAGE),
]

NCORE = "/compat/ncore/users/{external}/identifications"
CYNOPSIS = "/compat/cynopsis/api/customer/{subject_number}/document"
DOMAIN = (("X-Domain-ID", "{domain}"),)
SILA = "/compat/sila/0.2"
SILA_HEADER = {"user_handle": "{external}", "reference": "r"}
GENIE = "/compat/kycgenie/api"
ARGYLE = "/compat/argyle/v2"
SILA_UPLOAD = {
    "header": SILA_HEADER,
    "filename": "scan",
    "hash": hashlib.sha256(PNG).hexdigest(),
    "mime_type": "image/png",
    "document_type": "id_passport",
}

DIALECTS = [
    Call("POST", NCORE, W, json={"type": "PASSPORT", "number": "X1"}),
    Call("GET", NCORE, R),
    Call("GET", NCORE + "/{doc}", R),
    Call("PUT", NCORE + "/{doc}", W, json={"number": "X2"}),
    Call("GET", NCORE + "/{doc}/files/{file}:download", DL),
    Call("DELETE", NCORE + "/{doc}/files/{nowhere}", DEL),
    Call(
        "POST",
        CYNOPSIS,
        W,
        form=(("document", b'{"type": "PASSPORT"}', None), ("front", PNG, "front.png")),
        headers=DOMAIN,
    ),
    Call("GET", CYNOPSIS, R, headers=DOMAIN),
    Call("GET", CYNOPSIS + "/{doc_number}", R, headers=DOMAIN),
    Call("GET", CYNOPSIS + "/{doc_number}/front", DL, headers=DOMAIN),
    Call("DELETE", CYNOPSIS + "/999999", DEL, headers=DOMAIN),
    Call("POST", SILA + "/list_documents", R, raw={"header": SILA_HEADER}),
    Call("POST", SILA + "/document_types", R, raw={"header": {}}),
    Call("POST", SILA + "/get_document", DL, raw={"header": SILA_HEADER, "document_id": "{doc}"}),
    Call(
        "POST",
        SILA + "/documents",
        W,
        form=(("data", json.dumps(SILA_UPLOAD).encode(), None), ("file", PNG, "scan.png")),
    ),
    Call(
        "POST",
        GENIE + "/v2/documents/upload/",
        W,
        form=(("document_type", b"Passport", None), ("file", PNG, "p.png")),
    ),
    Call("GET", GENIE + "/v2/documents/", R),
    Call("GET", GENIE + "/v1/documents/", R),
    Call("GET", GENIE + "/v2/documents/{doc}/", R),
    Call("GET", GENIE + "/v2/entities/{subject}/documents/", R),
    Call("GET", GENIE + "/v2/documents/{doc}/download/", DL),
    Call("DELETE", GENIE + "/v2/documents/{nowhere}/", DEL),
    Call(
        "POST",
        GENIE + "/v2/questionnaire-responses/",
        SW,
        json={"questionnaire_id": 1, "entity_id": "{subject}"},
    ),
    Call(
        "POST",
        ARGYLE + "/user-uploads",
        W,
        form=(
            ("user", b"{external}", None),
            ("document_type", b"proof-of-identity", None),
            ("upload", PNG, "id.png"),
        ),
    ),
    Call("GET", ARGYLE + "/user-uploads", R),
    Call("GET", ARGYLE + "/user-uploads/{doc}", R),
    Call("GET", ARGYLE + "/user-uploads/{doc}/files/{file}", DL),
    Call("GET", ARGYLE + "/webhooks", Scope.WEBHOOKS_MANAGE),
]


def _name(call: Call) -> str:
    return f"{call.method} {call.path}"


def refusal(call: Call, response: httpx2.Response) -> tuple[str, str]:
    """(our stable code, the words for people) of a 403, from the route's own envelope."""
    assert response.status_code == 403, response.text
    body = response.json()
    path = call.path
    if path.startswith("/v1"):
        assert response.headers["content-type"].startswith("application/problem+json")
        assert body["type"] == "urn:kycvault:problem:insufficient_scope"
        assert body["status"] == 403
        assert body["required_scope"] == call.scope
        assert body["request_id"] == response.headers["x-request-id"]
        return body["code"], body["detail"]
    if path.startswith(SILA):
        assert (body["success"], body["status"]) == (False, "FAILURE")
        return body["code"], body["message"]
    if path.startswith(GENIE + "/v2"):
        assert body["code"] == "permission_denied"  # KYC Genie's own code; ours in details
        return body["details"]["code"], body["error"]
    if path.startswith((GENIE, ARGYLE)):
        return body["code"], body["detail"]
    return body["code"], body["message"]  # nCore, Cynopsis


def newest_event(vault: Vault) -> tuple[dict[str, Any], str]:
    with vault.client(vault.tenant["api_key"]) as admin:
        listed = admin.get("/v1/audit-events", params={"limit": 1})
    assert listed.status_code == 200, listed.text
    return listed.json()["data"][0], listed.text


@pytest.mark.parametrize("call", NATIVE + DIALECTS, ids=_name)
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


@pytest.mark.parametrize("call", NATIVE + DIALECTS, ids=_name)
def test_a_key_with_only_the_scope_gets_past_the_check(vault: Vault, call: Call) -> None:
    with vault.client(vault.only[call.scope].api_key) as client:
        response = call.send(client, vault.ids)
    assert response.status_code != 403, response.text
    assert response.status_code < 500, response.text


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
