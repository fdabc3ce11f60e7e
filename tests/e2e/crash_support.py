"""Plumbing of the crash tests: a server that can be armed to kill itself at a named step
(``KYCVAULT_CRASHPOINT``) or killed from outside, keyed uploads that can be sent again byte for
byte, and the checks made after every restart — ``fsck`` clean, every acknowledged write
intact, every retried key one write."""

from __future__ import annotations

import asyncio
import hashlib
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx2

from kycvault.bootstrap import build_container, open_vault
from kycvault.services import fsck
from kycvault.services.sweep import Grace
from tests.helpers import Part, Server, multipart

# The crash servers: a request names the step at which the server kills itself
# (X-Crashpoint); claims of killed requests lapse in 1 s; an unreferenced blob older than the
# orphan grace (and any staging file of a dead writer) is swept at every start and then every
# second.
CRASH_ENV = {
    "KYCVAULT_CRASHPOINT": "by-request",
    # A killed request's claim lapses soon, so its retry is not kept waiting (409) for long.
    "KYCVAULT_IDEMPOTENCY_LEASE_SECONDS": "0.3",
    "KYCVAULT_SWEEP_INTERVAL_SECONDS": "1",
    "KYCVAULT_IN_PROCESS_WORKER": "true",
    "KYCVAULT_WORKER_POLL_SECONDS": "0.2",
}


def file_bytes(seed: str, size: int) -> bytes:
    """``size`` bytes of a PDF-looking file, the same for the same seed (a retry resends
    exactly what the first attempt sent)."""
    head = b"%PDF-1.4\n"
    stream = hashlib.shake_128(seed.encode()).digest(max(0, size - len(head)))
    return head + stream


@dataclass
class Upload:
    """One request: a new document with its files, or files added to a document."""

    key: str
    files: list[bytes]
    document_id: str | None = None

    @property
    def url(self) -> str:
        if self.document_id is None:
            return "/v1/documents"
        return f"/v1/documents/{self.document_id}/files"

    def send(self, client: httpx2.Client, crashpoint: str | None = None) -> httpx2.Response:
        parts = []
        if self.document_id is None:
            tag = f'{{"rid":"{self.key}"}}'.encode()
            parts += [Part("type", b"bank_statement"), Part("metadata", tag)]
        parts += [Part("file", data, filename=f"f{n}.pdf") for n, data in enumerate(self.files)]
        content_type, body, length = multipart(parts)
        headers = {"Content-Type": content_type, "Idempotency-Key": self.key}
        if crashpoint:
            headers["X-Crashpoint"] = crashpoint
        if length is not None:
            headers["Content-Length"] = str(length)
        return client.post(self.url, content=body, headers=headers)


@dataclass
class Ledger:
    """What the server acknowledged: file id → SHA-256 of what was sent, per document."""

    files: dict[str, dict[str, str]] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)

    def record(self, upload: Upload, body: dict[str, Any]) -> None:
        if upload.document_id is None:
            document_id, stored = body["id"], body["files"]
        else:
            document_id, stored = upload.document_id, body["data"]
        sent = [hashlib.sha256(data).hexdigest() for data in upload.files]
        got = {f["id"]: f["sha256"] for f in stored}
        assert sorted(got.values()) == sorted(sent), "the server stored other bytes than sent"
        self.files.setdefault(document_id, {}).update(got)


def no_processing(client: httpx2.Client) -> None:
    """Switch the tenant's processing off: what is stored is the question in the crash
    tests, not what reading it finds, and reading every upload (OCR in a sandboxed child)
    cost the suite more CPU than the uploads and restarts themselves."""
    off = {"classification": False, "ocr": False, "authenticity": False}
    response = client.patch("/v1/settings/processing", json=off)
    assert response.status_code == 200, response.text


def wait_killed(srv: Server, timeout: float = 30) -> None:
    """Wait for the server to die of SIGKILL (an armed crash point)."""
    assert srv.process is not None
    code = srv.process.wait(timeout=timeout)
    assert code == -signal.SIGKILL, f"the server ended with {code}, not SIGKILL: {srv.output()}"


def kill(srv: Server) -> None:
    assert srv.process is not None
    srv.process.send_signal(signal.SIGKILL)
    srv.process.wait(timeout=30)


def send_until_settled(
    client: httpx2.Client, upload: Upload, timeout: float = 20
) -> httpx2.Response:
    """Send a keyed request until it is no longer 409 (a killed attempt's claim lapsing)."""
    deadline = time.monotonic() + timeout
    while True:
        response = upload.send(client)
        if response.status_code != 409 or time.monotonic() > deadline:
            return response
        time.sleep(0.1)


def fsck_report(srv: Server, grace: Grace, *, verify: bool = True) -> fsck.Report:
    async def go() -> fsck.Report:
        container = build_container(srv.settings())
        try:
            await open_vault(container)
            return await fsck.check(container.ctx, grace, verify=verify)
        finally:
            await container.close()

    return asyncio.run(go())


def assert_fsck_clean(
    srv: Server, grace: Grace, *, verify: bool = True, timeout: float = 15
) -> fsck.Report:
    """fsck finds nothing (leftovers of the killed process are swept by its successor
    within a moment of its start: allow for that)."""
    deadline = time.monotonic() + timeout
    while True:
        report = fsck_report(srv, grace, verify=verify)
        if report.clean or time.monotonic() > deadline:
            assert report.clean, report.as_dict()
            return report
        time.sleep(0.5)


def assert_intact(client: httpx2.Client, ledger: Ledger, only: set[str] | None = None) -> int:
    """Every acknowledged file downloads byte for byte (SHA-256 as sent); deleted documents
    are gone. How many files were read."""
    read = 0
    for document_id, files in ledger.files.items():
        if document_id in ledger.deleted or (only is not None and document_id not in only):
            continue
        doc = client.get(f"/v1/documents/{document_id}")
        assert doc.status_code == 200, doc.text
        assert {f["id"] for f in doc.json()["files"]} == set(files)
        for file_id, digest in files.items():
            content = client.get(f"/v1/documents/{document_id}/files/{file_id}/content")
            assert content.status_code == 200, content.text
            assert hashlib.sha256(content.content).hexdigest() == digest
            read += 1
    for document_id in ledger.deleted:
        assert client.get(f"/v1/documents/{document_id}").status_code == 404
    return read


def all_documents(client: httpx2.Client) -> Iterator[dict[str, Any]]:
    """Every document of the tenant, page after page."""
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 100}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/v1/documents", params=params)
        assert page.status_code == 200, page.text
        body = page.json()
        yield from body["data"]
        cursor = body["next_cursor"]
        if not cursor:
            return


def documents_tagged(client: httpx2.Client, rid: str) -> list[dict[str, Any]]:
    return [d for d in all_documents(client) if d["metadata"].get("rid") == rid]


def listed_files(client: httpx2.Client) -> dict[str, set[str]]:
    """Every document of the tenant with its file ids, from the listing."""
    return {doc["id"]: {f["id"] for f in doc["files"]} for doc in all_documents(client)}
