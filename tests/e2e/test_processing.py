"""End to end: documents are read after upload, outside the request, by the worker: stage
statuses, the MRZ and its check digits, classification, authenticity signals and score,
the encrypted text and its opt-in search, reprocessing, tenant settings, and failure of an
unreadable file (marked failed with a reason, not retried).

Both backend pairs run what involves the pair: a document read end to end (the file fetched
from the pair's storage, results and text stored in its database), failures, settings,
reprocessing, the text search and the duplicate lookups (queries of each database), and the
API answering while the worker reads. What only exercises the reading itself (OCR, the MRZ
and its check digits, editor traces) runs on the embedded pair alone (``READING_ONLY``): the
reader is the same child process whichever pair the file came from, and Tesseract's ~1 s a
document would buy nothing a second time."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx2
import pytest

from kycvault.domain.mrz import Layout
from tests.e2e.documents_support import new_subject
from tests.e2e.processing_support import settled, signal, upload
from tests.helpers import WORKER_INSIDE, Part, Server, post_multipart, server_on
from tests.samples import Person, document_image, mrz_lines, random_person, text_pdf
from tests.spec_conformance import conforming

STATEMENT = [
    "Northwind Bank - Bank Statement",
    "Statement period 1 Oct 2026 to 31 Oct 2026",
    "Account number 12345678  Sort code 12-34-56",
    "Opening balance 1,204.11   Closing balance 980.40",
    "Transactions",
]


# Reading-only checks: the embedded pair is enough (see the module's docstring).
READING_ONLY = pytest.mark.embedded


@pytest.fixture(autouse=True)
def _answers_conform(processing_server: Server) -> Iterator[None]:
    """What processing found (``extracted``, signals) is as the OpenAPI document says."""
    with conforming(processing_server):
        yield


def _person(seed: int, layout: Layout = Layout.TD3) -> Person:
    return random_person(random.Random(seed), layout)


def _declared(person: Person) -> dict[str, str]:
    return {
        "id_number": person.document_number,
        "expiry_date": person.expiry_date.isoformat(),
        "issuing_country": person.issuing_state.replace("<", "")
        if person.issuing_state != "D<<"
        else "DEU",
    }


def _passport(client: httpx2.Client, person: Person, **fields: str) -> dict[str, Any]:
    image = document_image(person, dpi=300)
    return upload(client, "passport", image, "passport.png", "image/png", role="PAGE1", **fields)


def test_a_passport_is_read_and_scores_full_marks(pclient: httpx2.Client) -> None:
    person = _person(11)
    created = _passport(pclient, person, **_declared(person))
    assert set(created["processing"].values()) <= {"idle", "in_progress", "completed"}
    doc = settled(pclient, created["id"])
    assert doc["processing"] == {
        "classification": "completed",
        "ocr": "completed",
        "authenticity": "completed",
    }
    mrz = doc["extracted"]["mrz"]
    assert mrz["layout"] == "TD3"
    assert mrz["document_number"] == person.document_number
    assert mrz["surname"] == person.surname
    assert mrz["given_names"] == person.given_names
    assert mrz["birth_date"] == person.birth_date.isoformat()
    assert mrz["expiry_date"] == person.expiry_date.isoformat()
    assert mrz["checks"] == dict.fromkeys(
        ["document_number", "birth_date", "expiry_date", "optional_data", "composite"], True
    )
    assert doc["extracted"]["classification"]["type"] == "passport"
    assert doc["extracted"]["classification"]["agrees"] is True
    assert doc["authenticity_score"] == 100
    assert all(not s["fired"] and s["weight"] > 0 for s in doc["authenticity_signals"])
    assert signal(doc, "mrz_check_digits")["outcome"] == "passed"
    text = pclient.get(f"/v1/documents/{doc['id']}/text")
    assert text.status_code == 200
    assert person.surname.split()[0] in text.json()["text"]


@READING_ONLY
def test_declared_fields_that_disagree_with_the_mrz_fire_signals(pclient: httpx2.Client) -> None:
    person = _person(12)
    declared = {**_declared(person), "id_number": "X0000000", "expiry_date": "2020-01-31"}
    declared["issuing_country"] = "FR" if not person.issuing_state.startswith("FRA") else "DE"
    doc = settled(pclient, _passport(pclient, person, **declared)["id"])
    for code in (
        "mrz_number_mismatch",
        "mrz_expiry_mismatch",
        "mrz_country_mismatch",
        "document_expired",
    ):
        assert signal(doc, code)["fired"] is True, code
    weights = sum(s["weight"] for s in doc["authenticity_signals"] if s["fired"])
    assert doc["authenticity_score"] == max(0, 100 - weights)
    assert doc["authenticity_score"] < 100


@READING_ONLY
def test_a_wrong_check_digit_is_reported_not_repaired(pclient: httpx2.Client) -> None:
    person = replace(_person(13), broken=frozenset({"birth_date"}))
    doc = settled(pclient, _passport(pclient, person, **_declared(person))["id"])
    assert doc["extracted"]["mrz"]["checks"]["birth_date"] is False
    fired = signal(doc, "mrz_check_digits")
    assert fired["fired"] is True and "birth date" in fired["detail"]


@READING_ONLY
def test_an_id_card_td1_is_read(pclient: httpx2.Client) -> None:
    person = _person(14, Layout.TD1)
    image = document_image(person, dpi=300)
    created = upload(pclient, "national_id", image, "back.png", "image/png", role="BACK")
    doc = settled(pclient, created["id"])
    assert doc["extracted"]["mrz"]["layout"] == "TD1"
    assert doc["extracted"]["mrz"]["document_number"] == person.document_number
    assert doc["extracted"]["classification"]["type"] == "national_id"
    # Found by the number read from its MRZ (none was declared), whatever its case and spacing.
    number = person.document_number
    for given in (number, number.lower(), " ".join(number)):
        found = pclient.get("/v1/documents", params={"id_number": given})
        assert [d["id"] for d in found.json()["data"]] == [created["id"]], found.text


def test_an_unreadable_image_fails_its_stages_with_a_reason(pclient: httpx2.Client) -> None:
    broken = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 400
    created = upload(pclient, "passport", broken, "broken.png", "image/png")
    doc = settled(pclient, created["id"])
    assert doc["processing"] == dict.fromkeys(["classification", "ocr", "authenticity"], "failed")
    assert "cannot be decoded" in doc["processing_reasons"]["ocr"]
    assert doc["authenticity_score"] is None
    # One attempt, one result: the job ended instead of retrying a file that cannot change.
    # (Its audit event is written as the job is marked done, a moment after the stages.)
    deadline = time.monotonic() + 30
    while True:
        events = pclient.get("/v1/audit-events", params={"limit": 500}).json()["data"]
        processed = [e for e in events if e["action"] == "document.processed"]
        if processed or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert [e["target_id"] for e in processed] == [created["id"]]
    assert pclient.get(f"/v1/documents/{created['id']}/text").status_code == 404


def test_a_bank_statement_pdf_is_classified_from_its_text(pclient: httpx2.Client) -> None:
    pdf = text_pdf(STATEMENT)
    doc = settled(
        pclient, upload(pclient, "bank_statement", pdf, "oct.pdf", "application/pdf")["id"]
    )
    assert doc["extracted"]["classification"]["type"] == "bank_statement"
    assert doc["extracted"]["sources"] == ["text_layer"]
    assert signal(doc, "type_mismatch")["outcome"] == "passed"
    assert signal(doc, "pdf_edited")["outcome"] == "passed"
    assert "mrz" not in doc["extracted"]


def test_a_declared_type_that_the_content_contradicts(pclient: httpx2.Client) -> None:
    pdf = text_pdf(STATEMENT)
    created = upload(pclient, "utility_bill", pdf, "bill.pdf", "application/pdf")
    doc = settled(pclient, created["id"])
    assert doc["type"] == "utility_bill"  # kept: the tenant did not let content decide
    assert signal(doc, "type_mismatch")["fired"] is True
    assert doc["extracted"]["classification"]["applied"] is False

    patch = pclient.patch("/v1/settings/processing", json={"classification_overwrites_type": True})
    assert patch.status_code == 200 and patch.json()["classification_overwrites_type"] is True
    again = pclient.post(f"/v1/documents/{created['id']}/reprocess")
    assert again.status_code == 202, again.text
    doc = settled(pclient, created["id"])
    assert doc["type"] == "bank_statement"
    assert doc["extracted"]["classification"]["applied"] is True


@READING_ONLY
def test_an_edited_pdf_fires_its_signal(pclient: httpx2.Client) -> None:
    pdf = text_pdf(STATEMENT, producer="Adobe Acrobat Pro 2024", incremental_update=True)
    doc = settled(pclient, upload(pclient, "bank_statement", pdf, "s.pdf", "application/pdf")["id"])
    fired = signal(doc, "pdf_edited")
    assert fired["fired"] is True
    assert "changed 1 time(s) after it was first saved" in fired["detail"]


@READING_ONLY
def test_an_image_saved_by_an_editor_fires_its_signal(pclient: httpx2.Client) -> None:
    person = _person(15)
    edited = document_image(person, image_format="JPEG", exif_software="Adobe Photoshop 25.1")
    clean = document_image(person, image_format="JPEG", exif_software="Scanner firmware 1.2")
    a = upload(pclient, "passport", edited, "a.jpg", "image/jpeg", **_declared(person))
    b = upload(pclient, "passport", clean, "b.jpg", "image/jpeg", **_declared(person))
    assert signal(settled(pclient, a["id"]), "image_edited")["fired"] is True
    assert signal(settled(pclient, b["id"]), "image_edited")["outcome"] == "passed"


def test_the_same_file_or_number_on_another_subject_is_a_fraud_signal(
    pclient: httpx2.Client,
) -> None:
    person = _person(16)
    image = document_image(person, dpi=300)
    first, second = new_subject(pclient), new_subject(pclient)
    fields = _declared(person)
    a = upload(pclient, "passport", image, "p.png", "image/png", subject_id=first["id"], **fields)
    assert signal(settled(pclient, a["id"]), "duplicate_file")["fired"] is False
    b = upload(pclient, "passport", image, "p.png", "image/png", subject_id=second["id"], **fields)
    doc = settled(pclient, b["id"])
    assert signal(doc, "duplicate_file")["fired"] is True
    assert signal(doc, "duplicate_document_number")["fired"] is True
    # The same subject filing its passport twice is no fraud.
    c = upload(pclient, "passport", image, "p.png", "image/png", subject_id=second["id"], **fields)
    doc = settled(pclient, c["id"])
    assert signal(doc, "duplicate_file")["fired"] is True  # still the first subject's file
    assert signal(doc, "duplicate_file")["detail"].startswith("The same file is stored for 1")


def test_switched_off_stages_are_unauthorized(pclient: httpx2.Client) -> None:
    off = pclient.patch("/v1/settings/processing", json={"ocr": False, "authenticity": False})
    assert off.json() == {
        "classification": True,
        "ocr": False,
        "authenticity": False,
        "classification_overwrites_type": False,
        "searchable_text": False,
    }
    pdf = text_pdf(STATEMENT)
    doc = settled(pclient, upload(pclient, "bank_statement", pdf, "s.pdf", "application/pdf")["id"])
    assert doc["processing"] == {  # classification works on the text layer and traces
        "classification": "completed",
        "ocr": "unauthorized",
        "authenticity": "unauthorized",
    }
    assert doc["processing_reasons"]["ocr"] == "switched off for this tenant"
    assert doc["authenticity_signals"] == []


def test_bad_settings_are_refused(pclient: httpx2.Client) -> None:
    for body in ({"ocr": "yes"}, {"ocr": 1}, {"turbo": True}):
        response = pclient.patch("/v1/settings/processing", json=body)
        assert response.status_code == 400, (body, response.text)
    assert pclient.get("/v1/settings/processing").json()["ocr"] is True


def test_extracted_text_is_searchable_only_when_the_tenant_opts_in(
    pclient: httpx2.Client,
) -> None:
    pdf = text_pdf([*STATEMENT, "Reference QUOKKA-7731"])
    created = upload(pclient, "bank_statement", pdf, "plain.pdf", "application/pdf")
    settled(pclient, created["id"])
    found = pclient.get("/v1/documents", params={"search": "quokka-7731"}).json()["data"]
    assert found == []
    pclient.patch("/v1/settings/processing", json={"searchable_text": True})
    pclient.post(f"/v1/documents/{created['id']}/reprocess")
    settled(pclient, created["id"])
    found = pclient.get("/v1/documents", params={"search": "quokka-7731"}).json()["data"]
    assert [d["id"] for d in found] == [created["id"]]
    # Renaming the document keeps its text findable.
    pclient.patch(f"/v1/documents/{created['id']}", json={"name": "renamed"})
    found = pclient.get("/v1/documents", params={"search": "quokka-7731"}).json()["data"]
    assert [d["id"] for d in found] == [created["id"]]
    pclient.patch("/v1/settings/processing", json={"searchable_text": False})
    pclient.post(f"/v1/documents/{created['id']}/reprocess")
    settled(pclient, created["id"])
    assert pclient.get("/v1/documents", params={"search": "quokka-7731"}).json()["data"] == []


def test_files_added_later_are_processed_again(pclient: httpx2.Client) -> None:
    created = upload(pclient, "bank_statement", b"just a note\n", "note.txt", "text/plain")
    doc = settled(pclient, created["id"])
    assert "classification" not in doc["extracted"]
    response = post_multipart(
        pclient,
        f"/v1/documents/{created['id']}/files",
        [Part("file", text_pdf(STATEMENT), "oct.pdf", "application/pdf")],
    )
    assert response.status_code == 201, response.text
    doc = settled(pclient, created["id"])
    assert doc["extracted"]["classification"]["type"] == "bank_statement"


def test_reprocess_errors(pclient: httpx2.Client, other_client: httpx2.Client) -> None:
    empty = pclient.post("/v1/documents", json={"type": "passport"}).json()
    response = pclient.post(f"/v1/documents/{empty['id']}/reprocess")
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "no_files"
    assert pclient.post(f"/v1/documents/{empty['id']}/text").status_code == 405
    assert pclient.get(f"/v1/documents/{empty['id']}/text").json()["code"] == "text_not_found"
    missing = "00000000-0000-4000-8000-000000000000"
    assert pclient.post(f"/v1/documents/{missing}/reprocess").status_code == 404


def test_the_api_answers_while_documents_are_processed(pclient: httpx2.Client) -> None:
    # Six scans keep the worker busy for several seconds of polling (each is read by a child
    # process, about a second a page).
    images = [document_image(_person(100 + n), dpi=200) for n in range(6)]
    ids = [upload(pclient, "passport", data, "p.png", "image/png")["id"] for data in images]
    answered: list[int] = []
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            answered.append(pclient.get("/v1/documents", params={"limit": 5}).status_code)
            time.sleep(0.05)

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        docs = [settled(pclient, doc_id, timeout=300) for doc_id in ids]
    finally:
        stop.set()
        poller.join()
    assert all(d["processing"]["ocr"] == "completed" for d in docs)
    assert answered and set(answered) == {200}


@READING_ONLY
@pytest.mark.parametrize("person_seed", [21])
def test_mrz_lines_of_the_generator_are_what_the_worker_reads(
    pclient: httpx2.Client, person_seed: int
) -> None:
    person = _person(person_seed, Layout.TD2)
    created = upload(pclient, "national_id", document_image(person), "id.png", "image/png")
    doc = settled(pclient, created["id"])
    lines = mrz_lines(person)
    assert doc["extracted"]["mrz"]["layout"] == "TD2"
    assert doc["extracted"]["mrz"]["document_number"] == lines[1][:9].rstrip("<")


@READING_ONLY
def test_a_vault_without_tesseract_still_processes_what_needs_no_ocr(
    tmp_path: Path, backend: str
) -> None:
    missing = str(tmp_path / "no-such-tesseract")
    env = {**WORKER_INSIDE, "KYCVAULT_TESSERACT_BINARY": missing}
    with (
        server_on(tmp_path, backend, **env) as srv,
        srv.client(srv.create_tenant()["api_key"]) as client,
    ):
        image = document_image(_person(31))
        scan = upload(client, "passport", image, "p.png", "image/png")
        statement = upload(
            client, "bank_statement", text_pdf(STATEMENT), "s.pdf", "application/pdf"
        )
        doc = settled(client, scan["id"])
        assert doc["processing"]["ocr"] == "failed"
        assert "tesseract is not installed" in doc["processing_reasons"]["ocr"]
        pdf = settled(client, statement["id"])
        assert pdf["processing"] == dict.fromkeys(
            ["classification", "ocr", "authenticity"], "completed"
        )
        assert pdf["extracted"]["classification"]["type"] == "bank_statement"
        assert client.get("/v1/documents").status_code == 200
