"""The document page (``/console/documents/{id}``): the document, its files, what its
processing found beside what was declared, its history, and the actions on it: a download
link, another file, the declared fields, deletion and the review.

Every route is thin: the session's ``Actor`` calls the services the API calls, so a role
without a scope is refused by the service (403) whatever the page showed. Each form posts,
then redirects back with a message (``document_view.flash``); a refusal the user can act
on (a legal hold, a field the rules refuse) is that message, not an error page.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import date
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from kycvault.api.bodies import receive_upload_signed_in_form
from kycvault.api.console import comparison
from kycvault.api.console.auth import ConsoleSessionDep, CsrfSessionDep, form_data, form_text
from kycvault.api.console.document_view import (
    INLINE_IMAGES,
    REASONS,
    Allowed,
    clear_flash,
    expiry_badge,
    flash,
    reason_label,
    review_badge,
    shown_files,
    take_flash,
)
from kycvault.api.console.rendering import render
from kycvault.api.deps import ContextDep
from kycvault.api.dialects import upload_limits
from kycvault.api.file_serving import stream_response
from kycvault.api.multipart import multipart_boundary
from kycvault.api.routing import CheckedRoute
from kycvault.domain.scopes import Scope
from kycvault.errors import (
    Conflict,
    Gone,
    InvalidInput,
    PayloadTooLarge,
    UnprocessableContent,
    UnsupportedMediaType,
)
from kycvault.services import (
    audit_trail,
    console_sessions,
    document_removal,
    documents,
    downloads,
    page_images,
    reviews,
)
from kycvault.services import files as files_service
from kycvault.services.console_sessions import ConsoleSession
from kycvault.services.context import Actor

router = APIRouter(prefix="/console", include_in_schema=False, route_class=CheckedRoute)

# Refusals shown as the page's message; anything else (403, 404, 5xx) is an error page.
_SHOWN = (InvalidInput, Conflict, Gone, PayloadTooLarge, UnprocessableContent, UnsupportedMediaType)
HISTORY_LIMIT = 50
# The declared fields the edit form sets (an empty box clears the field).
EDITABLE = ("name", "id_number", "issuing_country", "issue_date", "expiry_date")
_DATES = frozenset({"issue_date", "expiry_date"})
# An image may be shown in the page; a PDF is shown as its pages drawn (``pdf_page``), and
# its own content, like anything else, is only downloaded.
_IMAGE_POLICY = "default-src 'none'; frame-ancestors 'self'; sandbox"


def _page_url(document_id: UUID) -> str:
    return f"/console/documents/{document_id}"


async def _refusal(action: Awaitable[object]) -> str | None:
    """Run ``action``: None when it was done, else the message of its refusal."""
    try:
        await action
    except _SHOWN as exc:
        return exc.detail
    return None


def _back(request: Request, target: str, refusal: str | None, done: str) -> RedirectResponse:
    response = RedirectResponse(target, status_code=303)
    flash(request, response, "error" if refusal else "ok", refusal or done)
    return response


async def _act(
    request: Request, target: str, action: Awaitable[object], done: str
) -> RedirectResponse:
    """Run ``action``, then back to ``target`` with ``done`` or the refusal's message."""
    return _back(request, target, await _refusal(action), done)


@router.get("/documents/{document_id}")
async def document_page(
    document_id: UUID, request: Request, ctx: ContextDep, session: ConsoleSessionDep
) -> HTMLResponse:
    actor = session.actor
    doc = await documents.get_document(ctx, actor, document_id)
    history = await audit_trail.document_history(ctx, actor, document_id, limit=HISTORY_LIMIT)
    response = render(
        request,
        "document.html",
        session,
        section="subjects",
        doc=doc,
        files=shown_files(doc),
        rows=comparison.rows(doc),
        mrz=comparison.mrz_of(doc),
        expiry=expiry_badge(doc, ctx.clock().date()),
        review=review_badge(doc),
        review_reason=reason_label(doc.review.reason_code),
        reasons=REASONS,
        history=history.items,
        more_history=history.has_more,
        allowed=Allowed.of(actor),
        message=take_flash(request),
    )
    clear_flash(request, response)
    return response


@router.get("/documents/{document_id}/files/{file_id}/content")
async def file_content(
    document_id: UUID,
    file_id: UUID,
    request: Request,
    ctx: ContextDep,
    session: ConsoleSessionDep,
) -> Response:
    """The file for the page to show: the API's download, inline, typed only as an image a
    browser shows, and sandboxed."""
    content = await files_service.open_content(ctx, session.actor, document_id, file_id)
    response = await stream_response(request, content, "inline")
    stored = content.file.content_type
    if stored not in INLINE_IMAGES:
        response.headers["content-type"] = "application/octet-stream"
    response.headers["content-security-policy"] = _IMAGE_POLICY
    response.headers["x-frame-options"] = "SAMEORIGIN"
    response.headers["x-content-type-options"] = "nosniff"
    return response


@router.get("/documents/{document_id}/files/{file_id}/pages/{page}")
async def pdf_page(
    document_id: UUID,
    file_id: UUID,
    page: int,
    ctx: ContextDep,
    session: ConsoleSessionDep,
) -> Response:
    """Page ``page`` (from 1) of a PDF, drawn by the reader's confined process;
    ``X-Page-Count`` says how many pages can be shown."""
    drawn = await page_images.pdf_page(ctx, session.actor, document_id, file_id, page)
    headers = {
        "content-security-policy": _IMAGE_POLICY,
        "x-frame-options": "SAMEORIGIN",
        "x-content-type-options": "nosniff",
        "cache-control": "private, no-store",
        "x-page-count": str(drawn.pages),
    }
    return Response(drawn.png, media_type="image/png", headers=headers)


@router.post("/documents/{document_id}/review")
async def review(
    document_id: UUID, request: Request, ctx: ContextDep, session: CsrfSessionDep
) -> RedirectResponse:
    form = await form_data(request)
    decision = form_text(form, "decision")
    action = reviews.review_document(
        ctx,
        session.actor,
        document_id,
        decision,
        form_text(form, "reason_code") or None,
        form_text(form, "reason").strip() or None,
    )
    done = {"approved": "Approved.", "rejected": "Rejected."}.get(decision, "New upload requested.")
    return await _act(request, _page_url(document_id), action, done)


@router.post("/documents/{document_id}/download")
async def download(
    document_id: UUID, request: Request, ctx: ContextDep, session: CsrfSessionDep
) -> RedirectResponse:
    """To a single-use link of the file (on this origin: the link is redeemed at once)."""
    form = await form_data(request)
    file_id = _uuid(form, "file_id")
    issued = await downloads.create_link(ctx, session.actor, document_id, file_id)
    return RedirectResponse(f"/v1/downloads/{issued.token}", status_code=303)


@router.post("/documents/{document_id}/edit")
async def edit(
    document_id: UUID, request: Request, ctx: ContextDep, session: CsrfSessionDep
) -> RedirectResponse:
    form = await form_data(request)

    async def change() -> None:
        changes = _declared(form)
        await documents.update_document(ctx, session.actor, document_id, changes)

    return await _act(request, _page_url(document_id), change(), "Declared fields saved.")


@router.post("/documents/{document_id}/delete")
async def delete(
    document_id: UUID, request: Request, ctx: ContextDep, session: CsrfSessionDep
) -> RedirectResponse:
    actor = session.actor
    doc = await documents.get_document(ctx, actor, document_id, scope=Scope.DOCUMENTS_DELETE)
    refusal = await _refusal(document_removal.delete_document(ctx, actor, document_id))
    if refusal:
        return _back(request, _page_url(document_id), refusal, "")
    # The subject's page shows no message of this page's: the document is simply gone.
    where = f"/console/subjects/{doc.subject_id}" if doc.subject_id else "/console/subjects"
    return RedirectResponse(where, status_code=303)


@router.post("/documents/{document_id}/files")
async def upload(
    document_id: UUID, request: Request, ctx: ContextDep, session: ConsoleSessionDep
) -> RedirectResponse:
    """Another file (multipart, within the API's upload limits); the form's token is
    checked before any file is stored."""
    multipart_boundary(request.headers.get("content-type"))
    await files_service.prepare_file_upload(ctx, session.actor, document_id)

    async def add() -> None:
        sign_in = _csrf_checked(session)
        async with receive_upload_signed_in_form(request, ctx, upload_limits(request), sign_in) as (
            actor,
            staged,
            _,
        ):
            await files_service.add_files(ctx, actor, document_id, staged)

    return await _act(request, _page_url(document_id), add(), "File added.")


def _csrf_checked(
    session: ConsoleSession,
) -> Callable[[dict[str, list[str]]], Awaitable[tuple[Actor, Mapping[str, str] | None]]]:
    async def sign_in(fields: dict[str, list[str]]) -> tuple[Actor, Mapping[str, str] | None]:
        console_sessions.check_csrf(session, (fields.get("csrf_token") or [""])[0])
        return session.actor, None

    return sign_in


def _uuid(form: FormData, name: str) -> UUID:
    try:
        return UUID(form_text(form, name))
    except ValueError:
        raise InvalidInput.field(name, "invalid_id", "not a file of this document") from None


def _declared(form: FormData) -> dict[str, object]:
    changes: dict[str, object] = {}
    for name in EDITABLE:
        if name not in form:
            continue
        text = form_text(form, name).strip()
        if name in _DATES and text:
            try:
                changes[name] = date.fromisoformat(text)
            except ValueError:
                raise InvalidInput.field(name, "invalid_date", "a date as YYYY-MM-DD") from None
        else:
            changes[name] = text or None
    return changes
