"""End to end: the audit trail (GET /v1/audit-events, its export, a document's history,
``kycvault audit verify``).

Every access and change leaves one event with who (a key id, never a secret), from where, on
what (subject, document, file) and how it ended; nothing in it names a person, a document
number, a file name or a token. The events of a tenant form one hash chain: an event edited,
deleted, inserted or moved in the database is found by ``verify``, which names the first
one that does not follow.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx2
import pytest
import sqlalchemy as sa

from kycvault.services import audit_trail
from kycvault.services.context import AppContext
from tests.e2e.uploads_support import create, png_part
from tests.helpers import Server, every_page, server_on

# Every answer is checked against the OpenAPI documents (tests/spec_conformance.py).
pytestmark = pytest.mark.usefixtures("responses_conform")

PERSON = "Ada Lovelace-Byron"
NUMBER = "LX4471902"
FILE_NAME = "ada-passport-front.png"


def trail(client: httpx2.Client, **params: Any) -> list[dict[str, Any]]:
    """Every audit event matching ``params``, newest first."""
    return every_page(client, "/v1/audit-events", **params)


def _passport(client: httpx2.Client) -> dict[str, Any]:
    subject = client.post("/v1/subjects", json={"type": "individual", "display_name": PERSON})
    assert subject.status_code == 201, subject.text
    made = create(
        client,
        "passport",
        png_part(FILE_NAME),
        subject_id=subject.json()["id"],
        id_number=NUMBER,
    )
    assert made.status_code == 201, made.text
    doc: dict[str, Any] = made.json()
    return doc


def test_each_access_and_change_is_recorded_with_its_target_and_no_pii(
    server: Server, client: httpx2.Client, tenant: dict[str, Any]
) -> None:
    doc = _passport(client)
    file_id = doc["files"][0]["id"]
    assert client.get(f"/v1/documents/{doc['id']}").status_code == 200
    assert client.get("/v1/documents").status_code == 200
    assert client.get(f"/v1/documents/{doc['id']}/files/{file_id}").status_code == 200
    content = client.get(f"/v1/documents/{doc['id']}/files/{file_id}/content")
    assert content.status_code == 200
    link = client.post(f"/v1/documents/{doc['id']}/files/{file_id}/download-link")
    assert link.status_code in (200, 201), link.text
    token_url = link.json()["download_url"]
    with server.client(None) as anonymous:
        assert anonymous.get(urlsplit(token_url).path).status_code == 200
    assert client.patch(f"/v1/documents/{doc['id']}", json={"name": "renamed"}).status_code == 200
    assert client.delete(f"/v1/documents/{doc['id']}").status_code == 204

    events = trail(client)
    actions = [e["action"] for e in reversed(events)]
    for expected in (
        "subject.created",
        "document.created",
        "document.read",
        "document.listed",
        "file.metadata_read",
        "file.read",
        "file.link_created",
        "file.read_by_link",
        "document.updated",
        "document.deleted",
    ):
        assert expected in actions, (expected, actions)
    about_doc = [e for e in events if e["document_id"] == doc["id"]]
    assert {e["subject_id"] for e in about_doc} == {doc["subject_id"]}
    for event in events:
        assert event["outcome"] == "success"
        assert event["at"].endswith(("Z", "+00:00"))
        assert isinstance(event["seq"], int)
        if event["action"] == "key.created":  # the tenant's first key, made by the operator
            assert event["actor"] == "cli" and event["client_address"] is None
        elif event["action"] != "file.read_by_link":
            assert event["actor"] == tenant["key_id"]
            assert event["client_address"] == "127.0.0.1"
            assert event["request_id"]
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(seqs, reverse=True) and len(set(seqs)) == len(seqs)

    text = json.dumps(events)
    secret = tenant["api_key"].partition(".")[2]
    for clear in (PERSON, NUMBER, FILE_NAME, "renamed", secret, token_url.rsplit("/", 1)[-1]):
        assert clear not in text, clear


def test_filters_cursors_and_unknown_parameters(client: httpx2.Client) -> None:
    first = _passport(client)
    second = _passport(client)
    client.get(f"/v1/documents/{first['id']}")

    mine = trail(client, document_id=first["id"])
    assert mine and {e["document_id"] for e in mine} == {first["id"]}
    assert {"document.created", "document.read"} <= {e["action"] for e in mine}
    by_subject = trail(client, subject_id=second["subject_id"])
    assert {e["subject_id"] for e in by_subject} == {second["subject_id"]}
    created = trail(client, action="document.created")
    assert {e["document_id"] for e in created} == {first["id"], second["id"]}
    both = trail(client, action=["document.created", "subject.created"])
    assert len(both) == 4
    assert trail(client, outcome="refused") == []
    everything = trail(client)
    assert trail(client, actor=everything[0]["actor"]) != []
    assert trail(client, actor="kvk_0000000000000000") == []
    middle = everything[len(everything) // 2]["at"]
    older = trail(client, to=middle)
    newer = trail(client, **{"from": middle})
    assert {e["id"] for e in older} | {e["id"] for e in newer} >= {e["id"] for e in everything}
    assert all(e["at"] <= middle for e in older) and all(e["at"] >= middle for e in newer)

    # Pages: no loss, no repeat, and a cursor is bound to its filters.
    page = client.get("/v1/audit-events", params={"limit": 2}).json()
    assert len(page["data"]) == 2 and page["has_more"]
    again = client.get(
        "/v1/audit-events", params={"limit": 2, "cursor": page["next_cursor"], "outcome": "x"}
    )
    assert again.status_code == 400, again.text

    for bad in ({"subject": first["subject_id"]}, {"limit": 501}, {"from": "yesterday"}):
        refused = client.get("/v1/audit-events", params=bad)
        assert refused.status_code == 400, (bad, refused.text)
    unknown = client.get("/v1/audit-events", params={"documentid": first["id"]})
    assert unknown.json()["errors"][0] == {
        "field": "documentid",
        "code": "unknown_parameter",
        "message": "not a parameter here",
    }


def test_export_streams_every_event_as_json_lines_or_csv(client: httpx2.Client) -> None:
    doc = _passport(client)
    listed = trail(client)
    lines = client.get("/v1/audit-events/export", params={"document_id": doc["id"]})
    assert lines.status_code == 200, lines.text
    assert lines.headers["content-type"].startswith("application/x-ndjson")
    assert "attachment" in lines.headers["content-disposition"]
    rows = [json.loads(line) for line in lines.text.splitlines()]
    assert [r["id"] for r in rows] == [e["id"] for e in listed if e["document_id"] == doc["id"]]

    table = client.get("/v1/audit-events/export", params={"format": "csv"})
    assert table.status_code == 200 and table.headers["content-type"].startswith("text/csv")
    read = list(csv.DictReader(io.StringIO(table.text)))
    assert list(read[0]) == list(audit_trail.EXPORT_COLUMNS)
    # The export's own record comes first; everything listed before it follows.
    assert read[0]["action"] == "audit.exported"
    assert [r["id"] for r in read if r["id"] in {e["id"] for e in listed}] == [
        e["id"] for e in listed
    ]
    assert PERSON not in table.text and NUMBER not in table.text
    assert client.get("/v1/audit-events/export", params={"format": "xml"}).status_code == 400


def test_a_documents_history_outlives_it(
    client: httpx2.Client, other_client: httpx2.Client
) -> None:
    doc = _passport(client)
    path = f"/v1/documents/{doc['id']}"
    client.patch(path, json={"name": "x"})
    client.delete(path)
    history = client.get(f"{path}/history")
    assert history.status_code == 200, history.text
    actions = [e["action"] for e in history.json()["data"]]
    assert actions[:2] == ["document.deleted", "document.updated"]
    assert actions[-1] == "document.created"
    assert other_client.get(f"{path}/history").status_code == 404
    assert client.get(f"/v1/documents/{uuid.uuid4()}/history").status_code == 404


def test_a_failed_authentication_is_in_the_keys_tenant_trail(
    server: Server, client: httpx2.Client, tenant: dict[str, Any]
) -> None:
    with server.client(f"{tenant['key_id']}.wrong-secret") as stranger:
        assert stranger.get("/v1/subjects").status_code == 401
    failed = trail(client, action="auth.failed")
    assert len(failed) == 1
    assert failed[0]["outcome"] == "refused"
    assert failed[0]["actor"] == tenant["key_id"]
    assert "wrong-secret" not in json.dumps(failed)


def _tamper(server: Server, sql: str, **params: Any) -> None:
    """``sql`` run on the server's database as someone with write access to it would."""
    # UUIDs bound as the backend stores them (SQLite: 32 hex digits).
    statement = sa.text(sql).bindparams(
        *(sa.bindparam(name, type_=sa.Uuid()) for name in params if name in sql)
    )

    async def work(ctx: AppContext) -> None:
        async with ctx.store.write() as uow:
            await uow.connection.run_sync(  # type: ignore[attr-defined]
                lambda conn: conn.execute(statement, {k: v for k, v in params.items() if k in sql})
            )

    server.in_context(work)


def _verify(server: Server, tenant_id: str) -> audit_trail.Verification:
    async def work(ctx: AppContext) -> audit_trail.Verification:
        return await audit_trail.verify(ctx, tenant_id=uuid.UUID(tenant_id))

    return server.in_context(work)


def _chain(server: Server, tenant: dict[str, Any]) -> Callable[[int], str]:
    """The id of the tenant's event numbered ``seq``."""

    def event_id(seq: int) -> str:
        async def work(ctx: AppContext) -> str:
            async with ctx.store.read() as uow:
                (event,) = await uow.audit.chain_events(uuid.UUID(tenant["tenant_id"]), seq - 1, 1)
            return str(event.id)

        return server.in_context(work)

    return event_id


TAMPERING = {
    "edited": ("UPDATE audit_events SET outcome = 'failure' WHERE chain_id = :c AND seq = 3", 3),
    "deleted": ("DELETE FROM audit_events WHERE chain_id = :c AND seq = 3", 4),
    "reordered": (
        "UPDATE audit_events SET seq = CASE seq WHEN 3 THEN 4 ELSE 3 END "
        "WHERE chain_id = :c AND seq IN (3, 4)",
        3,
    ),
    "inserted": (
        "INSERT INTO audit_events (id, tenant_id, at, actor, action, outcome, details, chain_id, "
        "seq, prev_mac, mac) SELECT :new, tenant_id, at, actor, 'document.read', outcome, details, "
        "chain_id, 0, prev_mac, mac FROM audit_events WHERE chain_id = :c AND seq = 3",
        0,
    ),
    "appended": (
        "INSERT INTO audit_events (id, tenant_id, at, actor, action, outcome, details, chain_id, "
        "seq, prev_mac, mac) SELECT :new, tenant_id, at, actor, 'document.read', outcome, details, "
        "chain_id, 1000, prev_mac, mac FROM audit_events WHERE chain_id = :c AND seq = 3",
        1000,
    ),
    "truncated": ("DELETE FROM audit_events WHERE chain_id = :c AND seq >= 5", 5),
}


@pytest.mark.parametrize("how", list(TAMPERING))
def test_verify_finds_the_first_event_that_does_not_follow(
    server: Server, client: httpx2.Client, tenant: dict[str, Any], how: str
) -> None:
    for _ in range(2):
        _passport(client)
    assert client.get("/v1/documents").status_code == 200
    intact = _verify(server, tenant["tenant_id"])
    assert intact.breaks == [] and intact.events >= 6
    event_id = _chain(server, tenant)
    third = event_id(3)
    sql, first_bad = TAMPERING[how]
    # The unique (chain, number) index makes a row swap go through a free number.
    if how == "reordered":
        _tamper(
            server,
            "UPDATE audit_events SET seq = -1 WHERE chain_id = :c AND seq = 3",
            c=uuid.UUID(tenant["tenant_id"]),
        )
        _tamper(
            server,
            "UPDATE audit_events SET seq = 3 WHERE chain_id = :c AND seq = 4",
            c=uuid.UUID(tenant["tenant_id"]),
        )
        _tamper(
            server,
            "UPDATE audit_events SET seq = 4 WHERE chain_id = :c AND seq = -1",
            c=uuid.UUID(tenant["tenant_id"]),
        )
    else:
        _tamper(server, sql, c=uuid.UUID(tenant["tenant_id"]), new=uuid.uuid4())
    (broken,) = _verify(server, tenant["tenant_id"]).breaks
    assert broken.seq == first_bad, broken
    if how == "edited":
        assert str(broken.event_id) == third and "content" in broken.reason
    if how in ("deleted", "appended"):
        assert "missing" in broken.reason
    if how == "truncated":
        assert "end" in broken.reason


def test_audit_verify_command(tmp_path: Any, backend: str) -> None:
    with server_on(tmp_path, backend) as srv:
        tenant = srv.create_tenant()
        with srv.client(tenant["api_key"]) as client:
            _passport(client)
        done = srv.cli("audit", "verify", "--json")
        report = json.loads(done.stdout)
        assert report["intact"] and report["events"] >= 3
        _tamper(
            srv,
            "UPDATE audit_events SET actor = 'kvk_ffff' WHERE chain_id = :c AND seq = 2",
            c=uuid.UUID(tenant["tenant_id"]),
        )
        failed = srv.cli("audit", "verify", "--tenant", tenant["tenant_id"], check=False)
        assert failed.returncode == 1, failed.stdout + failed.stderr
        assert "(number 2)" in failed.stdout and "content" in failed.stdout
