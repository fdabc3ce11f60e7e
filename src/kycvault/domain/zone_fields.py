"""Fields filled from a document's machine-readable zone: a document's number, issuing
country and expiry date, and its subject's birth date, where the client left them empty and
the zone was read without doubt (every check digit passed, no field ambiguous, every
reading sure), and, for the birth date, the zone's name is the subject's.

What was filled is remembered with the value filled (``marks``, kept in the document's
sealed processing results as ``extracted.derived``): a field still holding that value was
not given by the client, so the authenticity signals do not compare it with the zone it came
from; once the client changes it, it is theirs again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from kycvault.domain.models import Document, Subject
from kycvault.domain.mrz import MrzResult
from kycvault.domain.name_match import compare as compare_names
from kycvault.domain.signals import SURE_READING, state_alpha3
from kycvault.domain.types import SubjectType

SUBJECT_BIRTH_DATE = "subject_birth_date"


@dataclass(frozen=True, slots=True)
class Filled:
    """What to write: the document's fields, the subject's birth date (None: nothing)."""

    document: dict[str, Any] = field(default_factory=dict)
    subject_birth_date: date | None = None

    @property
    def empty(self) -> bool:
        return not self.document and self.subject_birth_date is None

    def marks(self) -> dict[str, str]:
        """Each filled field with its value as text."""
        marks = {name: _text(value) for name, value in self.document.items()}
        if self.subject_birth_date is not None:
            marks[SUBJECT_BIRTH_DATE] = self.subject_birth_date.isoformat()
        return marks


def _text(value: object) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


def _current(document: Document, subject: Subject | None) -> dict[str, str | None]:
    born = subject.birth_date if subject is not None else None
    values: dict[str, object] = {
        "id_number": document.id_number,
        "issuing_country": document.issuing_country,
        "expiry_date": document.expiry_date,
        SUBJECT_BIRTH_DATE: born,
    }
    return {name: None if value is None else _text(value) for name, value in values.items()}


def still_derived(
    marks: Mapping[str, Any], document: Document, subject: Subject | None
) -> dict[str, str]:
    """The marks of an earlier run whose fields still hold the value filled then."""
    current = _current(document, subject)
    return {
        name: value
        for name, value in marks.items()
        if isinstance(value, str) and current.get(name) == value
    }


def _sure(mrz: MrzResult, *names: str) -> bool:
    return all(mrz.confidence.get(name, 1.0) >= SURE_READING for name in names)


def fill(mrz: MrzResult | None, document: Document, subject: Subject | None) -> Filled:
    """The empty fields a zone read without doubt fills."""
    if mrz is None or not mrz.valid or not _sure(mrz, *mrz.checks):
        return Filled()
    values: dict[str, Any] = {}
    if document.id_number is None and mrz.document_number:
        values["id_number"] = mrz.document_number
    country = state_alpha3(mrz.issuing_state)
    if document.issuing_country is None and country and _sure(mrz, "issuing_state"):
        values["issuing_country"] = country
    if document.expiry_date is None and mrz.expiry_date is not None:
        values["expiry_date"] = mrz.expiry_date
    return Filled(values, _birth_date(mrz, subject))


def _birth_date(mrz: MrzResult, subject: Subject | None) -> date | None:
    """The zone's birth date for a person who has none yet, only when the zone's name is
    theirs: a passport filed under the wrong person must not give them its holder's birth
    date."""
    if subject is None or subject.type is not SubjectType.INDIVIDUAL or subject.birth_date:
        return None
    if not subject.display_name or not _sure(mrz, "names"):
        return None
    names = compare_names(subject.display_name, mrz.surname, mrz.given_names)
    return mrz.birth_date if names is not None and names.same else None
