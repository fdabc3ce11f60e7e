"""Single-use download links: made for one file, redeemed once without an API key."""

from __future__ import annotations

from uuid import UUID

from kycvault.client._http import Call, joined, model, nothing
from kycvault.client._runner import AsyncResource, Resource
from kycvault.client.downloads import Destination
from kycvault.client.models import DownloadLink
from kycvault.client.uploads import Progress


def _create(document_id: UUID | str, file_id: UUID | str, key: str | None) -> Call[DownloadLink]:
    path = joined(["/v1/documents", document_id, "files", file_id, "download-link"])
    return Call("POST", path, model(DownloadLink), idempotency_key=key)


def _redeem(link: DownloadLink | str) -> Call[None]:
    url = link.download_url if isinstance(link, DownloadLink) else link
    # The link is the credential (the API key is not sent with it), and it works once: an
    # attempt whose connection broke may have used it up, so that is not retried.
    return Call("GET", url, nothing, retry_on_connection_error=False, authenticated=False)


class Links(Resource):
    def create(
        self, document_id: UUID | str, file_id: UUID | str, *, idempotency_key: str | None = None
    ) -> DownloadLink:
        """A URL that serves the file once, without authentication, for a short while."""
        return self._run.request(_create(document_id, file_id, idempotency_key))

    def download(
        self,
        link: DownloadLink | str,
        destination: Destination,
        *,
        progress: Progress | None = None,
    ) -> int:
        """Redeem ``link`` (or its URL): the file streamed to ``destination``; its size."""
        return self._run.download(_redeem(link), destination, progress)


class AsyncLinks(AsyncResource):
    async def create(
        self, document_id: UUID | str, file_id: UUID | str, *, idempotency_key: str | None = None
    ) -> DownloadLink:
        return await self._run.request(_create(document_id, file_id, idempotency_key))

    async def download(
        self,
        link: DownloadLink | str,
        destination: Destination,
        *,
        progress: Progress | None = None,
    ) -> int:
        return await self._run.download(_redeem(link), destination, progress)
