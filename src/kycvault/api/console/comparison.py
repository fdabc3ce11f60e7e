"""What the document page compares: the fields declared with a document against those its
machine-readable zone gave (``processing.extracted["mrz"]``, ``domain/mrz.py``), with each
field's check digit, so a reviewer sees at a glance where they disagree.

Values are compared the way the authenticity signals compare them (``domain/authenticity``):
numbers without separators, countries as alpha-3, names as their words in any order (a
declared "Jane Doe" is the zone's ``DOE<<JANE``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from kycvault.domain.authenticity import normalise_number, same_state
from kycvault.domain.models import Document

# A row's verdicts, as text (the page shows the word, not only a colour).
MATCH = "match"
MISMATCH = "mismatch"
ONE_SIDE = "read only"
# What a check digit's result reads as.
PASSED = "passed"
FAILED = "failed"
NO_CHECK = "none"

_WORDS = re.compile(r"[A-Z0-9]+")


@dataclass(frozen=True, slots=True)
class Row:
    """One field: what was declared, what the zone says, whether they agree, and the
    result of the zone's check digit over the field."""

    label: str
    declared: str
    extracted: str
    verdict: str
    check: str

    @property
    def mismatch(self) -> bool:
        return self.verdict == MISMATCH

    @property
    def check_failed(self) -> bool:
        return self.check == FAILED


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _words(value: str) -> frozenset[str]:
    return frozenset(_WORDS.findall(value.upper()))


def _verdict(declared: str, extracted: str, same: bool) -> str:
    if not declared or not extracted:
        return ONE_SIDE
    return MATCH if same else MISMATCH


def _check(checks: dict[str, Any], name: str) -> str:
    if name not in checks:
        return NO_CHECK
    return PASSED if checks[name] else FAILED


def mrz_of(doc: Document) -> dict[str, Any] | None:
    mrz = doc.processing.extracted.get("mrz")
    return mrz if isinstance(mrz, dict) else None


def rows(doc: Document) -> list[Row]:
    """The comparison's rows; empty when processing found no zone."""
    mrz = mrz_of(doc)
    if mrz is None:
        return []
    checks: dict[str, Any] = mrz.get("checks") or {}
    name = " ".join(p for p in (_text(mrz.get("given_names")), _text(mrz.get("surname"))) if p)
    declared_name = _text(doc.name)
    number = _text(mrz.get("document_number"))
    declared_number = _text(doc.id_number)
    state = _text(mrz.get("issuing_state"))
    declared_state = _text(doc.issuing_country)
    expiry = _text(mrz.get("expiry_date"))
    declared_expiry = doc.expiry_date.isoformat() if doc.expiry_date else ""
    birth = _text(mrz.get("birth_date"))
    out = [
        Row(
            "Name",
            declared_name,
            name,
            _verdict(declared_name, name, _words(declared_name) == _words(name)),
            NO_CHECK,
        ),
        Row(
            "Document number",
            declared_number,
            number,
            _verdict(
                declared_number,
                number,
                normalise_number(declared_number) == normalise_number(number),
            ),
            _check(checks, "document_number"),
        ),
        Row(
            "Issuing country",
            declared_state,
            state,
            _verdict(declared_state, state, same_state(declared_state, state)),
            NO_CHECK,
        ),
        Row(
            "Expiry date",
            declared_expiry,
            expiry,
            _verdict(declared_expiry, expiry, declared_expiry == expiry),
            _check(checks, "expiry_date"),
        ),
        Row("Date of birth", "", birth, ONE_SIDE, _check(checks, "birth_date")),
        Row("Nationality", "", _text(mrz.get("nationality")), ONE_SIDE, NO_CHECK),
        Row("Sex", "", _text(mrz.get("sex")), ONE_SIDE, NO_CHECK),
        Row("Document code", "", _text(mrz.get("document_code")), ONE_SIDE, NO_CHECK),
    ]
    for extra in ("optional_data", "composite"):
        if extra in checks:
            label = "Optional data" if extra == "optional_data" else "Composite (whole zone)"
            value = _text(mrz.get(extra)) if extra == "optional_data" else ""
            out.append(Row(label, "", value, ONE_SIDE, _check(checks, extra)))
    return out
