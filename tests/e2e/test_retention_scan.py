"""End to end: a server whose retention purge runs every 0.2 s deletes a document under a
P0D rule by itself, and leaves its receipt; one under a legal hold stays."""

from __future__ import annotations

import time
from pathlib import Path

from tests.e2e.holds_support import hold, passport
from tests.e2e.retention_support import exists, set_rule
from tests.e2e.uploads_support import tenant_blobs
from tests.helpers import every_page, server_on


def test_the_periodic_purge_deletes_what_is_due(tmp_path: Path, backend: str) -> None:
    with server_on(tmp_path, backend, KYCVAULT_RETENTION_SCAN_SECONDS="0.2") as server:
        tenant = server.create_tenant()
        with server.client(tenant["api_key"]) as client:
            doc = passport(client)
            held = passport(client)
            hold(client, document_id=held["id"])
            set_rule(client, "passport", "upload", "P0D")
            deadline = time.monotonic() + 20
            while exists(client, doc["id"]):
                assert time.monotonic() < deadline, "not purged within 20 s"
                time.sleep(0.1)
            time.sleep(0.5)  # more scans: the held one stays
            assert exists(client, held["id"])
            receipts = every_page(client, "/v1/deletion-receipts")
            assert [r["document_id"] for r in receipts] == [doc["id"]]
            assert len(tenant_blobs(server, tenant)) == 1
