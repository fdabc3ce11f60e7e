"""The retention purge on both backend pairs, run as the periodic scan runs it with the
vault's clock moved: what is due goes (rows, blobs) with a receipt and an audit event; what
has no rule, no basis date yet, or a legal hold stays."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx2

from kycvault.services import retention_purge
from kycvault.services.context import AppContext
from tests.e2e.documents_support import new_doc, new_subject
from tests.e2e.holds_support import audit_events, hold, lift, passport
from tests.e2e.retention_support import end_relationship, exists, purge, set_rule
from tests.e2e.test_download_links import create_link, token_of
from tests.e2e.uploads_support import tenant_blobs
from tests.helpers import Server, every_page

TODAY = datetime.now(UTC).date()


def test_a_p0d_rule_purges_at_once_with_a_receipt_and_an_audit_event(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    doc = passport(client)
    kept = new_doc(client, type="utility_bill")  # no rule: kept forever
    assert tenant_blobs(server, tenant)
    token_hash = hashlib.sha256(token_of(create_link(client, doc)).encode()).digest()

    async def link_stored(ctx: AppContext) -> bool:
        async with ctx.store.read() as uow:
            return await uow.download_links.find(token_hash) is not None

    assert server.in_context(link_stored)
    set_rule(client, "passport", "upload", "P0D")

    assert purge(server, tenant) == 1
    assert not server.in_context(link_stored)  # its download link went with it
    assert not exists(client, doc["id"])
    assert exists(client, kept["id"])
    assert tenant_blobs(server, tenant) == set()  # the page's blob is gone
    assert purge(server, tenant) == 0

    receipts = every_page(client, "/v1/deletion-receipts")
    assert len(receipts) == 1
    receipt = receipts[0]
    assert receipt["document_id"] == doc["id"]
    assert receipt["subject_id"] == doc["subject_id"]
    assert (receipt["document_type"], receipt["basis"], receipt["period"]) == (
        "passport",
        "upload",
        "P0D",
    )
    assert receipt["retain_until"] == TODAY.isoformat()
    assert receipt["files"] == [{"file_id": f["id"], "sha256": f["sha256"]} for f in doc["files"]]

    events = audit_events(client, "document.purged")
    assert len(events) == 1
    event = events[0]
    assert event["actor"] == "retention"
    assert event["target_id"] == doc["id"]
    assert event["subject_id"] == doc["subject_id"]
    assert {k: event["details"][k] for k in ("basis", "period")} == {
        "basis": "upload",
        "period": "P0D",
    }
    assert not any(f["sha256"] in str(event) for f in doc["files"])


def test_a_held_document_stays_until_the_hold_is_lifted(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    doc = passport(client)
    other = passport(client)
    on_doc = hold(client, document_id=doc["id"])
    on_subject = hold(client, subject_id=other["subject_id"])
    set_rule(client, "passport", "upload", "P0D")

    assert purge(server, tenant) == 0
    assert exists(client, doc["id"]) and exists(client, other["id"])
    lift(client, on_doc["id"])
    assert purge(server, tenant) == 1
    assert not exists(client, doc["id"]) and exists(client, other["id"])
    lift(client, on_subject["id"])
    assert purge(server, tenant) == 1
    assert not exists(client, other["id"])
    receipts = every_page(client, "/v1/deletion-receipts")
    assert sorted(r["document_id"] for r in receipts) == sorted([other["id"], doc["id"]])


def test_the_period_runs_from_the_upload_on_the_vaults_clock(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    doc = passport(client)
    set_rule(client, "passport", "upload", "P1M")
    assert purge(server, tenant, TODAY + timedelta(days=27)) == 0
    assert exists(client, doc["id"])
    assert purge(server, tenant, TODAY + timedelta(days=32)) == 1
    assert not exists(client, doc["id"])


def test_a_relationship_end_rule_waits_for_the_relationship_to_end(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    subject = new_subject(client)
    doc = passport(client, subject["id"])
    loose = new_doc(client)  # of no subject: never a relationship end
    set_rule(client, "passport", "relationship_end", "P5Y")
    assert purge(server, tenant, TODAY + timedelta(days=366 * 20)) == 0

    end_relationship(client, subject["id"], "2020-02-29")
    assert purge(server, tenant, date(2025, 2, 27)) == 0
    assert exists(client, doc["id"])
    end_relationship(client, subject["id"], None)  # cleared: kept again
    assert purge(server, tenant, date(2030, 1, 1)) == 0
    end_relationship(client, subject["id"], "2020-02-29")
    assert purge(server, tenant, date(2025, 2, 28)) == 1
    assert not exists(client, doc["id"])
    assert exists(client, loose["id"])
    receipt = every_page(client, "/v1/deletion-receipts")[0]
    assert receipt["retain_until"] == "2025-02-28"
    assert (receipt["basis"], receipt["period"]) == ("relationship_end", "P5Y")


def test_an_expiry_rule_needs_an_expiry_date(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    dated = new_doc(client, expiry_date="2024-01-31")
    undated = new_doc(client)
    set_rule(client, "passport", "expiry", "P1M")
    assert purge(server, tenant, date(2024, 2, 28)) == 0
    assert purge(server, tenant, date(2024, 2, 29)) == 1
    assert not exists(client, dated["id"])
    assert exists(client, undated["id"])
    assert every_page(client, "/v1/deletion-receipts")[0]["files"] == []


def test_a_removed_rule_keeps_documents_again(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    doc = passport(client)
    set_rule(client, "passport", "upload", "P0D")
    assert client.delete("/v1/retention-rules/passport").status_code == 204
    assert purge(server, tenant) == 0
    assert exists(client, doc["id"])
    assert len(tenant_blobs(server, tenant)) == 1


def test_receipts_page_by_cursor_and_stay_with_their_tenant(
    server: Server, tenant: dict[str, Any], client: httpx2.Client, other_client: httpx2.Client
) -> None:
    docs = [passport(client) for _ in range(3)]
    set_rule(client, "passport", "upload", "P0D")
    assert purge(server, tenant) == 3
    first = client.get("/v1/deletion-receipts", params={"limit": 2}).json()
    assert len(first["data"]) == 2 and first["has_more"]
    rest = client.get(
        "/v1/deletion-receipts", params={"limit": 2, "cursor": first["next_cursor"]}
    ).json()
    assert len(rest["data"]) == 1 and not rest["has_more"]
    listed = {r["document_id"] for r in first["data"] + rest["data"]}
    assert listed == {d["id"] for d in docs}
    assert other_client.get("/v1/deletion-receipts").json()["data"] == []
    bad = client.get("/v1/deletion-receipts", params={"cursor": "not-a-cursor"})
    assert bad.status_code == 400, bad.text


def test_the_scan_decides_on_the_databases_clock_not_the_hosts(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    """A process whose clock runs years ahead purges nothing early: the scan's day is the
    database's, and so is the receipt's ``purged_at``."""
    early = passport(client)
    set_rule(client, "passport", "upload", "P1Y")
    ahead = datetime.now(UTC) + timedelta(days=366 * 3)

    async def scan_with_clock_ahead(ctx: AppContext) -> int:
        return await retention_purge.scan(dataclasses.replace(ctx, clock=lambda: ahead))

    assert server.in_context(scan_with_clock_ahead) == 0
    assert exists(client, early["id"])
    set_rule(client, "passport", "upload", "P0D")
    before = datetime.now(UTC)
    assert server.in_context(scan_with_clock_ahead) == 1
    [receipt] = every_page(client, "/v1/deletion-receipts")
    purged_at = datetime.fromisoformat(receipt["purged_at"])
    assert before - timedelta(minutes=5) < purged_at < ahead - timedelta(days=366)
