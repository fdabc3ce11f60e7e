"""The rules of a review decision (domain/review_rules.py), the CSV guard against formulas
(domain/spreadsheet.py) and the expiring documents' CSV (services/expiring_export.py)."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, date, datetime

import pytest

from kycvault.domain.review import REASON_LABELS, ReasonCode, Review, ReviewStatus
from kycvault.domain.review_rules import decide, parse_status, reopened
from kycvault.domain.spreadsheet import csv_line, safe_cell
from kycvault.errors import InvalidInput
from kycvault.ports.persistence.expiry import ExpiringDocument, ExpiringSubject
from kycvault.services.expiring_export import CSV_COLUMNS, expiring_csv
from kycvault.services.expiry import ExpiringReport

AT = datetime(2027, 3, 1, 12, tzinfo=UTC)


def _code(error: pytest.ExceptionInfo[InvalidInput]) -> str:
    return error.value.errors[0].code


def test_an_approval_needs_no_reason_and_keeps_an_optional_note() -> None:
    review = decide("approved", None, "  looks right ", by="kvk_1", at=AT)
    assert review == Review(ReviewStatus.APPROVED, None, "looks right", "kvk_1", AT)
    assert decide("approved", None, "   ", by="kvk_1", at=AT).reason is None


@pytest.mark.parametrize("status", ["rejected", "resubmission_requested"])
def test_a_rejection_or_a_request_needs_a_reason_code(status: str) -> None:
    with pytest.raises(InvalidInput) as error:
        decide(status, None, "why", by="kvk_1", at=AT)
    assert _code(error) == "reason_code_required"
    review = decide(status, "expired", None, by="kvk_1", at=AT)
    assert review.status == status and review.reason_code == ReasonCode.EXPIRED


@pytest.mark.parametrize(
    ("status", "code", "reason", "expected"),
    [
        ("pending", None, None, "status_not_settable"),
        ("Approved", None, None, "invalid_review_status"),
        ("rejected", "blurry", None, "unknown_reason_code"),
        ("rejected", "other", None, "reason_required"),
        ("rejected", "other", " \t ", "reason_required"),
        ("approved", "expired", None, "reason_code_not_allowed"),
        ("rejected", "unreadable", "x" * 501, "too_long"),
        ("rejected", "unreadable", "line\nbreak", "control_characters"),
        ("rejected", "unreadable", "del\x7f", "control_characters"),
    ],
)
def test_refusals_have_stable_codes(
    status: str, code: str | None, reason: str | None, expected: str
) -> None:
    with pytest.raises(InvalidInput) as error:
        decide(status, code, reason, by="kvk_1", at=AT)
    assert _code(error) == expected


def test_the_reason_text_may_be_500_characters_once_stripped() -> None:
    text = " " + "x" * 500 + " "
    assert decide("rejected", "other", text, by=None, at=AT).reason == "x" * 500


def test_every_reason_code_has_a_label_and_pending_is_no_decision() -> None:
    assert set(REASON_LABELS) == set(ReasonCode)
    assert all(label.strip() for label in REASON_LABELS.values())
    assert parse_status("resubmission_requested") == ReviewStatus.RESUBMISSION_REQUESTED


@pytest.mark.parametrize(
    ("status", "reopens"),
    [
        (ReviewStatus.PENDING, False),
        (ReviewStatus.APPROVED, False),
        (ReviewStatus.REJECTED, True),
        (ReviewStatus.RESUBMISSION_REQUESTED, True),
    ],
)
def test_a_new_file_reopens_only_a_rejected_or_requested_document(
    status: ReviewStatus, reopens: bool
) -> None:
    current = Review(status, ReasonCode.UNREADABLE if reopens else None, "t", "kvk_1", AT)
    after = reopened(current, by="kvk_2", at=AT)
    if not reopens:
        assert after is None
    else:
        assert after == Review(ReviewStatus.PENDING, None, None, "kvk_2", AT)


@pytest.mark.parametrize("cell", ["=1+1", "+31", "-2", "@SUM(A1)", "\tx", "\rx"])
def test_a_cell_a_spreadsheet_would_run_is_quoted(cell: str) -> None:
    assert safe_cell(cell) == "'" + cell


def test_other_cells_are_left_alone() -> None:
    assert [safe_cell(v) for v in ("Ada", "a=b", 7, -3, None)] == ["Ada", "a=b", 7, -3, None]
    assert csv_line(["=x", None, 'say "hi"', 5]) == '\'=x,,"say ""hi""",5\r\n'


def test_the_expiring_csv_has_a_header_and_a_row_per_document() -> None:
    subject_id, first, second = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    documents = [
        ExpiringDocument(first, subject_id, "passport", date(2027, 1, 5), 12, "-123"),
        ExpiringDocument(second, subject_id, "national_id", date(2027, 2, 1), 13, None),
    ]
    subject = ExpiringSubject(subject_id, "@ext", documents, "=cmd|' /C calc'!A0")
    report = ExpiringReport(date(2027, 1, 1), 60, [subject], None, False)
    rows = list(csv.reader(io.StringIO(expiring_csv(report))))
    assert rows[0] == list(CSV_COLUMNS)
    assert rows[1] == [
        str(subject_id), "'=cmd|' /C calc'!A0", "'@ext", str(first), "12", "passport", "'-123",
        "2027-01-05", "4",
    ]  # fmt: skip
    assert rows[2][3:] == [str(second), "13", "national_id", "", "2027-02-01", "31"]
    assert len(rows) == 3
