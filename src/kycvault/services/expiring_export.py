"""The expiring documents as a console shows them and a spreadsheet takes them: grouped by
subject, with the subject's name and each document's type, numbers and expiry date, for any
window up to ten years; and the same as CSV (``expiring_csv``), every cell made safe to open
in a spreadsheet (``domain/spreadsheet.py``).

Both are reads of personal data (names, document numbers) and are audited: a page as
``document.expiring_listed``, an export as ``document.expiring_exported``, with the window
and how many rows went out, never the rows themselves. An export is bounded
(``MAX_EXPORT_SUBJECTS``); ``has_more`` says when it was cut short.
"""

from __future__ import annotations

from dataclasses import replace

from kycvault.domain.expiry import days_left
from kycvault.domain.scopes import Scope
from kycvault.domain.spreadsheet import csv_line
from kycvault.errors import InvalidInput
from kycvault.ports.persistence.expiry import ExpiringSubject
from kycvault.services import audit
from kycvault.services.authorization import require
from kycvault.services.context import Actor, AppContext
from kycvault.services.expiry import DEFAULT_WITHIN_DAYS, ExpiringReport, report_page
from kycvault.services.pagination import MAX_LIMIT

MAX_WITHIN_DAYS = 3650
MAX_EXPORT_SUBJECTS = 5000
CSV_COLUMNS = (
    "subject_id", "subject_name", "external_id", "document_id", "document_number", "type",
    "id_number", "expiry_date", "days_left",
)  # fmt: skip


def _check_within(within_days: int | None) -> int:
    within = DEFAULT_WITHIN_DAYS if within_days is None else within_days
    if not 0 < within <= MAX_WITHIN_DAYS:
        raise InvalidInput.field(
            "within_days", "out_of_range", f"within_days must be 1 to {MAX_WITHIN_DAYS}"
        )
    return within


def _documents(subjects: list[ExpiringSubject]) -> int:
    return sum(len(subject.documents) for subject in subjects)


async def expiring_by_subject(
    ctx: AppContext,
    actor: Actor,
    *,
    within_days: int | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> ExpiringReport:
    """A page of subjects (``limit``, default 50, at most 100; in id order) with their
    documents expiring from today (UTC) to ``within_days`` days from now (default 30, 1 to
    3650), soonest first, with the subjects' ``display_name`` and the documents' ``number``
    and ``id_number`` (``documents:read``).

    Raises:
        InvalidInput: ``within_days`` out of range, a bad ``limit`` or ``cursor``.
    """
    await require(ctx, actor, Scope.DOCUMENTS_READ)
    within = _check_within(within_days)
    report = await report_page(ctx, actor, within, limit=limit, cursor=cursor, detailed=True)
    await audit.record_alone(
        ctx,
        actor,
        "document.expiring_listed",
        within_days=within,
        subjects=len(report.subjects),
        count=_documents(report.subjects),
    )
    return report


async def expiring_export(
    ctx: AppContext, actor: Actor, *, within_days: int | None = None
) -> ExpiringReport:
    """The whole window of ``expiring_by_subject`` (up to ``MAX_EXPORT_SUBJECTS`` subjects;
    ``has_more`` when there were more), for ``expiring_csv``."""
    await require(ctx, actor, Scope.DOCUMENTS_READ)
    within = _check_within(within_days)
    page = await report_page(ctx, actor, within, limit=MAX_LIMIT, detailed=True)
    subjects = list(page.subjects)
    while page.next_cursor is not None and len(subjects) < MAX_EXPORT_SUBJECTS:
        page = await report_page(
            ctx, actor, within, limit=MAX_LIMIT, cursor=page.next_cursor, detailed=True
        )
        subjects.extend(page.subjects)
    has_more = page.has_more or len(subjects) > MAX_EXPORT_SUBJECTS
    report = replace(
        page, subjects=subjects[:MAX_EXPORT_SUBJECTS], next_cursor=None, has_more=has_more
    )
    await audit.record_alone(
        ctx,
        actor,
        "document.expiring_exported",
        within_days=within,
        subjects=len(report.subjects),
        count=_documents(report.subjects),
        truncated=has_more,
    )
    return report


def expiring_csv(report: ExpiringReport) -> str:
    """A header row, then one row per document (subjects in the report's order, documents
    soonest first); ``days_left`` counted from the report's ``today``."""
    lines = [csv_line(CSV_COLUMNS)]
    for subject in report.subjects:
        for doc in subject.documents:
            lines.append(
                csv_line(
                    (
                        subject.id,
                        subject.display_name,
                        subject.external_id,
                        doc.id,
                        doc.number,
                        doc.type,
                        doc.id_number,
                        doc.expiry_date.isoformat(),
                        days_left(doc.expiry_date, report.today),
                    )
                )
            )
    return "".join(lines)
