"""Entities of the vault and the invariants that hold for each of them on its own.

Rules that need more than one entity (a subject's parent in the same tenant, a document's file
count) live in the services, which can see the store.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from uuid import UUID

import iso3166

from kycvault.domain.processing import Processing
from kycvault.domain.review import Review
from kycvault.domain.scopes import Scope
from kycvault.domain.types import (
    Authenticity,
    Classification,
    FileRole,
    ResponseStatus,
    SubjectType,
)
from kycvault.errors import InvalidInput

MAX_METADATA_BYTES = 16 * 1024
MAX_TEXT_FIELD = 255


@dataclass(slots=True)
class Tenant:
    id: UUID
    number: int
    name: str
    created_at: datetime
    settings: dict[str, Any] = field(default_factory=dict)
    # The app registered for Sila's ECDSA-signed requests: its handle and the address of the
    # key that signs them (``authsignature``).
    sila_app_handle: str | None = None
    sila_app_address: str | None = None


@dataclass(slots=True)
class ApiKey:
    """An API key as stored: the public ``key_id`` and a keyed hash of the secret, never the
    secret itself; what it may do (``scopes``, see ``domain/scopes.py``) and until when."""

    id: UUID
    tenant_id: UUID
    key_id: str
    name: str
    created_at: datetime
    revoked_at: datetime | None = None
    scopes: tuple[str, ...] = (Scope.ADMIN,)
    expires_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def usable_at(self, now: datetime) -> bool:
        """Neither revoked nor expired at ``now``."""
        return self.active and (self.expires_at is None or now < self.expires_at)


@dataclass(slots=True)
class Subject:
    """The person or company documents belong to; ``parent_id`` links KYB members (directors,
    shareholders) to their company. ``crypto_address`` is the address of the key the subject
    signs requests with (Sila's ``usersignature``)."""

    id: UUID
    tenant_id: UUID
    number: int
    type: SubjectType
    external_id: str | None
    display_name: str | None
    parent_id: UUID | None
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    created_by: str | None
    updated_by: str | None
    crypto_address: str | None = None
    # A person's date of birth: what identity documents are compared with (and filled from
    # a document's machine-readable zone while it is unknown).
    birth_date: date | None = None


@dataclass(slots=True)
class StoredFile:
    """One scan of a document. ``blob_key`` and the wrapped data key locate and unlock the
    encrypted blob; ``filename`` is display text only."""

    id: UUID
    tenant_id: UUID
    document_id: UUID
    position: int
    role: FileRole | None
    filename: str | None
    content_type: str
    size: int
    sha256: str
    blob_key: str
    wrapped_dek: bytes
    kek_id: UUID
    created_at: datetime
    created_by: str | None
    # The subject key that wraps ``wrapped_dek`` (None: the tenant key ``kek_id`` does).
    subject_key_id: UUID | None = None


@dataclass(slots=True)
class Document:
    """The logical document (one passport), optionally bound to a subject."""

    id: UUID
    tenant_id: UUID
    number: int
    subject_id: UUID | None
    type: str
    name: str | None
    id_number: str | None
    issuing_country: str | None
    issue_date: date | None
    expiry_date: date | None
    authenticity: Authenticity | None
    notify_before_expiry: bool
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    created_by: str | None
    updated_by: str | None
    files: list[StoredFile] = field(default_factory=list)
    processing: Processing = field(default_factory=Processing)
    # The current review (domain/review.py): pending until someone decides.
    review: Review = field(default_factory=Review)

    @property
    def classification(self) -> Classification:
        if self.subject_id is None:
            return Classification.TENANT_PRIVATE
        return Classification.ENTITY_PRIVATE


@dataclass(slots=True)
class QuestionnaireResponse:
    """A subject's response to a questionnaire (a due-diligence questionnaire, say). The vault
    keeps no questionnaire templates: ``questionnaire`` is the client's reference to one. What
    it holds are the response's file answers."""

    id: UUID
    tenant_id: UUID
    subject_id: UUID
    questionnaire: str
    name: str | None
    status: ResponseStatus
    created_at: datetime
    updated_at: datetime
    created_by: str | None


@dataclass(slots=True)
class FileAnswer:
    """A file given as an answer on a questionnaire response: a reference to a document of the
    response's subject. A referenced document cannot be deleted; ``question_id`` is the
    client's number for the question answered, if any."""

    id: UUID
    tenant_id: UUID
    response_id: UUID
    document_id: UUID
    question_id: int | None
    created_at: datetime
    updated_at: datetime
    created_by: str | None


def normalize_country(value: str | None, *, field_name: str = "issuing_country") -> str | None:
    """Upper-cased ISO 3166-1 alpha-2 or alpha-3 code, as given (not converted)."""
    if value is None:
        return None
    code = value.strip().upper()
    if (
        len(code) in (2, 3)
        and code.isalpha()
        and code in iso3166.countries_by_alpha2.keys() | (iso3166.countries_by_alpha3.keys())
    ):
        return code
    raise InvalidInput.field(
        field_name, "invalid_country", f"{value!r} is not an ISO 3166-1 alpha-2 or alpha-3 code"
    )


_HEX = frozenset("0123456789abcdef")


def normalize_address(value: str | None, *, field_name: str = "crypto_address") -> str | None:
    """An Ethereum-style address (``0x`` and 40 hex digits) in lower case, as signatures
    recover it; empty becomes None."""
    if value is None or not value.strip():
        return None
    text = value.strip().lower()
    if len(text) == 42 and text.startswith("0x") and set(text[2:]) <= _HEX:
        return text
    raise InvalidInput.field(field_name, "invalid_address", "0x followed by 40 hex digits")


def check_document_dates(issue_date: date | None, expiry_date: date | None) -> None:
    if issue_date and expiry_date and expiry_date < issue_date:
        raise InvalidInput.field(
            "expiry_date", "expiry_before_issue", "expiry_date is before issue_date"
        )


def check_metadata(value: Mapping[str, Any], *, field_name: str = "metadata") -> dict[str, Any]:
    """A JSON object of bounded size (it is stored with every row and returned in lists)."""
    encoded = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    if len(encoded.encode()) > MAX_METADATA_BYTES:
        raise InvalidInput.field(
            field_name, "metadata_too_large", f"larger than {MAX_METADATA_BYTES} bytes as JSON"
        )
    return dict(value)


def clean_text(
    value: str | None, *, field_name: str, max_length: int = MAX_TEXT_FIELD
) -> str | None:
    """Trimmed single-line text; empty becomes None; control characters are refused."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if len(text) > max_length:
        raise InvalidInput.field(field_name, "too_long", f"longer than {max_length} characters")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise InvalidInput.field(field_name, "control_characters", "contains control characters")
    return text
