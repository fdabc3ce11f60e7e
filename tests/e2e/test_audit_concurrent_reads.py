"""End to end, on a real server process: many reads at once. Their audit events are written
together (group commit, ``adapters/db/group_commit.py``); each read still has its own event,
answered only once it is committed, and the tenant's chain stays unbroken for ``kycvault
audit verify``."""

from __future__ import annotations

import json
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.e2e.uploads_support import create, png_part
from tests.helpers import Server, every_page

pytestmark = pytest.mark.server_process

READS = 50


def test_concurrent_reads_each_leave_one_event_in_an_unbroken_chain(
    server: Server, tenant: dict[str, Any]
) -> None:
    with server.client(tenant["api_key"]) as client:
        subject = client.post("/v1/subjects", json={"type": "individual"}).json()
        made = create(client, "passport", png_part(), subject_id=subject["id"])
        assert made.status_code == 201, made.text
        doc = made.json()
        before = Counter(e["action"] for e in every_page(client, "/v1/audit-events"))
    file_path = f"/v1/documents/{doc['id']}/files/{doc['files'][0]['id']}"
    # Five kinds of read, each recorded under its own action.
    reads = [
        (f"/v1/documents/{doc['id']}", "document.read"),
        (file_path, "file.metadata_read"),
        (file_path + "/content", "file.read"),
        ("/v1/documents", "document.listed"),
        (f"/v1/subjects/{subject['id']}", "subject.read"),
    ]
    start = threading.Barrier(READS)

    def read(n: int) -> int:
        path, _ = reads[n % len(reads)]
        with server.client(tenant["api_key"]) as c:
            start.wait()
            return c.get(path).status_code

    with ThreadPoolExecutor(READS) as pool:
        statuses = list(pool.map(read, range(READS)))
    assert statuses == [200] * READS

    with server.client(tenant["api_key"]) as client:
        after = Counter(e["action"] for e in every_page(client, "/v1/audit-events"))
    # The listing of the trail just above is itself recorded; it is not one of the reads.
    for _, action in reads:
        assert after[action] - before[action] == READS // len(reads), action
    done = server.cli("audit", "verify", "--tenant", tenant["tenant_id"], "--json")
    report = json.loads(done.stdout)
    assert report["intact"], report
    # Every event listed, and the recorded listings of the trail's later pages.
    assert report["events"] >= sum(after.values())
