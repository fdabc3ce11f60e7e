"""/v1/webhook-endpoints: where the vault sends its events, and how each delivery went."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypedDict, Unpack
from uuid import UUID

from kycvault.client._http import Call, body, changes, joined, listed, model, nothing, query
from kycvault.client._runner import AsyncResource, Resource
from kycvault.client.models import Page, Redelivery, WebhookAttempt, WebhookEndpoint
from kycvault.client.pagination import AsyncPaginator, Paginator

PATH = "/v1/webhook-endpoints"


class EndpointChanges(TypedDict, total=False):
    url: str
    events: Sequence[str]
    description: str | None
    enabled: bool


def _create(
    url: str, events: Sequence[str], description: str | None, key: str | None
) -> Call[WebhookEndpoint]:
    made = body(url=url, events=list(events), description=description)
    return Call("POST", PATH, model(WebhookEndpoint), json=made, idempotency_key=key)


def _list() -> Call[list[WebhookEndpoint]]:
    return Call("GET", PATH, listed(WebhookEndpoint))


def _get(endpoint_id: UUID | str) -> Call[WebhookEndpoint]:
    return Call("GET", joined([PATH, endpoint_id]), model(WebhookEndpoint))


def _update(endpoint_id: UUID | str, fields: EndpointChanges) -> Call[WebhookEndpoint]:
    sent = changes(fields)
    if "events" in sent:
        sent["events"] = list(sent["events"])
    return Call("PATCH", joined([PATH, endpoint_id]), model(WebhookEndpoint), json=sent)


def _delete(endpoint_id: UUID | str) -> Call[None]:
    return Call("DELETE", joined([PATH, endpoint_id]), nothing)


def _rotate(endpoint_id: UUID | str) -> Call[WebhookEndpoint]:
    return Call("POST", joined([PATH, endpoint_id, "rotate-secret"]), model(WebhookEndpoint))


def _deliveries(endpoint_id: UUID | str, limit: int | None) -> Call[Page[WebhookAttempt]]:
    path = joined([PATH, endpoint_id, "deliveries"])
    return Call("GET", path, model(Page[WebhookAttempt]), params=query(limit=limit))


def _redeliver(event_id: UUID | str) -> Call[Redelivery]:
    return Call("POST", joined(["/v1/events", event_id, "redeliver"]), model(Redelivery))


class Webhooks(Resource):
    def create(
        self,
        url: str,
        events: Sequence[str],
        *,
        description: str | None = None,
        idempotency_key: str | None = None,
    ) -> WebhookEndpoint:
        """A new endpoint; its ``secret`` is in this answer only."""
        return self._run.request(_create(url, events, description, idempotency_key))

    def list(self) -> list[WebhookEndpoint]:
        return self._run.request(_list())

    def get(self, endpoint_id: UUID | str) -> WebhookEndpoint:
        return self._run.request(_get(endpoint_id))

    def update(self, endpoint_id: UUID | str, **fields: Unpack[EndpointChanges]) -> WebhookEndpoint:
        return self._run.request(_update(endpoint_id, fields))

    def delete(self, endpoint_id: UUID | str) -> None:
        self._run.request(_delete(endpoint_id))

    def rotate_secret(self, endpoint_id: UUID | str) -> WebhookEndpoint:
        """A new secret (in this answer only); the old one signs beside it for 24 hours."""
        return self._run.request(_rotate(endpoint_id))

    def deliveries(
        self, endpoint_id: UUID | str, *, limit: int | None = None
    ) -> Paginator[WebhookAttempt]:
        """The endpoint's delivery attempts, newest first."""
        return self._run.paginate(_deliveries(endpoint_id, limit))

    def redeliver(self, event_id: UUID | str) -> Redelivery:
        return self._run.request(_redeliver(event_id))


class AsyncWebhooks(AsyncResource):
    async def create(
        self,
        url: str,
        events: Sequence[str],
        *,
        description: str | None = None,
        idempotency_key: str | None = None,
    ) -> WebhookEndpoint:
        return await self._run.request(_create(url, events, description, idempotency_key))

    async def list(self) -> list[WebhookEndpoint]:
        return await self._run.request(_list())

    async def get(self, endpoint_id: UUID | str) -> WebhookEndpoint:
        return await self._run.request(_get(endpoint_id))

    async def update(
        self, endpoint_id: UUID | str, **fields: Unpack[EndpointChanges]
    ) -> WebhookEndpoint:
        return await self._run.request(_update(endpoint_id, fields))

    async def delete(self, endpoint_id: UUID | str) -> None:
        await self._run.request(_delete(endpoint_id))

    async def rotate_secret(self, endpoint_id: UUID | str) -> WebhookEndpoint:
        return await self._run.request(_rotate(endpoint_id))

    def deliveries(
        self, endpoint_id: UUID | str, *, limit: int | None = None
    ) -> AsyncPaginator[WebhookAttempt]:
        return self._run.paginate(_deliveries(endpoint_id, limit))

    async def redeliver(self, event_id: UUID | str) -> Redelivery:
        return await self._run.request(_redeliver(event_id))
