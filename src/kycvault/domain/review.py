"""A person's decision on a document: approved, rejected, or a new upload requested.

A document is ``pending`` until someone with ``documents:review`` decides, and again when a
file is added to a document that was rejected or whose resubmission was requested (the new
file is what the request asked for, and it has not been looked at). Only the current review
is kept with the document; the decisions before it are in the audit trail and the event log.

A rejection or a resubmission request names one reason from a fixed list (``ReasonCode``,
each with the label a console shows in its select); ``other`` needs a few words of free
text. Free text may name people, so it is stored sealed and never leaves in an event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class ReviewStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    RESUBMISSION_REQUESTED = "resubmission_requested"


class ReasonCode(StrEnum):
    UNREADABLE = "unreadable"
    EXPIRED = "expired"
    DATA_MISMATCH = "data_mismatch"
    SUSPECTED_FORGERY = "suspected_forgery"
    WRONG_DOCUMENT_TYPE = "wrong_document_type"
    INCOMPLETE = "incomplete"
    OTHER = "other"


# In the order a console lists them.
REASON_LABELS: dict[ReasonCode, str] = {
    ReasonCode.UNREADABLE: "Unreadable or blurred",
    ReasonCode.EXPIRED: "Document expired",
    ReasonCode.DATA_MISMATCH: "Data does not match what was declared",
    ReasonCode.SUSPECTED_FORGERY: "Suspected forgery or tampering",
    ReasonCode.WRONG_DOCUMENT_TYPE: "Wrong document type",
    ReasonCode.INCOMPLETE: "Incomplete (a page or side is missing)",
    ReasonCode.OTHER: "Other (explain in the text)",
}
# What a client may set; ``pending`` is the state before any decision, never one.
DECISIONS = (ReviewStatus.APPROVED, ReviewStatus.REJECTED, ReviewStatus.RESUBMISSION_REQUESTED)
# Decisions that need a reason code, and those a new file sends back to pending.
NEEDS_REASON = frozenset({ReviewStatus.REJECTED, ReviewStatus.RESUBMISSION_REQUESTED})
REOPENED_BY_NEW_FILE = NEEDS_REASON


@dataclass(frozen=True, slots=True)
class Review:
    """The current review of a document. ``by`` is the actor's id (an API key's ``kvk_…``,
    a console user's), ``at`` when it was decided; both None when never reviewed."""

    status: ReviewStatus = ReviewStatus.PENDING
    reason_code: ReasonCode | None = None
    reason: str | None = None
    by: str | None = None
    at: datetime | None = None
