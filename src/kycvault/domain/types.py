"""Enumerations and identifier types shared by the whole domain."""

from __future__ import annotations

from enum import StrEnum
from typing import NewType
from uuid import UUID

TenantId = NewType("TenantId", UUID)
SubjectId = NewType("SubjectId", UUID)
DocumentId = NewType("DocumentId", UUID)
FileId = NewType("FileId", UUID)


class SubjectType(StrEnum):
    INDIVIDUAL = "individual"
    COMPANY = "company"


class Authenticity(StrEnum):
    """How the stored document relates to the physical original."""

    ORIGINAL = "ORIGINAL"
    CERTIFIED_COPY = "CERTIFIED_COPY"
    COPY = "COPY"


class Classification(StrEnum):
    """Who a document belongs to: the tenant's own library, or one subject (entity)."""

    TENANT_PRIVATE = "tenant_private"
    ENTITY_PRIVATE = "entity_private"


class Category(StrEnum):
    IDENTITY = "identity"
    ADDRESS = "address"
    FINANCIAL = "financial"
    CORPORATE = "corporate"
    OTHER = "other"


class FileRole(StrEnum):
    """The part of a document a file shows. Which roles a type allows is in the catalog."""

    FRONT = "FRONT"
    BACK = "BACK"
    PAGE1 = "PAGE1"
    PAGE2 = "PAGE2"


class ResponseStatus(StrEnum):
    """Where a questionnaire response stands (KYC Genie's workflow states). A response is
    made in PREFILL (the caller fills it) or DRAFT (the subject fills it)."""

    PREFILL = "PREFILL"
    DRAFT = "DRAFT"
    SUBMITTED = "SUBMITTED"
    UNDER_REVIEW = "UNDER_REVIEW"
    REVIEWED = "REVIEWED"
    APPROVED = "APPROVED"
    CHANGES_REQUESTED = "CHANGES_REQUESTED"
    REJECTED = "REJECTED"
    RESUBMITTED = "RESUBMITTED"

    @property
    def submitted(self) -> bool:
        return self not in (
            ResponseStatus.PREFILL,
            ResponseStatus.DRAFT,
            ResponseStatus.CHANGES_REQUESTED,
        )
