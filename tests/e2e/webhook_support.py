"""A webhook receiver on loopback for the tests: a small threaded HTTP server that keeps
every request it gets and answers as the test scripts it (a status per request, or a hold
until released), and the settings a server needs to deliver to it."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx2
from standardwebhooks import Webhook

# What a server needs to deliver to a receiver on loopback, over plain http, quickly.
SERVER_ENV = {
    "KYCVAULT_WEBHOOK_ALLOW_PRIVATE": "1",
    "KYCVAULT_WEBHOOK_ALLOWED_HTTP_HOSTS": "127.0.0.1",
    "KYCVAULT_WEBHOOK_RETRY_SCHEDULE": "0.2s,0.2s",
    "KYCVAULT_IN_PROCESS_WORKER": "true",
    "KYCVAULT_WORKER_POLL_SECONDS": "0.1",
}


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int

    @property
    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@dataclass
class Receiver:
    """Answers each request with the next of ``statuses`` (then ``default``)."""

    port: int = 0
    statuses: list[int] = field(default_factory=list)
    default: int = 200
    received: list[Received] = field(default_factory=list)
    # Requests that reached the receiver, answered yet or not.
    arrived: int = 0
    # Cleared: requests wait (the sender sees no answer) until it is set again.
    open: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.open.set()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def answer(self, path: str, headers: dict[str, str], body: bytes) -> int:
        with self.lock:
            self.arrived += 1
        self.open.wait(30)
        with self.lock:
            status = self.statuses.pop(0) if self.statuses else self.default
            self.received.append(Received(path, headers, body, status))
        return status

    def delivered(self, path: str | None = None) -> list[Received]:
        with self.lock:
            return [
                r
                for r in self.received
                if 200 <= r.status < 300 and (path is None or r.path == path)
            ]

    def wait_for(
        self, check: Callable[[], bool], timeout: float = 15.0, what: str = "deliveries"
    ) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}: {self.received}")
            time.sleep(0.05)


@contextmanager
def receiving(receiver: Receiver | None = None) -> Iterator[Receiver]:
    """A receiver listening on loopback until the block ends."""
    found = receiver or Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            status = found.answer(self.path, headers, body)
            try:
                self.send_response(status)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
            except OSError:  # the sender is gone (a killed server)
                pass

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", found.port), Handler)
    server.daemon_threads = True
    found.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield found
    finally:
        found.open.set()
        server.shutdown()
        server.server_close()


def verify(secret: str, received: Received) -> dict[str, Any]:
    """The event, once the official Standard Webhooks library accepted its signature."""
    verified: dict[str, Any] = Webhook(secret).verify(received.body, received.headers)
    return verified


def subscribe(client: httpx2.Client, url: str, events: list[str] | None = None) -> dict[str, Any]:
    made = client.post("/v1/webhook-endpoints", json={"url": url, "events": events or ["*"]})
    assert made.status_code == 201, made.text
    endpoint: dict[str, Any] = made.json()
    return endpoint


def attempts(
    client: httpx2.Client, endpoint_id: str, *, at_least: int = 0, timeout: float = 30.0
) -> list[dict[str, Any]]:
    """The endpoint's delivery attempts, newest first; with ``at_least``, once that many are
    recorded (a receiver sees a delivery a moment before the worker records its answer)."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(
            f"/v1/webhook-endpoints/{endpoint_id}/deliveries", params={"limit": 100}
        )
        assert response.status_code == 200, response.text
        found: list[dict[str, Any]] = response.json()["data"]
        if len(found) >= at_least or time.monotonic() > deadline:
            return found
        time.sleep(0.05)
