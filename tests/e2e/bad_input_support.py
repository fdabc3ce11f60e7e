"""Shared by the bad-input tests (``test_bad_*.py``): one tenant per backend that every
dialect can address (registered as a Sila app, with a subject that is a Sila user, an nCore
user, a Cynopsis customer and a KYC Genie entity, and a passport of it with one file), each
dialect's error envelope, what the tenant has stored, and the server log written since a
point."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx2

from tests.e2e.problem_support import problem
from tests.e2e.sila.support import (
    RegisteredApp,
    SilaUser,
    assert_failure,
    register_app,
    register_user,
)
from tests.e2e.uploads_support import assert_staging_empty, png_part, tenant_blobs
from tests.helpers import Part, Server, post_multipart

NATIVE, NCORE, CYNOPSIS, KYCGENIE_V1, KYCGENIE_V2, SILA, ARGYLE = (
    "native",
    "ncore",
    "cynopsis",
    "kycgenie-v1",
    "kycgenie-v2",
    "sila",
    "argyle",
)


@dataclass
class AuditMark:
    """What the last look at the tenant's audit trail found: its newest event, and its newest
    event that records a change."""

    newest_event: str | None = None
    newest_change: str | None = None


@dataclass(frozen=True)
class World:
    server: Server
    app: RegisteredApp
    user: SilaUser
    document: dict[str, Any]
    audit: AuditMark = field(default_factory=AuditMark)

    @property
    def tenant(self) -> dict[str, Any]:
        return self.app.tenant

    @property
    def subject(self) -> dict[str, Any]:
        return self.user.subject

    def headers(self, dialect: str) -> dict[str, str]:
        """What a client of the dialect sends to be let in (Sila's signatures are not
        needed: a message is read before it is authenticated)."""
        bearer = {"Authorization": f"Bearer {self.tenant['api_key']}"}
        if dialect == SILA:
            return {}
        if dialect == NCORE:
            return {"apikey": self.tenant["api_key"]}
        if dialect == CYNOPSIS:
            return {**bearer, "X-Domain-ID": str(self.tenant["domain_id"])}
        return bearer

    def client(self, dialect: str = NATIVE) -> httpx2.Client:
        return self.server.client(None, headers=self.headers(dialect), timeout=60)

    def fill(self, text: str) -> str:
        """A path or message template with this world's ids put in."""
        for name, value in (
            ("@SUBJECT@", self.subject["id"]),
            ("@NUMBER@", str(self.subject["number"])),
            ("@DOCUMENT@", self.document["id"]),
            ("@DOCNUMBER@", str(self.document["number"])),
            ("@FILE@", self.document["files"][0]["id"]),
            ("@APP@", self.app.handle),
            ("@USER@", self.user.handle),
        ):
            text = text.replace(name, value)
        return text


def make_world(server: Server) -> World:
    registered = register_app(server)
    with server.client(registered.tenant["api_key"]) as native:
        # No reading in the background: its audit events would come and go between checks.
        off = {"classification": False, "ocr": False, "authenticity": False}
        assert native.patch("/v1/settings/processing", json=off).status_code == 200
        user = register_user(native)
        document = make_document(native, user.subject["id"])
    return World(server, registered, user, document)


def make_document(native: httpx2.Client, subject_id: str) -> dict[str, Any]:
    made = post_multipart(
        native,
        "/v1/documents",
        [Part("type", b"passport"), Part("subject_id", subject_id.encode()), png_part()],
    )
    assert made.status_code == 201, made.text
    body: dict[str, Any] = made.json()
    return body


def assert_envelope(dialect: str, response: httpx2.Response, status: int, code: str) -> None:
    """The dialect's own error body with this status, carrying our stable code where the
    dialect's body has room for it."""
    assert response.status_code == status, response.text
    assert "location" not in response.headers
    if dialect == NATIVE:
        problem(response, status, code)
        return
    body = response.json()
    if dialect == SILA:
        assert_failure(response, status, code)
    elif dialect == KYCGENIE_V2:
        assert body["details"]["code"] == code, body
        assert body["request_id"] == response.headers["x-request-id"]
    elif dialect == KYCGENIE_V1:
        # v1 answers with KYC Genie's documented bodies, which have no room for our code.
        if status == 404:
            assert body == {"detail": "Not found."}
        elif code == "nul_character":
            assert list(body.values()) == [["contains a NUL character"]], body
        else:
            raise AssertionError(f"no check of {code} in KYC Genie v1's body")
    elif dialect == CYNOPSIS:
        assert (body["status"], body["code"]) == (status, code), body
        assert body["path"] == response.request.url.path
        assert body["timestamp"]
    elif dialect == NCORE:
        assert (body["status"], body["code"]) == (status, code), body
        assert body["message"]
    elif dialect == ARGYLE:
        assert body["code"] == code, body
        assert body["detail"]
    else:
        raise AssertionError(f"unknown dialect {dialect}")


# What the worker writes on its own after an upload (on the embedded pair, whose server runs
# it), whenever it gets to it.
BACKGROUND_ACTIONS = frozenset({"file.verified"})
# Reads are recorded too (the snapshot's own listings among them), and so are refused
# authentications: neither is something a refused request stored.
READ_SUFFIXES = (".listed", ".read", ".metadata_read", ".history_read", ".exported")


def changes_only(action: str) -> bool:
    return action not in BACKGROUND_ACTIONS and not action.endswith(READ_SUFFIXES)


def newest_change(native: httpx2.Client, mark: AuditMark) -> str | None:
    """The id of the newest audit event that records a change: the trail only grows, so a
    request stored nothing in it when this is the same after it as before. The trail is read
    newest first down to the newest event the last look (``mark``) saw: below it, the newest
    change is the one that look found. (Every check also adds read events: reading the whole
    trail each time made the bad-input modules quadratic in their number of cases.)"""
    cursor: str | None = None
    newest: str | None = None
    found: tuple[str | None] | None = None
    while found is None:
        params: dict[str, str | int] = {"limit": 100}
        if cursor:
            params["cursor"] = cursor
        response = native.get("/v1/audit-events", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        for event in page["data"]:
            newest = newest or str(event["id"])
            if mark.newest_event is not None and str(event["id"]) == mark.newest_event:
                found = (mark.newest_change,)
                break
            if changes_only(event["action"]):
                found = (str(event["id"]),)
                break
        else:
            if not page["has_more"]:
                found = (None,)
            cursor = page["next_cursor"]
    mark.newest_event, mark.newest_change = newest or mark.newest_event, found[0]
    return found[0]


def stored(world: World, native: httpx2.Client) -> dict[str, Any]:
    """What the tenant holds: its rows (as the native API lists them), its audit trail
    (less the worker's own events) and its blobs. Processing results are left out."""

    def listed(path: str) -> Any:
        response = native.get(path)
        assert response.status_code == 200, response.text
        return response.json()

    documents = [
        {
            **{k: d[k] for k in ("id", "type", "name", "id_number", "metadata")},
            "files": sorted(f["id"] for f in d["files"]),
            "subject_id": d["subject_id"],
        }
        for d in listed("/v1/documents?limit=100")["data"]
    ]
    return {
        "subjects": listed("/v1/subjects?limit=100")["data"],
        "documents": documents,
        "types": listed("/v1/document-types"),
        "settings": listed("/v1/settings/processing"),
        "audit": newest_change(native, world.audit),
        "blobs": tenant_blobs(world.server, world.tenant),
    }


class LogMark:
    """The server's log from here on: a refused request must leave no traceback there."""

    def __init__(self, server: Server) -> None:
        self.path = server.root / "server.log"
        self.offset = self.path.stat().st_size

    def assert_clean(self) -> None:
        with self.path.open("rb") as log:
            log.seek(self.offset)
            written = log.read().decode(errors="replace")
        assert "Traceback" not in written, written[-3000:]
        assert "unhandled_error" not in written, written[-3000:]


def assert_nothing_stored(world: World, native: httpx2.Client, before: dict[str, Any]) -> None:
    assert stored(world, native) == before
    assert_staging_empty(world.server)
