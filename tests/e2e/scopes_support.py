"""The scope matrix of ``test_scopes.py``: the calls, each with the scope it needs, over the
native routes and the dialects', and the vault they run against."""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import httpx2

from kycvault.domain.scopes import Scope
from kycvault.services import tenants
from kycvault.services.context import AppContext
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


def open_vault(server: Server) -> Vault:
    """A tenant of its own on ``server`` with its keys, subject, document and file."""
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
    Call("POST", DOC + "/review", Scope.DOCUMENTS_REVIEW, json={"status": "approved"}),
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
    Call("GET", "/v1/audit-events/export", Scope.AUDIT_READ),
    Call("GET", DOC + "/history", R),
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
    Call("GET", "/v1/legal-holds", R),
    Call("GET", "/v1/legal-holds/{nowhere}", R),
    Call("POST", "/v1/legal-holds", Scope.ADMIN, json={"document_id": "{nowhere}", "reason": "x"}),
    Call("DELETE", "/v1/legal-holds/{nowhere}", Scope.ADMIN),
    Call("GET", "/v1/retention-rules", R),
    Call(
        "PUT",
        "/v1/retention-rules/no-such-type",
        Scope.ADMIN,
        json={"basis": "upload", "period": "P5Y"},
    ),
    Call("DELETE", "/v1/retention-rules/no-such-type", Scope.ADMIN),
    Call("POST", "/v1/subjects/{nowhere}/relationship-end", SW, json={"ended_on": None}),
    Call("GET", "/v1/deletion-receipts", Scope.AUDIT_READ),
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


def call_name(call: Call) -> str:
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
