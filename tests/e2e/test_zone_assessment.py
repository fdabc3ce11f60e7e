"""End to end, through the worker: what the zone is trusted for. A passport filed under
another person fires ``subject_name_mismatch`` and gives that person nothing; one filed
under its holder fills the empty document fields and the holder's birth date (audited and
announced, marked ``derived``), which a later run does not compare with the zone they came
from; and a passport whose zone is not found is ``not_assessed`` rather than scored."""

from __future__ import annotations

import random
from io import BytesIO
from typing import Any

import httpx2
from PIL import Image, ImageDraw

from kycvault.domain.mrz import Layout
from kycvault.domain.users import Role
from tests.e2e.console_support import console, make_user
from tests.e2e.documents_support import new_subject
from tests.e2e.processing_support import settled, signal, upload
from tests.helpers import Server
from tests.samples import Person, document_image, random_person


def _person(seed: int) -> Person:
    return random_person(
        random.Random(seed), Layout.TD3, surname="LOVELACE", given_names="ADA", issuing_state="NGA"
    )


def _passport(client: httpx2.Client, person: Person, **fields: str) -> dict[str, Any]:
    image = document_image(person, dpi=300)
    created = upload(client, "passport", image, "p.png", "image/png", role="PAGE1", **fields)
    return settled(client, created["id"])


def test_another_persons_passport_fires_and_fills_nothing_of_theirs(
    pclient: httpx2.Client,
) -> None:
    grace = new_subject(pclient, display_name="Grace Hopper")
    doc = _passport(pclient, _person(21), subject_id=grace["id"])
    fired = signal(doc, "subject_name_mismatch")
    assert fired["fired"] is True and fired["severity"] == "high"
    assert "the zone says ADA LOVELACE, the subject is Grace Hopper" in fired["message"]
    assert doc["authenticity_status"] == "assessed"
    assert doc["authenticity_score"] == 100 - fired["weight"]
    # The document's own fields come from its zone; Grace's birth date does not.
    assert pclient.get(f"/v1/subjects/{grace['id']}").json()["birth_date"] is None


def test_the_holders_passport_fills_what_is_empty_and_is_not_compared_with_it_again(
    pclient: httpx2.Client,
) -> None:
    person = _person(22)
    ada = new_subject(pclient, display_name="Ada Lovelace")
    doc = _passport(pclient, person, subject_id=ada["id"])
    assert signal(doc, "subject_name_mismatch")["outcome"] == "passed"
    assert doc["id_number"] == person.document_number
    assert doc["issuing_country"] == "NGA"
    assert doc["expiry_date"] == person.expiry_date.isoformat()
    derived = doc["extracted"]["derived"]
    assert derived == {
        "id_number": person.document_number,
        "issuing_country": "NGA",
        "expiry_date": person.expiry_date.isoformat(),
        "subject_birth_date": person.birth_date.isoformat(),
    }
    subject = pclient.get(f"/v1/subjects/{ada['id']}").json()
    assert subject["birth_date"] == person.birth_date.isoformat()
    # Each change audited as the worker's, from the zone, and announced.
    audit = pclient.get("/v1/audit-events", params={"limit": 100}).json()["data"]
    by_worker = {(e["action"], e["target_id"]): e for e in audit if e["details"].get("source")}
    assert by_worker[("document.updated", doc["id"])]["details"]["fields"] == [
        "expiry_date",
        "id_number",
        "issuing_country",
    ]
    assert by_worker[("subject.updated", ada["id"])]["details"]["fields"] == ["birth_date"]
    events = pclient.get("/v1/events", params={"limit": 100}).json()["data"]
    updated = [e for e in events if e["type"] == "document.updated"]
    assert updated and updated[0]["data"]["derived"] is True

    # Run again: the derived fields are not compared with the zone they came from...
    again = pclient.post(f"/v1/documents/{doc['id']}/reprocess")
    assert again.status_code == 202, again.text
    redone = settled(pclient, doc["id"])
    number = signal(redone, "mrz_number_mismatch")
    assert number["outcome"] == "not_applicable" and "taken from the zone" in number["message"]
    assert signal(redone, "subject_birth_date_mismatch")["outcome"] == "passed"
    # ...until the client gives a value of their own: then it is theirs, and compared.
    changed = pclient.patch(f"/v1/documents/{doc['id']}", json={"id_number": "OTHER0001"})
    assert changed.status_code == 200, changed.text
    assert pclient.post(f"/v1/documents/{doc['id']}/reprocess").status_code == 202
    mine = settled(pclient, doc["id"])
    assert signal(mine, "mrz_number_mismatch")["fired"] is True


def _blank_page() -> bytes:
    blank = Image.new("L", (1200, 800), 255)
    ImageDraw.Draw(blank).rectangle((100, 100, 400, 500), outline=0, width=6)
    out = BytesIO()
    blank.save(out, "PNG")
    return out.getvalue()


def test_a_passport_without_a_zone_is_not_assessed(pclient: httpx2.Client) -> None:
    created = upload(pclient, "passport", _blank_page(), "page.png", "image/png")
    doc = settled(pclient, created["id"])
    assert doc["processing"]["authenticity"] == "completed"
    assert doc["authenticity_score"] is None
    assert doc["authenticity_status"] == "not_assessed"
    assert "No machine-readable zone was found" in doc["authenticity_reason"]
    # The same image as a utility bill is assessed: no zone is expected on one.
    bill = upload(pclient, "utility_bill", _blank_page(), "bill.png", "image/png")
    assessed = settled(pclient, bill["id"])
    assert assessed["authenticity_status"] == "assessed"
    assert isinstance(assessed["authenticity_score"], int)


def test_a_passport_page_without_its_holders_photo_fires_portrait_missing(
    pclient: httpx2.Client,
) -> None:
    person = _person(23)
    faceless = document_image(person, dpi=300, portrait=False)
    created = upload(pclient, "passport", faceless, "p.png", "image/png", role="PAGE1")
    doc = settled(pclient, created["id"])
    missing = signal(doc, "portrait_missing")
    assert missing["fired"] is True
    assert missing["message"] == "No page shows the holder's portrait."
    with_photo = _passport(pclient, _person(24))
    assert signal(with_photo, "portrait_missing")["outcome"] == "passed"


def test_the_console_shows_why_and_what_came_from_the_zone(processing_server: Server) -> None:
    tenant = processing_server.create_tenant()
    with processing_server.client(tenant["api_key"]) as client:
        unreadable = upload(client, "passport", _blank_page(), "page.png", "image/png")
        ada = new_subject(client, display_name="Ada Lovelace")
        filled = _passport(client, _person(25), subject_id=ada["id"])
        settled(client, unreadable["id"])
    with console(processing_server, make_user(processing_server, tenant, Role.VIEWER).email) as b:
        page = b.get(f"/console/documents/{unreadable['id']}").text
        assert 'id="not-assessed"' in page and "No machine-readable zone was found" in page
        page = b.get(f"/console/documents/{filled['id']}").text
        assert 'id="derived-fields"' in page
        assert (
            "Taken from the zone: expiry date, id number, issuing country, subject birth date."
            in page
        )
        assert "high severity" not in page  # nothing fired


def test_a_page_printing_another_number_than_its_zone_fires_viz_mismatch(
    pclient: httpx2.Client,
) -> None:
    person = _person(26)
    altered = document_image(person, dpi=300, printed_number="XK7700123")
    created = upload(pclient, "passport", altered, "p.png", "image/png", role="PAGE1")
    doc = settled(pclient, created["id"])
    fired = signal(doc, "viz_mismatch")
    assert fired["fired"] is True and fired["severity"] == "high"
    assert (
        f"the printed document number is XK7700123, the zone's {person.document_number}"
        in (fired["message"])
    )
    honest = _passport(pclient, _person(27))
    assert signal(honest, "viz_mismatch")["outcome"] == "passed"
