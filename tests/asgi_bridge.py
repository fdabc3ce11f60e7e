"""A synchronous HTTP transport into an ASGI application that runs on an event loop of its own,
in a background thread: the test thread sends and reads as a client over loopback would,
while the application serves on its loop.

Both bodies stream through: the request body is pulled from the client's iterator as the
application reads it, and response chunks cross a small bounded queue, so a 128 MiB upload
or download never sits whole in memory. What uvicorn does at the edges is kept where route-level
tests can see it: an application that fails before answering gives a plain 500, one that fails
mid-body cuts the response short (the client sees a protocol error), ``http.disconnect``
arrives once the response is complete or the client has closed it, and a failure is logged as
"Exception in ASGI application" on ``uvicorn.error``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import logging
import threading
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Iterable,
    Iterator,
    MutableMapping,
)
from typing import Any, TypeVar

import httpx
import httpx2

T = TypeVar("T")
Message = MutableMapping[str, Any]
Headers = list[tuple[bytes, bytes]]
ASGIApp = Callable[
    [Message, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]],
    Awaitable[None],
]

# How many response chunks may wait for the client: enough to keep the application busy
# while the client reads, few enough that a large download stays streamed.
RESPONSE_CHUNKS_AHEAD = 8
_client_ports = itertools.count(40000)
_uvicorn_log = logging.getLogger("uvicorn.error")


class LoopThread:
    """An event loop running in a daemon thread named ``name`` (its blocking helpers run in
    threads named after it too, so that log records can be told apart by thread)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.loop = asyncio.new_event_loop()
        self.loop.set_default_executor(
            concurrent.futures.ThreadPoolExecutor(thread_name_prefix=f"{name}-io")
        )
        self.thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self.thread.start()

    def submit(self, work: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(work, self.loop)

    def run(self, work: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        return self.submit(work).result(timeout)

    def call(self, callback: Callable[[], object]) -> None:
        self.loop.call_soon_threadsafe(callback)

    def close(self) -> None:
        self.run(self.loop.shutdown_default_executor(), timeout=60)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=60)
        self.loop.close()


class Exchange:
    """One request and its response, between the client's thread and the application's loop."""

    def __init__(
        self,
        runner: LoopThread,
        app: ASGIApp,
        request: httpx2.Request | httpx.Request,
        body: Iterable[bytes],
        timeout: float | None,
    ) -> None:
        self.runner = runner
        self.timeout = timeout
        self.head = request.method == "HEAD"
        self.body: Iterator[bytes] | None = iter(body)
        self.started = False
        self.complete = False
        self.gone = False
        # Made here, used on the loop only (asyncio binds them to a loop on first use).
        self.queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue(RESPONSE_CHUNKS_AHEAD)
        # Set when the response is complete or the client has let go of it.
        self.finished = asyncio.Event()
        url = request.url
        self.scope: Message = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "server": (url.host, url.port or 80),
            "client": ("127.0.0.1", next(_client_ports)),
            "scheme": url.scheme,
            "method": request.method,
            "root_path": "",
            "path": url.path,
            "raw_path": url.raw_path.split(b"?")[0],
            "query_string": url.query,
            "headers": [(k.lower(), v) for k, v in request.headers.raw],
            "state": {},
        }
        self.task = runner.submit(self._serve(app))

    # ------------------------------------------------------------------ application side

    async def _serve(self, app: ASGIApp) -> None:
        try:
            await app(self.scope, self._receive, self._send)
        except Exception:
            _uvicorn_log.exception("Exception in ASGI application")
            if not self.started:
                await self._answer_500()
            elif not self.complete:
                await self._emit("cut", None)
            return
        if not self.started:
            _uvicorn_log.error("ASGI callable returned without starting response.")
            await self._answer_500()
        elif not self.complete:
            _uvicorn_log.error("ASGI callable returned without completing response.")
            await self._emit("cut", None)

    async def _receive(self) -> Message:
        if self.body is not None:
            loop = asyncio.get_running_loop()
            chunk = await loop.run_in_executor(None, next, self.body, None)
            if chunk is not None:
                return {"type": "http.request", "body": bytes(chunk), "more_body": True}
            self.body = None
            return {"type": "http.request", "body": b"", "more_body": False}
        await self.finished.wait()
        return {"type": "http.disconnect"}

    async def _send(self, message: Message) -> None:
        if self.gone:
            return  # as uvicorn: what is sent after the client has gone is dropped
        if message["type"] == "http.response.start":
            self.started = True
            await self._emit("start", (message["status"], message.get("headers", [])))
        elif message["type"] == "http.response.body":
            body = message.get("body", b"")
            if body and not self.head:
                await self._emit("data", bytes(body))
            if not message.get("more_body", False):
                self.complete = True
                # The end is queued before the application hears of the client leaving:
                # Starlette's StreamingResponse cancels its sender once a disconnect arrives,
                # which would drop an "end" still waiting for room in a full queue.
                await self._emit("end", None)
                self.finished.set()

    async def _answer_500(self) -> None:
        self.started = self.complete = True
        self.finished.set()
        text = b"Internal Server Error"
        headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"21")]
        await self._emit("start", (500, headers))
        await self._emit("data", text)
        await self._emit("end", None)

    async def _emit(self, kind: str, value: Any) -> None:
        if not self.gone:
            await self.queue.put((kind, value))

    def _let_go(self) -> None:
        """The client closed the response: the application sees a disconnect, and a send
        blocked on the full queue is released."""
        self.gone = True
        self.finished.set()
        while not self.queue.empty():
            self.queue.get_nowait()

    # ------------------------------------------------------------------ client side

    def next_message(self) -> tuple[str, Any]:
        waiting = self.runner.submit(self.queue.get())
        try:
            return waiting.result(self.timeout)
        except concurrent.futures.TimeoutError:
            waiting.cancel()
            raise httpx2.ReadTimeout("no response from the application in time") from None

    def close(self) -> None:
        self.runner.call(self._let_go)


class _ResponseBody(httpx2.SyncByteStream):
    def __init__(self, exchange: Exchange) -> None:
        self.exchange = exchange

    def __iter__(self) -> Iterator[bytes]:
        while True:
            kind, value = self.exchange.next_message()
            if kind == "data":
                yield value
            elif kind == "end":
                return
            else:
                raise httpx2.RemoteProtocolError("the response ended before its body did")

    def close(self) -> None:
        self.exchange.close()


class _Bound:
    """A transport into ``app`` on the runner's loop."""

    def __init__(self, runner: LoopThread, app: ASGIApp) -> None:
        self.runner = runner
        self.app = app


class ASGIBridge(_Bound, httpx2.BaseTransport):
    """``httpx2.Client(transport=ASGIBridge(runner, app))``: requests go to ``app`` on the
    runner's loop."""

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        assert isinstance(request.stream, httpx2.SyncByteStream)
        timeout = request.extensions.get("timeout", {}).get("read")
        exchange = Exchange(self.runner, self.app, request, request.stream, timeout)
        status, headers = _started(exchange)
        return httpx2.Response(
            status,
            headers=headers,
            stream=_ResponseBody(exchange),
            extensions={"http_version": b"HTTP/1.1"},
        )


# KYC Genie's SDK takes an ``httpx`` client (the package httpx2 was forked from): the same
# exchange behind that package's transport interfaces.


class _HttpxBody(httpx.SyncByteStream):
    def __init__(self, exchange: Exchange) -> None:
        self.body = _ResponseBody(exchange)

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self.body
        except httpx2.RemoteProtocolError as exc:
            raise httpx.RemoteProtocolError(str(exc)) from None

    def close(self) -> None:
        self.body.close()


class HttpxBridge(_Bound, httpx.BaseTransport):
    """``httpx.Client(transport=HttpxBridge(runner, app))``."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.SyncByteStream)
        timeout = request.extensions.get("timeout", {}).get("read")
        exchange = Exchange(self.runner, self.app, request, request.stream, timeout)
        status, headers = _started(exchange)
        return httpx.Response(status, headers=headers, stream=_HttpxBody(exchange))


class _HttpxAsyncBody(httpx.AsyncByteStream):
    def __init__(self, exchange: Exchange) -> None:
        self.chunks = iter(_HttpxBody(exchange))
        self.exchange = exchange

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while (chunk := await asyncio.to_thread(next, self.chunks, None)) is not None:
            yield chunk

    async def aclose(self) -> None:
        self.exchange.close()


class HttpxAsyncBridge(_Bound, httpx.AsyncBaseTransport):
    """``httpx.AsyncClient(transport=HttpxAsyncBridge(runner, app))``: the client's own loop
    waits for the application's in worker threads (its request body is read first)."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        timeout = request.extensions.get("timeout", {}).get("read")
        exchange = Exchange(self.runner, self.app, request, [body] if body else [], timeout)
        status, headers = await asyncio.to_thread(_started, exchange)
        return httpx.Response(status, headers=headers, stream=_HttpxAsyncBody(exchange))


def _started(exchange: Exchange) -> tuple[int, Headers]:
    kind, value = exchange.next_message()
    assert kind == "start", kind
    status, headers = value
    return int(status), list(headers)
