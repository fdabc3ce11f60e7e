"""The console's expiring documents (``/console/expiring``): documents expiring within a
window, grouped by subject, and the same window as a CSV download
(``/console/expiring.csv``), through ``services/expiring_export.py`` (which audits both and
makes every CSV cell safe to open in a spreadsheet)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from kycvault.api.console.auth import ConsoleSessionDep
from kycvault.api.console.rendering import render
from kycvault.api.deps import ContextDep
from kycvault.api.routing import CheckedRoute
from kycvault.domain.expiry import days_left
from kycvault.errors import InvalidInput
from kycvault.services import expiring_export
from kycvault.services.expiring_export import MAX_WITHIN_DAYS

router = APIRouter(prefix="/console", include_in_schema=False, route_class=CheckedRoute)

DEFAULT_DAYS = 30


def parse_within(raw: str | None) -> int:
    """The window in days, 1 to ``MAX_WITHIN_DAYS`` (default 30).

    Raises:
        InvalidInput: not a whole number in range (the console's 400 page).
    """
    if raw is None or raw.strip() == "":
        return DEFAULT_DAYS
    text = raw.strip()
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_WITHIN_DAYS:
        raise InvalidInput.field(
            "within_days", "out_of_range", f"within_days must be 1 to {MAX_WITHIN_DAYS}"
        )
    return int(text)


_Within = Annotated[str | None, Query(max_length=10)]


@router.get("/expiring")
async def expiring_page(
    request: Request,
    ctx: ContextDep,
    session: ConsoleSessionDep,
    within_days: _Within = None,
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
) -> HTMLResponse:
    within = parse_within(within_days)
    report = await expiring_export.expiring_by_subject(
        ctx, session.actor, within_days=within, cursor=cursor
    )
    return render(
        request,
        "expiring.html",
        session,
        section="expiring",
        report=report,
        within=within,
        most=MAX_WITHIN_DAYS,
        days_left=days_left,
        first_page=cursor is None,
    )


@router.get("/expiring.csv")
async def expiring_csv(
    ctx: ContextDep, session: ConsoleSessionDep, within_days: _Within = None
) -> Response:
    within = parse_within(within_days)
    report = await expiring_export.expiring_export(ctx, session.actor, within_days=within)
    return Response(
        expiring_export.expiring_csv(report),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="expiring-documents-{within}d.csv"',
            "Cache-Control": "no-store",
        },
    )
