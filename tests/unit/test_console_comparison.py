"""The document page's comparison of declared fields with the machine-readable zone's, and
its badges: agreement as the authenticity signals judge it, each field's check digit, and
mismatches named in words."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from kycvault.api.console import comparison
from kycvault.api.console.document_view import expiry_badge
from kycvault.domain.models import Document
from kycvault.domain.processing import Processing

NOW = datetime(2026, 12, 7, tzinfo=UTC)
MRZ: dict[str, Any] = {
    "layout": "TD3",
    "document_code": "P",
    "issuing_state": "D",
    "surname": "MUSTERMANN",
    "given_names": "ERIKA",
    "document_number": "C01X00T47",
    "nationality": "D",
    "birth_date": "1964-08-12",
    "sex": "F",
    "expiry_date": "2027-10-31",
    "optional_data": "",
    "checks": {
        "document_number": True,
        "birth_date": True,
        "expiry_date": False,
        "optional_data": True,
        "composite": False,
    },
    "valid": False,
}


def _document(**fields: Any) -> Document:
    values: dict[str, Any] = {
        "name": "Erika Mustermann",
        "id_number": "C01X-00T47",
        "issuing_country": "DE",
        "expiry_date": date(2027, 10, 31),
    }
    values.update(fields)
    return Document(
        id=uuid.uuid4(),
        tenant_id=uuid.uuid4(),
        number=1,
        subject_id=None,
        type="passport",
        issue_date=None,
        authenticity=None,
        notify_before_expiry=True,
        metadata={},
        created_at=NOW,
        updated_at=NOW,
        created_by=None,
        updated_by=None,
        processing=Processing(extracted={"mrz": MRZ}),
        **values,
    )


def _by_label(doc: Document) -> dict[str, comparison.Row]:
    return {row.label: row for row in comparison.rows(doc)}


def test_declared_fields_that_agree_with_the_zone() -> None:
    rows = _by_label(_document())
    assert rows["Name"].verdict == comparison.MATCH  # words in any order, any case
    assert rows["Document number"].verdict == comparison.MATCH  # separators ignored
    assert rows["Issuing country"].verdict == comparison.MATCH  # DE is the zone's D
    assert rows["Expiry date"].verdict == comparison.MATCH
    assert rows["Document number"].check == comparison.PASSED
    assert rows["Expiry date"].check == comparison.FAILED and rows["Expiry date"].check_failed
    assert rows["Composite (whole zone)"].check == comparison.FAILED
    assert rows["Name"].check == comparison.NO_CHECK
    assert rows["Date of birth"].extracted == "1964-08-12"
    assert rows["Date of birth"].verdict == comparison.ONE_SIDE
    assert not any(row.mismatch for row in rows.values())


def test_declared_fields_that_disagree_are_mismatches() -> None:
    doc = _document(
        name="Erika Musterfrau", id_number="X1", issuing_country="FRA", expiry_date=date(2030, 1, 1)
    )
    rows = _by_label(doc)
    mismatched = {label for label, row in rows.items() if row.mismatch}
    assert mismatched == {"Name", "Document number", "Issuing country", "Expiry date"}
    undeclared = _by_label(_document(name=None, id_number=None))
    assert undeclared["Name"].verdict == comparison.ONE_SIDE
    assert undeclared["Document number"].verdict == comparison.ONE_SIDE


def test_no_zone_no_rows() -> None:
    doc = replace(_document(), processing=Processing(extracted={"pages": 1}))
    assert comparison.rows(doc) == [] and comparison.mrz_of(doc) is None


def test_expiry_badge() -> None:
    today = date(2026, 12, 7)
    assert expiry_badge(_document(expiry_date=None), today).kind == "neutral"
    assert expiry_badge(_document(expiry_date=date(2026, 12, 1)), today).text == (
        "Expired 6 days ago"
    )
    assert expiry_badge(_document(expiry_date=date(2027, 1, 1)), today).kind == "warn"
    assert expiry_badge(_document(expiry_date=date(2028, 1, 1)), today).kind == "good"
