"""/v1/events: the tenant's event log, oldest first."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import TypedDict, Unpack
from uuid import UUID

from kycvault.client._http import Call, joined, model, query
from kycvault.client._runner import AsyncResource, Resource
from kycvault.client.models import Event, Page
from kycvault.client.pagination import AsyncPaginator, Paginator

PATH = "/v1/events"


class EventFilters(TypedDict, total=False):
    type: str | Sequence[str]
    subject_id: UUID | str
    document_id: UUID | str
    created_from: datetime | date | str
    created_to: datetime | date | str
    limit: int  # per page
    cursor: str  # resume after the last page seen


def _list(filters: EventFilters) -> Call[Page[Event]]:
    return Call("GET", PATH, model(Page[Event]), params=query(**filters))


def _get(event_id: UUID | str) -> Call[Event]:
    return Call("GET", joined([PATH, event_id]), model(Event))


class Events(Resource):
    def list(self, **filters: Unpack[EventFilters]) -> Paginator[Event]:
        """Every event matching the filters, in the order they were committed. The last
        page's ``next_cursor`` (``.pages()``) is where to poll for later events."""
        return self._run.paginate(_list(filters))

    def get(self, event_id: UUID | str) -> Event:
        return self._run.request(_get(event_id))


class AsyncEvents(AsyncResource):
    def list(self, **filters: Unpack[EventFilters]) -> AsyncPaginator[Event]:
        return self._run.paginate(_list(filters))

    async def get(self, event_id: UUID | str) -> Event:
        return await self._run.request(_get(event_id))
