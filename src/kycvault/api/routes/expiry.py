"""Expiry: the tenant's notification settings (/v1/settings/notifications) and the report of
documents expiring soon, grouped by subject (/v1/reports/expiring)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from kycvault.api.deps import ActorDep, ContextDep, JsonBody
from kycvault.api.idempotency import Once, Written, json_response
from kycvault.api.routing import CheckedRoute
from kycvault.domain.expiry import MAX_THRESHOLD, MAX_THRESHOLDS, days_left
from kycvault.errors import InvalidInput
from kycvault.services import expiring_export, expiry

router = APIRouter(tags=["expiry"], route_class=CheckedRoute)


class NotificationSettingsOut(BaseModel):
    expiry_thresholds_days: list[int] = Field(
        description="days before a document's expiry date at which document.expiring is sent"
    )


class NotificationSettingsPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # Checked by the service (domain/expiry.py), which gives each fault its own code; the
    # schema says what it takes.
    expiry_thresholds_days: Annotated[
        Any,
        WithJsonSchema(
            {
                "type": "array",
                "items": {"type": "integer", "minimum": 1, "maximum": MAX_THRESHOLD},
                "minItems": 1,
                "maxItems": MAX_THRESHOLDS,
                "uniqueItems": True,
                "description": "days before expiry to announce it, each once",
            }
        ),
    ] = None


class ExpiringDocumentOut(BaseModel):
    id: UUID
    type: str
    expiry_date: date
    days_left: int


class ExpiringSubjectOut(BaseModel):
    id: UUID
    external_id: str | None
    documents: list[ExpiringDocumentOut]


class ExpiringReportOut(BaseModel):
    today: date = Field(description="the day (UTC) days_left counts from")
    within_days: int
    data: list[ExpiringSubjectOut]
    next_cursor: str | None
    has_more: bool


def _settings_out(thresholds: tuple[int, ...]) -> NotificationSettingsOut:
    return NotificationSettingsOut(expiry_thresholds_days=list(thresholds))


@router.get("/v1/settings/notifications", response_model=NotificationSettingsOut)
async def get_notification_settings(ctx: ContextDep, actor: ActorDep) -> NotificationSettingsOut:
    """How long before a document expires its expiry is announced."""
    return _settings_out(await expiry.get_thresholds(ctx, actor))


@router.patch(
    "/v1/settings/notifications", response_model=NotificationSettingsOut, dependencies=[JsonBody]
)
async def update_notification_settings(
    body: NotificationSettingsPatch, ctx: ContextDep, actor: ActorDep, once: Once
) -> Response:
    """Change the expiry notification thresholds; the fields not sent stay as they are."""

    async def write() -> Written:
        changes = body.model_dump(exclude_unset=True)
        thresholds = await expiry.update_settings(ctx, actor, changes)
        return Written(json_response(_settings_out(thresholds)))

    return await once(actor, write)


@router.get(
    "/v1/reports/expiring",
    response_model=ExpiringReportOut,
    responses={200: {"content": {"text/csv": {}}}},
)
async def expiring_report(
    ctx: ContextDep,
    actor: ActorDep,
    within_days: Annotated[int | None, Query(ge=0, le=expiry.MAX_WITHIN_DAYS)] = None,
    limit: Annotated[int | None, Query(ge=1, le=100)] = None,
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
    format: Literal["json", "csv"] = "json",
) -> ExpiringReportOut | Response:
    """Subjects with documents expiring from today (UTC) to ``within_days`` days from now
    (default 30, at most 365), each with those documents, soonest first; a page of subjects
    at a time, in id order. Documents already expired are not in it (list them with
    ``GET /v1/documents?expires_before=``), nor library documents (they have no subject).
    ``format=csv``: the whole window (1 to 365 days) as a CSV attachment, one row per
    document with the subject's name and the document's numbers (not paged)."""
    if format == "csv":
        if limit is not None or cursor is not None:
            raise InvalidInput.field("format", "not_paged", "a CSV export takes no limit or cursor")
        exported = await expiring_export.expiring_export(ctx, actor, within_days=within_days)
        return Response(
            expiring_export.expiring_csv(exported),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": 'attachment; filename="expiring-documents.csv"',
                "Cache-Control": "no-store",
            },
        )
    report = await expiry.expiring_report(
        ctx, actor, within_days=within_days, limit=limit, cursor=cursor
    )
    return ExpiringReportOut(
        today=report.today,
        within_days=report.within_days,
        data=[
            ExpiringSubjectOut(
                id=subject.id,
                external_id=subject.external_id,
                documents=[
                    ExpiringDocumentOut(
                        id=doc.id,
                        type=doc.type,
                        expiry_date=doc.expiry_date,
                        days_left=days_left(doc.expiry_date, report.today),
                    )
                    for doc in subject.documents
                ],
            )
            for subject in report.subjects
        ],
        next_cursor=report.next_cursor,
        has_more=report.has_more,
    )
