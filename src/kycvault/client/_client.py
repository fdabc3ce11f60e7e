"""``Client`` and ``AsyncClient``: the same resources over a blocking or an asyncio
connection pool. Only the sending loop is written twice (one blocks, one awaits); what a
request is, when it is retried and how its answer is read live in ``_http``."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx2

from kycvault import __version__
from kycvault.client import resources
from kycvault.client._http import Attempts, Call, RetryPolicy, raise_for_status
from kycvault.client.downloads import Destination, Sink
from kycvault.client.errors import KycVaultError
from kycvault.client.models import Page
from kycvault.client.pagination import AsyncPaginator, Paginator
from kycvault.client.uploads import Progress

T = TypeVar("T")
Timeout = float | httpx2.Timeout
# Reads may wait for a large file's next bytes; connecting should not take long.
DEFAULT_TIMEOUT = httpx2.Timeout(30.0, read=300.0)


def _api_key(given: str | None) -> str:
    key = given if given is not None else os.environ.get("KYCVAULT_API_KEY")
    if not key:
        raise KycVaultError("no API key: pass api_key= or set KYCVAULT_API_KEY", code="no_api_key")
    return key


class _Base:
    def _setup(
        self, base_url: str, api_key: str | None, timeout: Timeout, retry: RetryPolicy
    ) -> dict[str, Any]:
        """The connection pool's options; the retry policy kept."""
        self._retry = retry
        return {
            "base_url": base_url.rstrip("/"),
            "headers": {
                "Authorization": f"Bearer {_api_key(api_key)}",
                "Accept": "application/json",
                "User-Agent": f"kycvault-python/{__version__}",
            },
            "timeout": timeout,
        }

    def _build(self, http: httpx2.Client | httpx2.AsyncClient, call: Call[Any]) -> httpx2.Request:
        content: Any = None
        if call.upload is not None:
            content = call.upload if isinstance(http, httpx2.Client) else call.upload.__aiter__()
        request = http.build_request(
            call.method,
            call.path,
            params=call.params or None,
            json=call.json,
            content=content,
            headers=call.headers(),
        )
        if not call.authenticated:
            del request.headers["authorization"]
        return request


class Client(_Base):
    """The kycvault API over a blocking connection pool.

    ``Client(base_url, api_key=…)`` (or ``KYCVAULT_API_KEY``); use it as a context manager,
    or ``close()`` it. Reads, and writes (each carries an ``Idempotency-Key``), are retried
    up to ``max_retries`` times on 429, 502, 503, 504, a 409 ``idempotency_in_progress`` and
    broken connections; ``retry`` sets the backoff too. ``transport``, ``sleep`` and any
    other ``httpx2.Client`` option (``verify``, ``proxy``…) go to the connection pool and
    the waits between attempts (a test gives a mock transport and a sleep that returns)."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        timeout: Timeout = DEFAULT_TIMEOUT,
        max_retries: int = 2,
        retry: RetryPolicy | None = None,
        transport: httpx2.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        **httpx_options: Any,
    ) -> None:
        options = self._setup(base_url, api_key, timeout, retry or RetryPolicy(max_retries))
        self._http = httpx2.Client(**options, transport=transport, **httpx_options)
        self._sleep = sleep
        self.subjects = resources.Subjects(self)
        self.documents = resources.Documents(self)
        self.files = resources.Files(self)
        self.links = resources.Links(self)
        self.events = resources.Events(self)
        self.webhooks = resources.Webhooks(self)
        self.audit = resources.Audit(self)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _send(self, call: Call[Any], *, stream: bool) -> httpx2.Response:
        attempts = Attempts(self._retry, call)
        while True:
            try:
                response = self._http.send(self._build(self._http, call), stream=True)
                # A streamed download's body is read by its sink; a problem document is
                # small, and says whether to try again.
                if not stream or response.status_code >= 400:
                    self._read(response)
            except httpx2.TransportError as exc:
                self._sleep(attempts.after_error(exc))
                continue
            if (wait := attempts.after_response(response)) is None:
                break
            response.close()
            self._sleep(wait)
        raise_for_status(response)
        return response

    @staticmethod
    def _read(response: httpx2.Response) -> None:
        try:
            response.read()
        finally:
            response.close()

    def request(self, call: Call[T]) -> T:
        """Send ``call`` (retried as it allows); its parsed answer, or a ``KycVaultError``."""
        return call.parse(self._send(call, stream=False))

    def download(
        self, call: Call[Any], destination: Destination, progress: Progress | None = None
    ) -> int:
        response = self._send(call, stream=True)
        try:
            with Sink(destination, response.headers, progress) as sink:
                for chunk in response.iter_bytes():
                    sink.write(chunk)
            return sink.written
        finally:
            response.close()

    def paginate(self, call: Call[Page[T]]) -> Paginator[T]:
        return Paginator(self.request, call)


class AsyncClient(_Base):
    """``Client`` for asyncio: the same resources, each method awaited, lists iterated with
    ``async for``."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        timeout: Timeout = DEFAULT_TIMEOUT,
        max_retries: int = 2,
        retry: RetryPolicy | None = None,
        transport: httpx2.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        **httpx_options: Any,
    ) -> None:
        options = self._setup(base_url, api_key, timeout, retry or RetryPolicy(max_retries))
        self._http = httpx2.AsyncClient(**options, transport=transport, **httpx_options)
        self._sleep = sleep
        self.subjects = resources.AsyncSubjects(self)
        self.documents = resources.AsyncDocuments(self)
        self.files = resources.AsyncFiles(self)
        self.links = resources.AsyncLinks(self)
        self.events = resources.AsyncEvents(self)
        self.webhooks = resources.AsyncWebhooks(self)
        self.audit = resources.AsyncAudit(self)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await self._http.aclose()

    async def _send(self, call: Call[Any], *, stream: bool) -> httpx2.Response:
        attempts = Attempts(self._retry, call)
        while True:
            try:
                response = await self._http.send(self._build(self._http, call), stream=True)
                # A streamed download's body is read by its sink; a problem document is
                # small, and says whether to try again.
                if not stream or response.status_code >= 400:
                    await self._read(response)
            except httpx2.TransportError as exc:
                await self._sleep(attempts.after_error(exc))
                continue
            if (wait := attempts.after_response(response)) is None:
                break
            await response.aclose()
            await self._sleep(wait)
        raise_for_status(response)
        return response

    @staticmethod
    async def _read(response: httpx2.Response) -> None:
        try:
            await response.aread()
        finally:
            await response.aclose()

    async def request(self, call: Call[T]) -> T:
        return call.parse(await self._send(call, stream=False))

    async def download(
        self, call: Call[Any], destination: Destination, progress: Progress | None = None
    ) -> int:
        response = await self._send(call, stream=True)
        try:
            with Sink(destination, response.headers, progress) as sink:
                async for chunk in response.aiter_bytes():
                    sink.write(chunk)
            return sink.written
        finally:
            await response.aclose()

    def paginate(self, call: Call[Page[T]]) -> AsyncPaginator[T]:
        return AsyncPaginator(self.request, call)
