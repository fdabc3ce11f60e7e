"""The Python client (``kycvault.client``) against a real server process on both backend
pairs: lists that follow cursors over several pages, uploads streamed from a path and from a
file object with progress, downloads to a path and to a file object, single-use links, an
idempotent retry that makes one document, typed errors carrying the problem's code, the
asyncio client, and a delivered webhook checked with the client's verifier."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import tracemalloc
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from kycvault.client import (
    AsyncClient,
    AuthenticationError,
    Client,
    ConflictError,
    GoneError,
    NotFoundError,
    Upload,
    ValidationError,
    WebhookVerificationError,
    verify_webhook,
)
from tests.e2e.webhook_support import SERVER_ENV, receiving
from tests.helpers import PDF_BYTES, Server, image_bytes, server_on


@pytest.fixture(scope="module")
def sdk_server(tmp_path_factory: pytest.TempPathFactory, backend: str) -> Iterator[Server]:
    """Delivers webhooks to loopback (for the verifier's test), with its worker inside."""
    with server_on(tmp_path_factory.mktemp(f"sdk-{backend}"), backend, **SERVER_ENV) as srv:
        yield srv


@pytest.fixture
def api_key(sdk_server: Server) -> str:
    key: str = sdk_server.create_tenant()["api_key"]
    return key


@pytest.fixture
def vault(sdk_server: Server, api_key: str) -> Iterator[Client]:
    with Client(sdk_server.url, api_key=api_key) as client:
        yield client


class Recorder:
    """A progress callback that keeps what it was told."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int | None]] = []

    def __call__(self, done: int, total: int | None) -> None:
        self.calls.append((done, total))


def test_lists_follow_cursors_over_every_page(vault: Client) -> None:
    person = vault.subjects.create(external_id=f"sdk-{uuid.uuid4().hex[:8]}", display_name="Jo")
    made = [
        vault.documents.create(type="passport", subject_id=person.id, name=f"p{n}")
        for n in range(7)
    ]
    vault.documents.create(type="utility_bill")  # no subject, another type

    pages = list(vault.documents.list(type="passport", limit=3).pages())
    assert [len(p.data) for p in pages] == [3, 3, 1]
    assert pages[-1].has_more is False
    listed = [d.id for d in vault.documents.list(type="passport", limit=3)]
    assert listed == [d.id for d in reversed(made)]  # newest first
    by_name = [d.name for d in vault.documents.list(type=["passport"], sort="name", limit=2)]
    assert by_name == [f"p{n}" for n in range(7)]
    assert len(list(vault.subjects.documents(person.id, limit=2))) == 7
    assert len(list(vault.documents.list(limit=100))) == 8

    assert person.external_id is not None
    found = list(vault.subjects.list(external_id=person.external_id))
    assert [s.id for s in found] == [person.id]
    assert found[0].display_name == "Jo"


def test_upload_from_a_path_and_a_file_object_then_download(vault: Client, tmp_path: Path) -> None:
    scan = tmp_path / "front.png"
    scan.write_bytes(image_bytes(size=(400, 300)))
    pdf = PDF_BYTES + b"%" * 200_000
    handle = io.BytesIO(pdf)
    progress = Recorder()

    doc = vault.documents.create(
        type="national_id",
        files=[Upload(scan, role="FRONT"), Upload(handle, filename="back.pdf", role="BACK")],
        progress=progress,
        metadata={"source": "sdk"},
        expiry_date="2031-01-31",
    )
    total = scan.stat().st_size + len(pdf)
    assert progress.calls[0] == (0, total) and progress.calls[-1] == (total, total)
    sent = [done for done, _ in progress.calls]
    assert sent == sorted(sent) and len(sent) > 3  # told as it went, chunk by chunk
    assert [(f.role, f.filename, f.size) for f in doc.files] == [
        ("FRONT", "front.png", scan.stat().st_size),
        ("BACK", "back.pdf", len(pdf)),
    ]
    assert doc.metadata == {"source": "sdk"} and str(doc.expiry_date) == "2031-01-31"
    front, back = doc.files

    out = tmp_path / "out" / "copy.png"
    out.parent.mkdir()
    fetched = Recorder()
    assert vault.files.download(doc.id, front.id, out, progress=fetched) == front.size
    assert out.read_bytes() == scan.read_bytes()
    assert fetched.calls[-1] == (front.size, front.size)
    assert list(out.parent.iterdir()) == [out]  # nothing left beside it
    buffer = io.BytesIO()
    vault.files.download(doc.id, back.id, buffer)
    assert hashlib.sha256(buffer.getvalue()).hexdigest() == back.sha256

    added = vault.files.add(doc.id, [io.BytesIO(PDF_BYTES)])
    assert [f.filename for f in vault.files.list(doc.id)][-1] == added[0].filename
    assert vault.files.get(doc.id, added[0].id).size == len(PDF_BYTES)

    link = vault.links.create(doc.id, front.id)
    assert link.filename == "front.png" and link.size == front.size
    shared = tmp_path / "shared.png"
    vault.links.download(link, shared)
    assert shared.read_bytes() == scan.read_bytes()
    with pytest.raises(GoneError) as used:
        vault.links.download(link.download_url, tmp_path / "again.png")
    assert used.value.status == 410 and not (tmp_path / "again.png").exists()


def test_a_large_file_goes_up_and_comes_down_in_chunks(vault: Client, tmp_path: Path) -> None:
    """24 MiB each way while the client holds a few chunks at a time (its own allocations,
    traced in this process; the server is another)."""
    size = 24 * 1024 * 1024
    source = tmp_path / "big.pdf"
    with source.open("wb") as out:
        out.write(b"%PDF-1.7\n")
        out.truncate(size)
    tracemalloc.start()
    try:
        doc = vault.documents.create(type="bank_statement", files=[source])
        copy = tmp_path / "copy.pdf"
        written = vault.files.download(doc.id, doc.files[0].id, copy)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert doc.files[0].size == written == size == copy.stat().st_size
    assert peak < 4 * 1024 * 1024, peak


def test_a_retried_write_with_the_same_key_makes_one_document(
    vault: Client, tmp_path: Path
) -> None:
    scan = tmp_path / "scan.png"
    scan.write_bytes(image_bytes())
    key = str(uuid.uuid4())
    first = vault.documents.create(type="passport", files=[scan], idempotency_key=key)
    # The same request again, as a retry after a lost answer sends it (a new multipart
    # boundary, the file read anew): the first answer, not a second document.
    again = vault.documents.create(type="passport", files=[scan], idempotency_key=key)
    assert again.id == first.id and again.files[0].id == first.files[0].id
    assert [d.id for d in vault.documents.list()] == [first.id]
    with pytest.raises(ValidationError) as reused:  # the key with another payload
        vault.documents.create(type="national_id", files=[scan], idempotency_key=key)
    assert reused.value.status == 422 and reused.value.code == "idempotency_key_reused"


class LosesFirstAnswer(httpx2.HTTPTransport):
    """A network that drops the answer to the first write after the server has made it."""

    def __init__(self) -> None:
        super().__init__()
        self.lost: list[str] = []

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        response = super().handle_request(request)
        if request.method == "POST" and not self.lost:
            response.read()
            response.close()
            self.lost.append(request.headers["idempotency-key"])
            raise httpx2.ReadError("connection reset", request=request)
        return response


def test_a_lost_answer_is_retried_by_itself_and_makes_one_document(
    sdk_server: Server, api_key: str, tmp_path: Path
) -> None:
    scan = tmp_path / "scan.png"
    scan.write_bytes(image_bytes())
    network = LosesFirstAnswer()
    slept: list[float] = []
    with Client(sdk_server.url, api_key=api_key, transport=network, sleep=slept.append) as vault:
        doc = vault.documents.create(type="passport", files=[scan, io.BytesIO(PDF_BYTES)])
        assert len(network.lost) == 1 and len(slept) == 1
        assert [d.id for d in vault.documents.list()] == [doc.id]
        assert [f.size for f in doc.files] == [scan.stat().st_size, len(PDF_BYTES)]


def test_errors_are_typed_and_carry_the_problem(
    vault: Client, sdk_server: Server, api_key: str
) -> None:
    with pytest.raises(NotFoundError) as missing:
        vault.documents.get(uuid.uuid4())
    assert missing.value.status == 404 and missing.value.code == "document_not_found"
    assert missing.value.request_id

    with pytest.raises(ValidationError) as unknown:
        list(vault.documents.list(type="no_such_type"))
    assert unknown.value.status == 400 and unknown.value.code == "unknown_document_type"
    assert unknown.value.errors[0].field == "type"
    misspelt: Any = {"typ": "passport"}
    with pytest.raises(ValidationError) as typo:
        list(vault.documents.list(**misspelt))
    assert typo.value.code == "unknown_parameter"

    subject = vault.subjects.create(display_name="Has documents")
    vault.documents.create(type="passport", subject_id=subject.id)
    with pytest.raises(ConflictError) as busy:
        vault.subjects.delete(subject.id)
    assert busy.value.status == 409 and busy.value.code == "subject_has_documents"

    wrong = Client(sdk_server.url, api_key=api_key + "x")
    with wrong, pytest.raises(AuthenticationError) as refused:
        wrong.subjects.get(subject.id)
    assert refused.value.status == 401 and refused.value.code == "unauthenticated"


def test_async_client(sdk_server: Server, api_key: str, tmp_path: Path) -> None:
    scan = tmp_path / "scan.png"
    scan.write_bytes(image_bytes())

    async def flow() -> None:
        async with AsyncClient(sdk_server.url, api_key=api_key) as vault:
            subject = await vault.subjects.create(external_id="async-1")
            progress = Recorder()
            made = [
                await vault.documents.create(
                    type="passport", subject_id=subject.id, files=[scan], progress=progress
                )
                for _ in range(3)
            ]
            assert progress.calls[-1] == (scan.stat().st_size, scan.stat().st_size)
            listed = [d.id async for d in vault.documents.list(subject_id=subject.id, limit=2)]
            assert listed == [d.id for d in reversed(made)]
            out = tmp_path / "back.png"
            stored = made[0].files[0]
            assert await vault.files.download(made[0].id, stored.id, out) == stored.size
            assert out.read_bytes() == scan.read_bytes()
            changed = await vault.documents.update(made[0].id, name="renamed")
            assert (await vault.documents.get(made[0].id)).name == changed.name == "renamed"
            await vault.documents.delete(made[0].id)
            with pytest.raises(NotFoundError):
                await vault.documents.get(made[0].id)
            history = [e.action async for e in vault.audit.history(made[1].id)]
            assert "document.created" in history

    asyncio.run(flow())


def test_webhooks_events_and_audit(vault: Client, tmp_path: Path) -> None:
    with receiving() as receiver:
        endpoint = vault.webhooks.create(receiver.url(), ["subject.created"])
        assert endpoint.secret is not None and endpoint.secret.startswith("whsec_")
        subject = vault.subjects.create(external_id="hooked")
        receiver.wait_for(lambda: len(receiver.delivered()) == 1)
    delivered = receiver.delivered()[0]
    event = verify_webhook(delivered.body, delivered.headers, endpoint.secret)
    assert event["type"] == "subject.created"
    assert event["data"]["subject_id"] == str(subject.id)
    with pytest.raises(WebhookVerificationError):
        verify_webhook(delivered.body + b" ", delivered.headers, endpoint.secret)
    rotated = vault.webhooks.rotate_secret(endpoint.id)
    with pytest.raises(WebhookVerificationError):
        verify_webhook(delivered.body, delivered.headers, rotated.secret or "")

    assert [e.id for e in vault.webhooks.list()] == [endpoint.id]
    attempts = list(vault.webhooks.deliveries(endpoint.id))
    assert [a.status for a in attempts] == ["delivered"]
    logged = list(vault.events.list(type="subject.created", limit=1))
    assert [e.id for e in logged] == [uuid.UUID(event["id"])]
    assert vault.events.get(logged[0].id).data["subject_id"] == str(subject.id)
    redelivery = vault.webhooks.redeliver(logged[0].id)
    assert redelivery.endpoint_ids == [endpoint.id]
    disabled = vault.webhooks.update(endpoint.id, enabled=False)
    assert disabled.enabled is False
    vault.webhooks.delete(endpoint.id)
    assert vault.webhooks.list() == []

    actions = [e.action for e in vault.audit.list(limit=2)]
    assert "subject.created" in actions
    exported = tmp_path / "audit.jsonl"
    size = vault.audit.export(exported, action="subject.created")
    lines = [json.loads(line) for line in exported.read_text().splitlines()]
    assert size == exported.stat().st_size and [r["action"] for r in lines] == ["subject.created"]
