"""How documents and subjects are found: the filters and sorts of a listing, and the keys
they sort on.

Sorting by ``name`` or ``expiry_date`` needs keys that are never NULL, so keyset pagination
can compare rows with plain ``<``/``>`` and one composite index serves each sort: the name key
is the case-folded name (empty when there is none), the expiry key is the expiry date, or
9999-12-31 when the document never expires (so undated documents come last in ascending
order). Search runs on one case-folded text made of the document's name and its files'
original filenames.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from kycvault.domain.authenticity import normalise_number
from kycvault.domain.models import Document, clean_text
from kycvault.domain.review import ReviewStatus
from kycvault.domain.types import Classification, SubjectType
from kycvault.errors import InvalidInput

NO_EXPIRY = date(9999, 12, 31)
MAX_SEARCH_LENGTH = 200
SEARCH_SEPARATOR = "\n"


class Sort(StrEnum):
    CREATED = "created_at"
    CREATED_DESC = "-created_at"
    NAME = "name"
    NAME_DESC = "-name"
    EXPIRY = "expiry_date"
    EXPIRY_DESC = "-expiry_date"

    @property
    def descending(self) -> bool:
        return self.value.startswith("-")

    @property
    def field(self) -> str:
        return self.value.lstrip("-")

    @property
    def column(self) -> str:
        """The stored sort key behind this sort (always non-null)."""
        return {"created_at": "created_at", "name": "name_key", "expiry_date": "expiry_key"}[
            self.field
        ]


def name_key(name: str | None) -> str:
    return (name or "").casefold()[:255]


def expiry_key(expiry: date | None) -> date:
    return expiry or NO_EXPIRY


# Extracted text made searchable is capped: the search index is for finding, not archiving.
MAX_CONTENT_SEARCH = 8000


def content_search(text: str) -> str:
    """The searchable form of extracted text (appended to ``search_text``); empty for none."""
    folded = " ".join(text.split())[:MAX_CONTENT_SEARCH].casefold()
    return SEARCH_SEPARATOR + folded if folded else ""


def search_text(name: str | None, filenames: Iterable[str | None]) -> str:
    parts = [name or "", *(f for f in filenames if f)]
    return SEARCH_SEPARATOR.join(parts).casefold()


def sort_value(doc: Document, sort: Sort) -> Any:
    if sort.field == "name":
        return name_key(doc.name)
    if sort.field == "expiry_date":
        return expiry_key(doc.expiry_date)
    return doc.created_at


def parse_sort_value(sort: Sort, raw: Any) -> Any:
    """A sort value read back from a cursor."""
    if sort.field == "name":
        if not isinstance(raw, str):
            raise ValueError("name key must be text")
        return raw
    if sort.field == "expiry_date":
        return date.fromisoformat(raw)
    return datetime.fromisoformat(raw)


@dataclass(frozen=True, slots=True)
class DocumentQuery:
    """Filters that combine (all must hold) and one sort.

    Dates: ``created_from``/``created_to`` are inclusive calendar days in UTC;
    ``expires_before``/``expires_after`` are strict (a document without expiry matches
    neither). ``types`` holds canonical type names. ``id_number``: the document number, as
    declared or as read from the MRZ, compared normalised (upper case, letters and digits
    only) through its blind index: numbers are stored sealed, so there is no search by a part
    of one.
    """

    subject_id: UUID | None = None
    types: tuple[str, ...] = ()
    created_from: date | None = None
    created_to: date | None = None
    search: str | None = None
    expires_before: date | None = None
    expires_after: date | None = None
    classification: Classification | None = None
    has_files: bool | None = None
    sort: Sort = Sort.CREATED_DESC
    # Any of these review statuses (none given: any status).
    review_statuses: tuple[ReviewStatus, ...] = ()
    id_number: str | None = None

    def __post_init__(self) -> None:
        if self.id_number is not None and not normalise_number(self.id_number):
            # Nothing left to compare: an empty filter would match every document.
            raise InvalidInput.field(
                "id_number", "blank", "give a document number (letters and digits)"
            )
        if self.search is not None and len(self.search) > MAX_SEARCH_LENGTH:
            raise InvalidInput.field(
                "search", "too_long", f"at most {MAX_SEARCH_LENGTH} characters"
            )
        if self.created_from and self.created_to and self.created_from > self.created_to:
            raise InvalidInput.field(
                "created_to", "empty_range", "created_to is before created_from"
            )

    @property
    def search_folded(self) -> str | None:
        text = (self.search or "").strip().casefold()
        return text or None

    def fingerprint(self) -> str:
        """Identifies the query, so a cursor cannot be replayed against other filters."""
        return repr(
            (
                self.subject_id,
                tuple(sorted(self.types)),
                self.created_from,
                self.created_to,
                self.search_folded,
                self.expires_before,
                self.expires_after,
                self.classification,
                self.has_files,
                self.sort.value,
                *([tuple(sorted(self.review_statuses))] if self.review_statuses else []),
                *([normalise_number(self.id_number)] if self.id_number else []),
            )
        )


@dataclass(frozen=True, slots=True)
class SubjectQuery:
    """Filters of the subjects listing that combine (all must hold); the order is fixed,
    newest first. ``external_id`` is exact (a subject's external id is stored sealed, so it
    is found through its blind index and never by a part of it); ``types``: any of these;
    ``parent_id``: a company's members; ``search``: a part of the display name or the external
    id (case-insensitive), or the subject's number. Names and external ids are sealed, so no
    index serves ``search``: the service reads subjects in order and keeps those that match
    (``services/subject_search.py``). Built by ``of``, which cleans the external id as a
    subject's is cleaned when it is stored."""

    external_id: str | None = None
    types: tuple[SubjectType, ...] = ()
    parent_id: UUID | None = None
    search: str | None = None

    @classmethod
    def of(
        cls,
        *,
        external_id: str | None = None,
        types: Iterable[SubjectType] = (),
        parent_id: UUID | None = None,
        search: str | None = None,
    ) -> SubjectQuery:
        """Raises:
        InvalidInput: an external id that is blank, too long or holds control characters;
        a search text that is too long."""
        text = (search or "").strip() or None  # a blank search box filters nothing
        if text is not None and len(text) > MAX_SEARCH_LENGTH:
            raise InvalidInput.field(
                "search", "too_long", f"at most {MAX_SEARCH_LENGTH} characters"
            )
        cleaned = None
        if external_id is not None:
            cleaned = clean_text(external_id, field_name="external_id")
            if cleaned is None:
                # Blank is not "any": an empty filter would list every subject.
                raise InvalidInput.field("external_id", "blank", "give an external id")
        return cls(cleaned, tuple(sorted(set(types))), parent_id, text)

    def fingerprint(self) -> str:
        """Identifies the filters, so a cursor cannot be replayed against others; empty
        when nothing is filtered (the cursors of the plain listing stay as they were)."""
        if self == SubjectQuery():
            return ""
        searched = (self.search.casefold(),) if self.search else ()
        return repr(
            (self.external_id, tuple(t.value for t in self.types), self.parent_id, *searched)
        )
