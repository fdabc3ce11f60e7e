"""The rules of a review decision (``review.py`` has what a review is): which statuses a
client may set, when a reason code and a text are needed, and what a new file does to it."""

from __future__ import annotations

from datetime import datetime

from kycvault.domain.models import clean_text
from kycvault.domain.review import (
    DECISIONS,
    NEEDS_REASON,
    REASON_LABELS,
    REOPENED_BY_NEW_FILE,
    ReasonCode,
    Review,
    ReviewStatus,
)
from kycvault.errors import InvalidInput

MAX_REASON_LENGTH = 500


def parse_status(value: str) -> ReviewStatus:
    """A decision a client may set.

    Raises:
        InvalidInput: ``invalid_review_status`` (not a status) or ``status_not_settable``
            (``pending``).
    """
    try:
        status = ReviewStatus(value)
    except ValueError:
        choices = ", ".join(DECISIONS)
        raise InvalidInput.field(
            "status", "invalid_review_status", f"{value!r} is not one of {choices}"
        ) from None
    if status not in DECISIONS:
        raise InvalidInput.field(
            "status", "status_not_settable", "pending is where a document starts, not a decision"
        )
    return status


def parse_reason_code(value: str | None) -> ReasonCode | None:
    if value is None:
        return None
    try:
        return ReasonCode(value)
    except ValueError:
        choices = ", ".join(REASON_LABELS)
        raise InvalidInput.field(
            "reason_code", "unknown_reason_code", f"{value!r} is not one of {choices}"
        ) from None


def decide(
    status: str, reason_code: str | None, reason: str | None, *, by: str | None, at: datetime
) -> Review:
    """A checked decision.

    Raises:
        InvalidInput: the status or reason code is not one there is
            (``invalid_review_status``, ``status_not_settable``, ``unknown_reason_code``); a
            rejection or resubmission request without a reason code (``reason_code_required``),
            an approval with one (``reason_code_not_allowed``), ``other`` without text
            (``reason_required``); text over 500 characters (``too_long``) or with control
            characters (``control_characters``).
    """
    decided = parse_status(status)
    code = parse_reason_code(reason_code)
    text = clean_text(reason, field_name="reason", max_length=MAX_REASON_LENGTH)
    if decided in NEEDS_REASON and code is None:
        raise InvalidInput.field(
            "reason_code", "reason_code_required", f"a reason code is needed to mark {decided}"
        )
    if decided not in NEEDS_REASON and code is not None:
        raise InvalidInput.field(
            "reason_code", "reason_code_not_allowed", f"{decided} takes no reason code"
        )
    if code == ReasonCode.OTHER and text is None:
        raise InvalidInput.field("reason", "reason_required", "reason code other needs a text")
    return Review(decided, code, text, by, at)


def reopened(current: Review, *, by: str | None, at: datetime) -> Review | None:
    """The review after a file is added: pending again if it was rejected or a new upload
    was requested (who added the file, and when), None if it does not change."""
    if current.status not in REOPENED_BY_NEW_FILE:
        return None
    return Review(ReviewStatus.PENDING, None, None, by, at)
