"""End to end: the subject access export (``GET /v1/subjects/{id}/export``, GDPR Art. 15) on
both backend pairs, and ``kycvault verify-subject-export``.

A subject with a read passport and a two-file statement comes back as one zip: the subject
and each document as the API shows them (the passport's MRZ in its extracted data), every
file byte for byte under a name the vault made, the audit events about them, and a manifest
whose digests match and whose MAC the CLI accepts; a zip edited afterwards (a file, or a
file and the manifest's digest of it) is refused, naming what differs. The export needs
``subjects:read`` and ``documents:download``, answers 404 for another tenant's subject (or
one deleted or erased), is
audited once without a name in it, and a blob that fails verification mid-stream breaks the
download rather than finish a zip that lacks it.
"""

from __future__ import annotations

import hashlib
import json
import random
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from kycvault.domain.mrz import Layout
from kycvault.domain.scopes import Scope
from tests.e2e.processing_support import settled, upload
from tests.e2e.scopes_support import make_key
from tests.e2e.uploads_support import assert_problem, create, pdf_part, png_part
from tests.helpers import PDF_BYTES, Server, image_bytes
from tests.samples import document_image, random_person

# Every answer is checked against the OpenAPI documents (tests/spec_conformance.py).
pytestmark = pytest.mark.usefixtures("responses_conform")

SECRET_NAME = "Kycexporter"
STATEMENT_NAMES = ("../../etc/passwd.pdf", "statement page 2.png")


def _subject(client: httpx2.Client, name: str) -> dict[str, Any]:
    made = client.post("/v1/subjects", json={"type": "individual", "display_name": name})
    assert made.status_code == 201, made.text
    subject: dict[str, Any] = made.json()
    return subject


def _export(client: httpx2.Client, subject_id: str, target: Path) -> httpx2.Response:
    """Stream the export to ``target``; the response (its body already read)."""
    path = f"/v1/subjects/{subject_id}/export"
    with client.stream("GET", path) as response, target.open("wb") as out:
        for chunk in response.iter_bytes():
            out.write(chunk)
    return response


def _drain(response: httpx2.Response, into: bytearray) -> None:
    for chunk in response.iter_bytes():
        into += chunk


@pytest.fixture(scope="module")
def passport_holder(processing_server: Server) -> Iterator[dict[str, Any]]:
    """A tenant of its own with a subject, a passport read by the worker and a bank statement
    of two files, and the bytes of each file by its id. Made once for the module (reading
    the passport is most of its cost): the tests only export, and the one that damages a
    blob puts it back."""
    tenant = processing_server.create_tenant()
    person = random_person(random.Random(7), Layout.TD3, surname=SECRET_NAME.upper())
    passport = document_image(person, dpi=300)
    pdf, png = PDF_BYTES + b"%" + bytes(range(256)) * 40, image_bytes("PNG")
    with processing_server.client(tenant["api_key"]) as client:
        subject = _subject(client, f"Zelda {SECRET_NAME}")
        sid = subject["id"]
        read = upload(
            client, "passport", passport, "zelda-passport.png", "image/png",
            role="PAGE1", subject_id=sid, id_number=person.document_number,
        )  # fmt: skip
        doc = settled(client, read["id"])
        assert doc["extracted"]["mrz"]["document_number"] == person.document_number
        statement = create(
            client, "bank_statement", pdf_part(STATEMENT_NAMES[0], pdf),
            png_part(STATEMENT_NAMES[1], png), subject_id=sid,
        )  # fmt: skip
        assert statement.status_code == 201, statement.text
        other = _subject(client, "Someone Else")  # not in the export
        assert create(client, "passport", png_part(), subject_id=other["id"]).status_code == 201
        # Both read to the end, so that nothing changes them between the export and the reads
        # it is compared with.
        documents = [settled(client, d) for d in (doc["id"], statement.json()["id"])]
        contents = {documents[0]["files"][0]["id"]: passport}
        contents |= dict(zip([f["id"] for f in documents[1]["files"]], (pdf, png), strict=True))
        yield {
            "tenant": tenant,
            "client": client,
            "subject": client.get(f"/v1/subjects/{sid}").json(),
            "documents": documents,
            "contents": contents,
            "person": person,
        }


def test_the_export_holds_everything_about_the_subject_and_verifies(
    processing_server: Server, passport_holder: dict[str, Any], tmp_path: Path
) -> None:
    client, subject = passport_holder["client"], passport_holder["subject"]
    target = tmp_path / "export.zip"
    response = _export(client, subject["id"], target)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="subject-{subject["id"]}.zip"'
    )
    assert response.headers["cache-control"] == "no-store"

    with zipfile.ZipFile(target) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
        manifest = json.loads(archive.read("manifest.json"))
        assert json.loads(archive.read("subject.json")) == subject
        files = {}
        for doc in passport_holder["documents"]:
            base = f"documents/{doc['id']}"
            assert json.loads(archive.read(f"{base}/document.json")) == doc
            for stored in doc["files"]:
                ext = {"image/png": "png", "application/pdf": "pdf"}[stored["content_type"]]
                files[stored["id"]] = archive.read(f"{base}/files/{stored['id']}.{ext}")
        events = [json.loads(line) for line in archive.read("audit-events.jsonl").splitlines()]
        listed = {e["name"]: e for e in manifest["entries"]}
        for name in listed:
            data = archive.read(name)
            assert (len(data), hashlib.sha256(data).hexdigest()) == (
                listed[name]["size"],
                listed[name]["sha256"],
            )
    assert files == passport_holder["contents"]
    passport = passport_holder["documents"][0]
    assert passport["extracted"]["mrz"]["surname"] == SECRET_NAME.upper()
    text = json.loads(archive_text(target, passport["id"]))
    assert text["document_id"] == passport["id"] and text["characters"] > 0
    # Names inside the zip are the vault's ids, never the names the client gave.
    assert set(names) == set(listed) | {"manifest.json", "manifest.sig"}
    assert not any(name in entry for entry in names for name in STATEMENT_NAMES)
    assert all(".." not in entry and not entry.startswith("/") for entry in names)
    assert manifest["subject_id"] == subject["id"] and manifest["documents"] == 2

    # The audit events about the subject and both documents, the export itself among them.
    actions = {(e["action"], e["document_id"]) for e in events}
    for doc in passport_holder["documents"]:
        assert ("document.created", doc["id"]) in actions
    assert ("subject.exported", None) in actions
    assert {e["subject_id"] for e in events} <= {subject["id"], None}

    checked = processing_server.cli("verify-subject-export", str(target))
    assert f"{len(listed)} entries match" in checked.stdout


def archive_text(target: Path, document_id: str) -> bytes:
    with zipfile.ZipFile(target) as archive:
        return archive.read(f"documents/{document_id}/text.json")


def _rewrite(source: Path, target: Path, edit: dict[str, bytes]) -> None:
    """A copy of the zip ``source`` with the entries named in ``edit`` replaced."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            new.writestr(info.filename, edit.get(info.filename, old.read(info.filename)))


def test_an_edited_export_fails_the_check_naming_what_changed(
    processing_server: Server, passport_holder: dict[str, Any], tmp_path: Path
) -> None:
    client, subject = passport_holder["client"], passport_holder["subject"]
    original = tmp_path / "export.zip"
    assert _export(client, subject["id"], original).status_code == 200
    with zipfile.ZipFile(original) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    victim = next(e["name"] for e in manifest["entries"] if e["name"].endswith(".pdf"))
    forged = b"%PDF-1.4 not what was uploaded"

    edited = tmp_path / "edited.zip"
    _rewrite(original, edited, {victim: forged})
    refused = processing_server.cli("verify-subject-export", str(edited), check=False)
    assert refused.returncode == 1
    assert victim in refused.stderr

    # The digest recomputed in the manifest too: the manifest's MAC no longer matches.
    for entry in manifest["entries"]:
        if entry["name"] == victim:
            entry.update(size=len(forged), sha256=hashlib.sha256(forged).hexdigest())
    text = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode()
    both = tmp_path / "both.zip"
    _rewrite(original, both, {victim: forged, "manifest.json": text})
    refused = processing_server.cli("verify-subject-export", str(both), check=False)
    assert refused.returncode == 1
    assert "manifest.json" in refused.stderr and "MAC" in refused.stderr

    # An entry slipped in that the manifest does not list.
    extra = tmp_path / "extra.zip"
    _rewrite(original, extra, {})
    with zipfile.ZipFile(extra, "a") as archive:
        archive.writestr("documents/extra.txt", b"added later")
    refused = processing_server.cli("verify-subject-export", str(extra), check=False)
    assert refused.returncode == 1
    assert "documents/extra.txt" in refused.stderr


def test_the_export_is_audited_once_without_names(
    processing_server: Server, passport_holder: dict[str, Any], tmp_path: Path
) -> None:
    client, subject = passport_holder["client"], passport_holder["subject"]

    def exports() -> list[dict[str, Any]]:
        found = client.get("/v1/audit-events", params={"action": "subject.exported"})
        assert found.status_code == 200, found.text
        events: list[dict[str, Any]] = found.json()["data"]
        return events

    before = {e["id"] for e in exports()}  # the module's other tests export the subject too
    assert _export(client, subject["id"], tmp_path / "export.zip").status_code == 200
    [event] = [e for e in exports() if e["id"] not in before]
    assert event["outcome"] == "success"
    assert event["subject_id"] == event["target_id"] == subject["id"]
    assert event["actor"] == passport_holder["tenant"]["key_id"]
    text = json.dumps(event)
    person = passport_holder["person"]
    for secret in (SECRET_NAME, person.document_number, "zelda", *STATEMENT_NAMES):
        assert secret.lower() not in text.lower()


def test_a_blob_that_fails_verification_breaks_the_download(
    processing_server: Server, passport_holder: dict[str, Any], tmp_path: Path
) -> None:
    """The first document's file is in the zip, the statement's PDF is damaged in the store:
    the stream stops there and the connection drops, so no complete zip ever arrives."""
    client, subject = passport_holder["client"], passport_holder["subject"]
    stored = passport_holder["documents"][1]["files"][0]
    blob = processing_server.storage.blob(passport_holder["tenant"]["tenant_id"], stored["id"])
    sealed = blob.read_bytes()
    blob.write_bytes(sealed[:-1] + bytes([sealed[-1] ^ 1]))
    received = bytearray()
    try:
        with client.stream("GET", f"/v1/subjects/{subject['id']}/export") as response:
            assert response.status_code == 200  # the zip had started: subject, passport…
            with pytest.raises(httpx2.RemoteProtocolError):
                _drain(response, received)
    finally:
        blob.write_bytes(sealed)
    passport = passport_holder["contents"][passport_holder["documents"][0]["files"][0]["id"]]
    assert len(received) > len(passport)  # the passport had gone out whole
    broken = tmp_path / "broken.zip"
    broken.write_bytes(received)
    assert not zipfile.is_zipfile(broken)
    refused = processing_server.cli("verify-subject-export", str(broken), check=False)
    assert refused.returncode == 1


def test_the_export_needs_both_scopes(server: Server, tmp_path: Path) -> None:
    tenant = server.create_tenant()
    with server.client(tenant["api_key"]) as admin:
        sid = _subject(admin, "Scoped Person")["id"]
    path = f"/v1/subjects/{sid}/export"
    for held, missing in (
        ([Scope.SUBJECTS_READ], Scope.DOCUMENTS_DOWNLOAD),
        ([Scope.DOCUMENTS_DOWNLOAD], Scope.SUBJECTS_READ),
        ([Scope.DOCUMENTS_READ, Scope.AUDIT_READ], Scope.SUBJECTS_READ),
    ):
        key = make_key(server, tenant["tenant_id"], list(held))
        with server.client(key.api_key) as client:
            body = assert_problem(client.get(path), 403, "insufficient_scope")
        assert body["required_scope"] == missing
    both = make_key(server, tenant["tenant_id"], [Scope.SUBJECTS_READ, Scope.DOCUMENTS_DOWNLOAD])
    with server.client(both.api_key) as client:
        assert _export(client, sid, tmp_path / "e.zip").status_code == 200
    with zipfile.ZipFile(tmp_path / "e.zip") as archive:
        assert json.loads(archive.read("subject.json"))["id"] == sid


def test_another_tenants_unknown_deleted_or_erased_subject_is_a_404(
    server: Server, client: httpx2.Client, other_client: httpx2.Client
) -> None:
    sid = _subject(client, "Private Person")["id"]
    nowhere = "00000000-0000-4000-8000-000000000000"
    assert_problem(other_client.get(f"/v1/subjects/{sid}/export"), 404, "subject_not_found")
    assert_problem(client.get(f"/v1/subjects/{nowhere}/export"), 404, "subject_not_found")
    assert client.delete(f"/v1/subjects/{sid}").status_code == 204
    assert_problem(client.get(f"/v1/subjects/{sid}/export"), 404, "subject_not_found")
    erased = _subject(client, "Erased Person")["id"]
    assert create(client, "passport", png_part(), subject_id=erased).status_code == 201
    done = client.post(f"/v1/subjects/{erased}/erasure")
    assert done.status_code == 200, done.text
    assert done.json()["subject_erased"] is True
    assert_problem(client.get(f"/v1/subjects/{erased}/export"), 404, "subject_not_found")
    assert_problem(client.get("/v1/subjects/not-a-uuid/export"), 400)
