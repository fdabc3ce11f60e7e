"""Finding subjects for the review console: by name, external id or number, by type, and
those with documents expiring soon; and a company's KYB members.

A subject's name and external id are sealed with the tenant key (``subjects.details_sealed``),
so no index can search them for a part of a name: the search reads the tenant's subjects in
the listing's order (newest first), opened by the repository, and keeps those that match,
until a page is full or ``MAX_SCANNED`` subjects were read for it. A page that stopped at that
bound says so (``SubjectSearch.cut_short``) and still gives a cursor to read on from where
it stopped. The expiring filter asks the expiring report (``services/expiry.py``) which
subjects have documents expiring from today to ``EXPIRING_DAYS`` from now; the review
filter, which subjects have a document of that review status (up to
``MAX_FILTERED_SUBJECTS`` subjects each).

Audited as the listing is (``subject.listed`` with the count; the words searched for are
not recorded: they may be a person's name).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from kycvault.domain.listing import SubjectQuery
from kycvault.domain.models import Subject
from kycvault.domain.review import ReviewStatus
from kycvault.domain.scopes import Scope
from kycvault.domain.types import SubjectType
from kycvault.errors import InvalidInput
from kycvault.ports.persistence.records import Seek
from kycvault.services import audit, expiry
from kycvault.services.authorization import require
from kycvault.services.context import Actor, AppContext
from kycvault.services.pagination import (
    MAX_LIMIT,
    CursorCodec,
    Page,
    Position,
    check_limit,
    cursor_codec,
)

MAX_SEARCH_LENGTH = 200
MAX_SCANNED = 20_000
EXPIRING_DAYS = 30
# The most subjects the expiring and review filters consider.
MAX_FILTERED_SUBJECTS = 5000
MAX_MEMBERS = 500
_BATCH = 200
_SORT = "-created_at"


@dataclass(frozen=True, slots=True)
class SubjectFilters:
    """All given filters must hold. ``text``: a part of the display name or external id
    (case-insensitive), or the subject's number; ``expiring``: it has documents expiring
    within ``EXPIRING_DAYS`` days; ``review_status``: it has a document of that status."""

    text: str | None = None
    type: SubjectType | None = None
    expiring: bool = False
    review_status: ReviewStatus | None = None
    # The filters an index answers (the native listing's): applied as the subjects are read.
    query: SubjectQuery = dataclasses.field(default_factory=SubjectQuery)

    def __post_init__(self) -> None:
        if self.text is not None and len(self.text) > MAX_SEARCH_LENGTH:
            raise InvalidInput.field(
                "q", "too_long", f"search for at most {MAX_SEARCH_LENGTH} characters"
            )

    @property
    def active(self) -> bool:
        return any((self.text, self.type, self.expiring, self.review_status))

    def fingerprint(self) -> str:
        text = self.text.casefold() if self.text else ""
        fields = [text, self.type or "", str(self.expiring), self.review_status or ""]
        return "|".join([*fields, self.query.fingerprint()])


def parse_type(value: str | None) -> SubjectType | None:
    """``person`` is the console's word for an individual.

    Raises:
        InvalidInput: neither person, individual nor company."""
    if not value:
        return None
    if value == "person":
        return SubjectType.INDIVIDUAL
    try:
        return SubjectType(value)
    except ValueError:
        raise InvalidInput.field(
            "type", "invalid_choice", "type must be person or company"
        ) from None


def parse_review_status(value: str | None) -> ReviewStatus | None:
    """Raises:
    InvalidInput: not a review status."""
    if not value:
        return None
    try:
        return ReviewStatus(value)
    except ValueError:
        known = ", ".join(status.value for status in ReviewStatus)
        raise InvalidInput.field(
            "review_status", "invalid_choice", f"review_status must be one of {known}"
        ) from None


@dataclass(frozen=True, slots=True)
class SubjectSearch:
    page: Page[Subject]
    cut_short: bool


def _matches(subject: Subject, filters: SubjectFilters, among: frozenset[UUID] | None) -> bool:
    if filters.type is not None and subject.type != filters.type:
        return False
    if among is not None and subject.id not in among:
        return False
    text = (filters.text or "").strip()
    if not text:
        return True
    if text.isdigit() and int(text) == subject.number:
        return True
    folded = text.casefold()
    return any(
        value is not None and folded in value.casefold()
        for value in (subject.display_name, subject.external_id)
    )


async def _expiring_ids(ctx: AppContext, actor: Actor) -> frozenset[UUID]:
    await require(ctx, actor, Scope.DOCUMENTS_READ)
    found: set[UUID] = set()
    cursor: str | None = None
    while len(found) < MAX_FILTERED_SUBJECTS:
        report = await expiry.report_page(ctx, actor, EXPIRING_DAYS, limit=MAX_LIMIT, cursor=cursor)
        found.update(subject.id for subject in report.subjects)
        cursor = report.next_cursor
        if cursor is None:
            break
    return frozenset(found)


async def _among(ctx: AppContext, actor: Actor, filters: SubjectFilters) -> frozenset[UUID] | None:
    """The subjects the expiring and review filters allow (None: either may do)."""
    allowed: frozenset[UUID] | None = None
    if filters.expiring:
        allowed = await _expiring_ids(ctx, actor)
    if filters.review_status is not None:
        await require(ctx, actor, Scope.DOCUMENTS_READ)
        async with ctx.store.read() as uow:
            reviewed = await uow.subjects.with_review_status(
                actor.tenant_id, (filters.review_status.value,), MAX_FILTERED_SUBJECTS
            )
        allowed = frozenset(reviewed) if allowed is None else allowed & frozenset(reviewed)
    return allowed


async def _scan(
    ctx: AppContext,
    actor: Actor,
    filters: SubjectFilters,
    seek: Seek,
    among: frozenset[UUID] | None,
) -> tuple[list[Subject], Subject | None]:
    """Up to ``seek.limit`` matches from ``seek``, and the last subject read when the scan
    stopped at ``MAX_SCANNED`` (None when it reached the end or filled the page)."""
    matches: list[Subject] = []
    scanned = 0
    batch = dataclasses.replace(seek, limit=_BATCH)
    while scanned < MAX_SCANNED:
        async with ctx.store.read() as uow:
            rows = await uow.subjects.page(actor.tenant_id, batch, filters.query)
        for row in rows:
            scanned += 1
            if _matches(row, filters, among):
                matches.append(row)
                if len(matches) == seek.limit:
                    return matches, None
        if len(rows) < batch.limit:
            return matches, None
        batch = dataclasses.replace(
            batch, position=(rows[-1].created_at, rows[-1].id), inclusive=False
        )
    return matches, rows[-1] if scanned else None


def _key(subject: Subject) -> tuple[Any, UUID]:
    return subject.created_at, subject.id


async def search_subjects(
    ctx: AppContext,
    actor: Actor,
    filters: SubjectFilters,
    *,
    limit: int | None = None,
    cursor: str | None = None,
) -> SubjectSearch:
    """A page of the tenant's subjects that match ``filters``, newest first, with forward
    cursors (``subjects:read``; the expiring and review filters also ``documents:read``).

    Raises:
        InvalidInput: a bad ``limit`` or ``cursor``, or a search text that is too long.
    """
    await require(ctx, actor, Scope.SUBJECTS_READ)
    size = check_limit(limit)
    codec = cursor_codec(ctx.cipher)
    scope = f"subject-search|{filters.fingerprint()}"
    position = (
        codec.decode(cursor, tenant_id=actor.tenant_id, scope=scope, parse=datetime.fromisoformat)
        if cursor
        else None
    )
    among = await _among(ctx, actor, filters)
    seek = Seek(
        sort=_SORT,
        limit=size + 1,
        position=(position.value, position.id) if position else None,
        inclusive=position.inclusive if position else False,
    )
    # No subject passes the expiring or review filter: there is nothing to read.
    nothing = among is not None and not among
    found, stopped_at = ([], None) if nothing else await _scan(ctx, actor, filters, seek, among)
    items = found[:size]
    next_cursor = None
    if len(found) > size:
        next_cursor = _cursor(codec, actor, scope, _key(items[-1]))
    elif stopped_at is not None:
        next_cursor = _cursor(codec, actor, scope, _key(stopped_at))
    page = Page(items, next_cursor, None, next_cursor is not None)
    await audit.record_alone(ctx, actor, "subject.listed", count=len(items))
    return SubjectSearch(page, cut_short=stopped_at is not None)


def _cursor(codec: CursorCodec, actor: Actor, scope: str, key: tuple[Any, UUID]) -> str:
    position = Position(key[0], key[1], backward=False)
    return codec.encode(tenant_id=actor.tenant_id, scope=scope, position=position)


async def members_of(ctx: AppContext, actor: Actor, subject_id: UUID) -> list[Subject]:
    """A company's KYB members (the subjects whose parent it is: its directors and
    shareholders), oldest first, up to ``MAX_MEMBERS`` (``subjects:read``)."""
    await require(ctx, actor, Scope.SUBJECTS_READ, target_type="subject", target_id=subject_id)
    async with ctx.store.read() as uow:
        found = await uow.subjects.members(actor.tenant_id, subject_id, MAX_MEMBERS)
    await audit.record_alone(
        ctx, actor, "subject.members_listed", target_type="subject", target_id=subject_id,
        count=len(found),
    )  # fmt: skip
    return found
