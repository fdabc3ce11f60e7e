"""/v1/audit-events: who did what, newest first; the same streamed as a file; and one
document's history."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Literal, TypedDict, Unpack
from uuid import UUID

from kycvault.client._http import Call, joined, model, nothing, query
from kycvault.client._runner import AsyncResource, Resource
from kycvault.client.downloads import Destination
from kycvault.client.models import AuditEvent, Page
from kycvault.client.pagination import AsyncPaginator, Paginator
from kycvault.client.uploads import Progress

PATH = "/v1/audit-events"


class AuditFilters(TypedDict, total=False):
    subject_id: UUID | str
    document_id: UUID | str
    actor: str
    action: str | Sequence[str]
    outcome: str
    from_: datetime | date | str  # sent as ``from``
    to: datetime | date | str


def _list(filters: AuditFilters, limit: int | None) -> Call[Page[AuditEvent]]:
    return Call("GET", PATH, model(Page[AuditEvent]), params=query(**filters, limit=limit))


def _export(filters: AuditFilters, format: str) -> Call[None]:
    return Call("GET", PATH + "/export", nothing, params=query(**filters, format=format))


def _history(document_id: UUID | str, limit: int | None) -> Call[Page[AuditEvent]]:
    path = joined(["/v1/documents", document_id, "history"])
    return Call("GET", path, model(Page[AuditEvent]), params=query(limit=limit))


class Audit(Resource):
    def list(
        self, *, limit: int | None = None, **filters: Unpack[AuditFilters]
    ) -> Paginator[AuditEvent]:
        """Every audit event matching the filters, newest first (``limit`` a page)."""
        return self._run.paginate(_list(filters, limit))

    def export(
        self,
        destination: Destination,
        *,
        format: Literal["jsonl", "csv"] = "jsonl",
        progress: Progress | None = None,
        **filters: Unpack[AuditFilters],
    ) -> int:
        """Every matching event streamed to ``destination`` as JSON lines or CSV; its size."""
        return self._run.download(_export(filters, format), destination, progress)

    def history(
        self, document_id: UUID | str, *, limit: int | None = None
    ) -> Paginator[AuditEvent]:
        """Every access to and change of the document and its files, newest first."""
        return self._run.paginate(_history(document_id, limit))


class AsyncAudit(AsyncResource):
    def list(
        self, *, limit: int | None = None, **filters: Unpack[AuditFilters]
    ) -> AsyncPaginator[AuditEvent]:
        return self._run.paginate(_list(filters, limit))

    async def export(
        self,
        destination: Destination,
        *,
        format: Literal["jsonl", "csv"] = "jsonl",
        progress: Progress | None = None,
        **filters: Unpack[AuditFilters],
    ) -> int:
        return await self._run.download(_export(filters, format), destination, progress)

    def history(
        self, document_id: UUID | str, *, limit: int | None = None
    ) -> AsyncPaginator[AuditEvent]:
        return self._run.paginate(_history(document_id, limit))
