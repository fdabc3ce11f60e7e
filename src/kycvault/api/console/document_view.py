"""The document page's view of a document: its files laid out for viewing, its expiry and
review as badges, the actions the user's role allows, and the one-time message a form
leaves for the page it redirects to (POST, redirect, GET).

The message travels in a short-lived cookie of the console's path (``FLASH_COOKIE``), read
and cleared by the next page: a URL parameter would let any link show any text on the
console's pages.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import date

from fastapi import Request, Response

from kycvault.api.console.auth import clear_cookie, set_cookie
from kycvault.domain.models import Document, StoredFile
from kycvault.domain.review import REASON_LABELS, ReviewStatus
from kycvault.domain.scopes import Scope
from kycvault.services.context import Actor

FLASH_COOKIE = "kycvault_console_flash"
_FLASH_MAX = 2000
# Types a browser shows in an <img>; the content route sends any other as a download.
INLINE_IMAGES = frozenset({"image/jpeg", "image/png", "image/webp", "image/bmp"})
PDF = "application/pdf"
# Fewer days than this to the expiry date, and the badge says it is close.
EXPIRING_DAYS = 60
REVIEW_LABELS = {
    ReviewStatus.PENDING: "Pending review",
    ReviewStatus.APPROVED: "Approved",
    ReviewStatus.REJECTED: "Rejected",
    ReviewStatus.RESUBMISSION_REQUESTED: "New upload requested",
}
REASONS = [(code.value, label) for code, label in REASON_LABELS.items()]


@dataclass(frozen=True, slots=True)
class Badge:
    """A status as its word (``text``) and its CSS modifier (``kind``)."""

    text: str
    kind: str


@dataclass(frozen=True, slots=True)
class Allowed:
    """The actions the user's role may take on the page (a refused POST is a 403 anyway)."""

    view_files: bool
    review: bool
    write: bool
    delete: bool

    @classmethod
    def of(cls, actor: Actor) -> Allowed:
        return cls(
            view_files=actor.allows(Scope.DOCUMENTS_DOWNLOAD.value),
            review=actor.allows(Scope.DOCUMENTS_REVIEW.value),
            write=actor.allows(Scope.DOCUMENTS_WRITE.value),
            delete=actor.allows(Scope.DOCUMENTS_DELETE.value),
        )


@dataclass(frozen=True, slots=True)
class Shown:
    """A file as the page shows it: ``kind`` is ``image``, ``pdf`` or ``other``; ``url`` its
    inline content, ``pages_url`` (a PDF's) its pages drawn as images (``/1``, ``/2``…)."""

    file: StoredFile
    kind: str
    label: str
    url: str
    pages_url: str


def shown_files(doc: Document) -> list[Shown]:
    """The document's files in their order (FRONT before BACK, pages in turn)."""
    out = []
    for stored in sorted(doc.files, key=lambda f: (f.position, f.created_at)):
        kind = "image" if stored.content_type in INLINE_IMAGES else "other"
        if stored.content_type == PDF:
            kind = "pdf"
        label = stored.role.value if stored.role else f"File {stored.position + 1}"
        base = f"/console/documents/{doc.id}/files/{stored.id}"
        out.append(Shown(stored, kind, label, f"{base}/content", f"{base}/pages"))
    return out


def expiry_badge(doc: Document, today: date) -> Badge:
    if doc.expiry_date is None:
        return Badge("No expiry date", "neutral")
    days = (doc.expiry_date - today).days
    if days < 0:
        return Badge(f"Expired {-days} days ago", "bad")
    if days <= EXPIRING_DAYS:
        return Badge(f"Expires in {days} days", "warn")
    return Badge(f"Valid for {days} days", "good")


def review_badge(doc: Document) -> Badge:
    status = doc.review.status
    kind = {
        ReviewStatus.APPROVED: "good",
        ReviewStatus.REJECTED: "bad",
        ReviewStatus.RESUBMISSION_REQUESTED: "warn",
    }.get(status, "neutral")
    return Badge(REVIEW_LABELS[status], kind)


def reason_label(code: str | None) -> str:
    return next((label for value, label in REASONS if value == code), code or "")


def flash(request: Request, response: Response, kind: str, text: str) -> None:
    """Leave ``text`` for the next page (``kind``: ``ok`` or ``error``)."""
    raw = f"{kind}:{text[:_FLASH_MAX]}".encode()
    set_cookie(request, response, FLASH_COOKIE, base64.urlsafe_b64encode(raw).decode())


def take_flash(request: Request) -> dict[str, str] | None:
    """The message a form left, if any (the caller clears it with ``clear_flash``)."""
    value = request.cookies.get(FLASH_COOKIE)
    if not value or len(value) > 4 * _FLASH_MAX:
        return None
    try:
        kind, _, text = base64.urlsafe_b64decode(value.encode()).decode().partition(":")
    except (ValueError, binascii.Error):
        return None
    if kind not in {"ok", "error"}:
        return None
    return {"kind": kind, "text": text[:_FLASH_MAX]}


def clear_flash(request: Request, response: Response) -> None:
    if FLASH_COOKIE in request.cookies:
        clear_cookie(request, response, FLASH_COOKIE)
