"""The HTTP/1.1 connection: uvicorn's httptools protocol with the limits it lacks.

uvicorn bounds neither the request head (request line and headers: httptools keeps a header
being read in memory however long it grows) nor the time a client may take to send the head
or the body; its only timer is the keep-alive wait after a response. This subclass adds, on
each connection:

- a cap on the request head: at most ``max_header_bytes`` of it ever reach the parser; past
  that the client gets 431 and the connection is closed;
- a head deadline: the head must be complete ``header_timeout`` seconds after the
  connection opened (or after its first byte, on a kept-alive connection), else 408 and
  close (a connection that sent nothing at all is just closed);
- a body timeout: no body byte for ``body_idle_timeout`` seconds, or fewer than
  ``body_min_rate`` bytes a second on average over such a period, and the request sees a
  disconnect (an upload is then discarded exactly as when the client goes away), the client
  gets 408 if no response has started, and the connection is closed. Time during which the
  client waits for us (the server stopped reading under flow control, or has not yet sent
  ``100 Continue``) never counts;
- a send timeout: a client that reads nothing of a response for ``body_idle_timeout``
  seconds while the server has more to send is cut off (the response's task sees a
  disconnect rather than waiting for ever);
- a per-process connection cap: a connection beyond ``max_connections`` gets a fixed 503
  and is closed without being read, so the process never holds more than the cap.

The keep-alive timeout is uvicorn's own ``timeout_keep_alive``. The hot path (body bytes)
costs one clock read per chunk: timers are only re-armed when they fire.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, partial
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, cast

import structlog
from uvicorn.config import Config
from uvicorn.protocols.http.flow_control import FlowControl
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

if TYPE_CHECKING:
    # Not at run time: worker processes unpickle this module's protocol class before they
    # can answer uvicorn's start-up check, so it stays light.
    from kycvault.config import Settings

log = structlog.get_logger("kycvault.http")

# How long a connection answered with 408/431 keeps reading (and discarding) before it is
# closed, so that the client sees the answer rather than a reset caused by its own unread
# bytes (what nginx calls a lingering close).
LINGER_SECONDS = 2.0


@dataclass(frozen=True)
class ProtocolLimits:
    max_header_bytes: int
    header_timeout: float
    body_idle_timeout: float
    body_min_rate: int
    max_connections: int
    linger_seconds: float = LINGER_SECONDS

    @classmethod
    def from_settings(cls, settings: Settings) -> ProtocolLimits:
        return cls(
            max_header_bytes=settings.max_header_bytes,
            header_timeout=settings.header_timeout_seconds,
            body_idle_timeout=settings.body_idle_timeout_seconds,
            body_min_rate=settings.body_min_bytes_per_second,
            max_connections=settings.max_connections,
        )


def protocol_class(limits: ProtocolLimits) -> type[asyncio.Protocol]:
    """What to give ``uvicorn.run(http=...)``. A partial of a module-level class, so that it
    pickles into the worker processes of ``--workers N``."""
    return cast(type[asyncio.Protocol], partial(LimitedHttpToolsProtocol, limits=limits))


def _answer(status: int, code: str, detail: str, extra: bytes = b"") -> bytes:
    """A complete problem+json response that closes the connection (no request id: these
    answers are given before, or instead of, the application)."""
    phrase = HTTPStatus(status).phrase
    body = json.dumps(
        {
            "type": f"urn:kycvault:problem:{code}",
            "title": phrase,
            "status": status,
            "detail": detail,
            "code": code,
        },
        separators=(",", ":"),
    ).encode()
    return (
        f"HTTP/1.1 {status} {phrase}\r\n".encode()
        + b"content-type: application/problem+json\r\n"
        + b"cache-control: no-store\r\n"
        + b"x-content-type-options: nosniff\r\n"
        + extra
        + f"content-length: {len(body)}\r\n".encode()
        + b"connection: close\r\n\r\n"
        + body
    )


class _Flow(FlowControl):
    """uvicorn's flow control, telling the protocol when reading resumes: time the server
    spent not reading must not count against the client."""

    def __init__(self, transport: asyncio.Transport, on_resume: Callable[[], None]) -> None:
        super().__init__(transport)
        self._on_resume = on_resume

    def resume_reading(self) -> None:
        if self.read_paused:
            self._on_resume()
        super().resume_reading()


class _Refusals:
    """Connections refused over the cap, logged at most once a second (a flood must not
    become a log flood)."""

    count = 0
    logged_at = 0.0

    @classmethod
    def note(cls, cap: int) -> None:
        cls.count += 1
        now = time.monotonic()
        if now - cls.logged_at >= 1.0:
            log.warning("connections_over_limit", max_connections=cap, refused=cls.count)
            cls.logged_at = now
            cls.count = 0


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        limits: ProtocolLimits,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = limits
        self._too_large = _too_large(limits.max_header_bytes)
        # Reading a request head (or waiting for one) rather than a body.
        self._in_head = True
        self._head_bytes = 0
        self._heads = 0
        self._head_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        # When the last body byte arrived, and the bytes since the current rate window began.
        self._body_seen = 0.0
        self._window_start = 0.0
        self._window_bytes = 0
        # Since when the client has let our response back up (None: it reads).
        self._send_blocked: float | None = None
        self._send_timer: asyncio.TimerHandle | None = None
        self._linger_timer: asyncio.TimerHandle | None = None
        # Answered with a limit error (or refused): input is discarded from then on.
        self._done = False

    # Connection

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        if len(self.connections) >= self.limits.max_connections:
            self._done = True
            self.transport = transport
            transport.write(_OVERLOADED)
            transport.close()
            _Refusals.note(self.limits.max_connections)
            return
        super().connection_made(transport)
        self.flow = _Flow(transport, self._restart_body_clock)
        self._head_timer = self.loop.call_later(self.limits.header_timeout, self._head_expired)

    def connection_lost(self, exc: Exception | None) -> None:
        for timer in (self._head_timer, self._body_timer, self._send_timer, self._linger_timer):
            if timer is not None:
                timer.cancel()
        self._head_timer = self._body_timer = self._send_timer = self._linger_timer = None
        super().connection_lost(exc)

    def pause_writing(self) -> None:
        super().pause_writing()
        self._send_blocked = self.loop.time()
        if self._send_timer is None:
            self._send_timer = self.loop.call_later(self.limits.body_idle_timeout, self._send_check)

    def resume_writing(self) -> None:
        # The timer, if any, stays: it finds nothing blocked when it fires.
        self._send_blocked = None
        super().resume_writing()

    def data_received(self, data: bytes) -> None:
        if self._done:
            return
        if not self._in_head:
            # The hot path: body bytes.
            self._body_seen = self.loop.time()
            self._window_bytes += len(data)
            super().data_received(data)
        else:
            if self._head_timer is None:
                self._head_timer = self.loop.call_later(
                    self.limits.header_timeout, self._head_expired
                )
            # Feed the parser no more of a head than the cap allows. A head that starts in
            # the same read as the end of the previous request's body is counted from the
            # next read on, so a head is bounded by the cap plus one read.
            while self._in_head and len(data) > self.limits.max_header_bytes - self._head_bytes:
                room = self.limits.max_header_bytes - self._head_bytes
                heads = self._heads
                piece, data = data[:room], data[room:]
                self._head_bytes += len(piece)
                if piece:
                    super().data_received(piece)
                    if self._done or self.transport.is_closing():
                        return
                if self._in_head and self._heads == heads:
                    self._refuse(self._too_large, "request_header_too_large")
                    return
            if not data:
                return
            if self._in_head:
                self._head_bytes += len(data)
            else:
                self._body_seen = self.loop.time()
                self._window_bytes += len(data)
            super().data_received(data)
        if not self._in_head and self._body_timer is None and not self._done:
            self._body_timer = self.loop.call_later(self.limits.body_idle_timeout, self._body_check)

    # Parser callbacks

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._heads += 1
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        self._restart_body_clock()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head = True
        self._head_bytes = 0
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None
        cycle = self.cycle
        if (
            cycle is not None
            and cycle.response_complete
            and not self.pipeline
            and self.timeout_keep_alive_task is None
            and not self.transport.is_closing()
        ):
            # The response went out before the body ended (an early refusal): the
            # keep-alive wait uvicorn armed then was cancelled by the body's bytes.
            self.timeout_keep_alive_task = self.loop.call_later(
                self.timeout_keep_alive, self.timeout_keep_alive_handler
            )

    # Timers

    def _head_expired(self) -> None:
        self._head_timer = None
        if self._done or not self._in_head:
            return
        if self.cycle is not None and not self.cycle.response_complete:
            # A pipelined head while the previous request is still being answered: the
            # client waits for us, not we for it.
            self._head_timer = self.loop.call_later(self.limits.header_timeout, self._head_expired)
            return
        if self._head_bytes == 0:
            self._done = True
            self.transport.close()
            return
        self._refuse(_HEAD_TIMEOUT, "request_header_timeout")

    def _send_check(self) -> None:
        self._send_timer = None
        if self._send_blocked is None or self.transport.is_closing():
            return
        left = self._send_blocked + self.limits.body_idle_timeout - self.loop.time()
        if left > 0:
            self._send_timer = self.loop.call_later(left, self._send_check)
            return
        log.info("response_send_timeout", client=_address(self.client))
        self._done = True
        # Nothing more can reach this client: drop what is buffered and close now.
        self.transport.abort()

    def _restart_body_clock(self) -> None:
        now = self.loop.time()
        self._body_seen = self._window_start = now
        self._window_bytes = 0

    def _body_check(self) -> None:
        self._body_timer = None
        if self._done or self._in_head:
            return
        timeout = self.limits.body_idle_timeout
        if self.flow.read_paused or self.cycle.waiting_for_100_continue:
            # The client waits for us; its clock starts again when we read.
            self._restart_body_clock()
            self._body_timer = self.loop.call_later(timeout, self._body_check)
            return
        now = self.loop.time()
        idle_until = max(self._body_seen, self._window_start) + timeout
        if now >= idle_until:
            self._body_refused(_BODY_TIMEOUT, "request_body_timeout")
            return
        window_end = self._window_start + timeout
        if now >= window_end:
            if self._window_bytes < self.limits.body_min_rate * (now - self._window_start):
                self._body_refused(_BODY_TOO_SLOW, "request_body_too_slow")
                return
            self._window_start, self._window_bytes = now, 0
            window_end = now + timeout
        self._body_timer = self.loop.call_later(min(idle_until, window_end) - now, self._body_check)

    def _body_refused(self, answer: bytes, event: str) -> None:
        started = self.cycle is not None and self.cycle.response_started
        self._refuse(None if started else answer, event)

    def _refuse(self, answer: bytes | None, event: str) -> None:
        """Answer (when no response is under way), tell the running request its client is
        gone, and close after a short linger that discards whatever else arrives."""
        self._done = True
        for timer in (self._head_timer, self._body_timer):
            if timer is not None:
                timer.cancel()
        self._head_timer = self._body_timer = None
        self._unset_keepalive_if_required()
        log.info(event, client=_address(self.client))
        cycle = self.cycle
        in_flight = cycle is not None and not cycle.response_complete
        if answer is not None and not (in_flight and cycle.response_started):
            self.transport.write(answer)
        if in_flight:
            cycle.disconnected = True
            cycle.message_event.set()
        self.flow.resume_reading()
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self._linger_timer = self.loop.call_later(self.limits.linger_seconds, self.transport.abort)


@cache
def _too_large(limit: int) -> bytes:
    return _answer(
        431, "header_too_large", f"the request line and headers are longer than {limit} bytes"
    )


def _address(client: tuple[str, int] | None) -> str | None:
    return f"{client[0]}:{client[1]}" if client else None


_HEAD_TIMEOUT = _answer(408, "request_timeout", "the request headers took too long to arrive")
_BODY_TIMEOUT = _answer(408, "request_timeout", "the request body stopped arriving")
_BODY_TOO_SLOW = _answer(408, "request_timeout", "the request body is arriving too slowly")
_OVERLOADED = _answer(
    503, "overloaded", "too many connections; try again shortly", b"retry-after: 1\r\n"
)
