"""W1-W2: what webhooks cost an upload, and how soon a committed change reaches a receiver.

A server of its own (embedded default, its in-process worker delivering) and three receivers
on loopback in this process. W1 alternates uploads of one tenant with no endpoint and of
another whose every event goes to three endpoints (processing off for both, so only the
events and their deliveries differ); the deliveries run in the same process as the uploads,
so their CPU is in the figure. W2 makes one change at a time on an otherwise idle server and
times each receiver's arrival from the moment the API answered (the change had committed).
"""

from __future__ import annotations

import http.client
import json
import random
import subprocess
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from harness import PYTHON, Row, Server, percentile, start_kycvault

WEBHOOK_ENV = {
    "KYCVAULT_WEBHOOK_ALLOW_PRIVATE": "1",
    "KYCVAULT_WEBHOOK_ALLOWED_HTTP_HOSTS": "127.0.0.1",
    "KYCVAULT_IN_PROCESS_WORKER": "true",
}
RECEIVERS = 3


class Receivers:
    """``RECEIVERS`` HTTP receivers answering 204; the arrival time of each (event id,
    receiver)."""

    def __init__(self) -> None:
        self.arrivals: dict[tuple[str, int], float] = {}
        self.count = 0
        self.lock = threading.Lock()
        self.servers: list[ThreadingHTTPServer] = []
        for index in range(RECEIVERS):
            self.servers.append(self._start(index))

    def _start(self, index: int) -> ThreadingHTTPServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                arrived = time.monotonic()
                subject = json.loads(body)["data"].get("subject_id")
                with owner.lock:
                    owner.arrivals.setdefault((str(subject), index), arrived)
                    owner.count += 1
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server

    def urls(self) -> list[str]:
        return [f"http://127.0.0.1:{s.server_address[1]}/hook" for s in self.servers]

    def wait(self, subject: str, timeout: float = 30) -> list[float]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                got = [self.arrivals.get((subject, i)) for i in range(RECEIVERS)]
            if all(t is not None for t in got):
                return [t for t in got if t is not None]
            time.sleep(0.002)
        raise RuntimeError(f"the event of subject {subject} did not reach every receiver")

    def settle(self, quiet: float = 2.0, timeout: float = 300) -> None:
        """Wait until nothing has arrived for ``quiet`` seconds (the queue is drained)."""
        deadline = time.monotonic() + timeout
        last, since = -1, time.monotonic()
        while time.monotonic() < deadline:
            if self.count != last:
                last, since = self.count, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return
            time.sleep(0.05)

    def close(self) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()


class Client:
    """One keep-alive connection with a tenant's key."""

    def __init__(self, server: Server, api_key: str) -> None:
        host, port = server.url.removeprefix("http://").split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=60)
        self.auth = {"Authorization": f"Bearer {api_key}"}

    def send(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        self.conn.request(method, path, body=body, headers={**self.auth, **(headers or {})})
        response = self.conn.getresponse()
        return response.status, response.read()

    def json(self, method: str, path: str, value: Any) -> Any:
        status, body = self.send(
            method, path, json.dumps(value).encode(), {"Content-Type": "application/json"}
        )
        if status >= 300:
            raise RuntimeError(f"{method} {path} answered {status}: {body[:200]!r}")
        return json.loads(body)


def _multipart(data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="type"\r\n\r\nbank_statement\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="statement.pdf"\r\nContent-Type: application/pdf\r\n\r\n'
    ).encode()
    return head + data + f"\r\n--{boundary}--\r\n".encode(), boundary


def _new_tenant(server: Server, name: str) -> str:
    made = subprocess.run(
        [PYTHON, "-m", "kycvault", "tenant", "create", name, "--json"],
        env=server.extra["env"],
        cwd=server.extra["data_dir"].parent,
        capture_output=True,
        text=True,
        check=True,
    )
    api_key: str = json.loads(made.stdout)["api_key"]
    return api_key


def _quiet(client: Client) -> None:
    """No processing: the uploads differ only by their events' deliveries."""
    off = {"classification": False, "ocr": False, "authenticity": False}
    client.json("PATCH", "/v1/settings/processing", off)


def w1_w2(workdir: Path, small: Path, pairs: int, lags: int) -> list[Row]:
    server = start_kycvault(workdir, "webhooks", WEBHOOK_ENV)
    receivers = Receivers()
    try:
        plain = Client(server, server.extra["api_key"])
        hooked = Client(server, _new_tenant(server, "hooked"))
        for client in (plain, hooked):
            _quiet(client)
        for url in receivers.urls():
            hooked.json("POST", "/v1/webhook-endpoints", {"url": url, "events": ["*"]})
        return [_w1(plain, hooked, small, pairs), _w2(hooked, receivers, lags)]
    finally:
        receivers.close()
        server.stop()


def _w1(plain: Client, hooked: Client, small: Path, pairs: int) -> Row:
    body, boundary = _multipart(small.read_bytes())
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    times: dict[str, list[float]] = {"plain": [], "hooked": []}
    for pair in range(pairs + 5):
        order = [("plain", plain), ("hooked", hooked)]
        if pair % 2:
            order.reverse()
        for name, client in order:
            started = time.perf_counter()
            status, answer = client.send("POST", "/v1/documents", body, headers)
            elapsed = time.perf_counter() - started
            if status != 201:
                raise RuntimeError(f"upload answered {status}: {answer[:200]!r}")
            if pair >= 5:  # five warm-up pairs
                times[name].append(elapsed * 1000)
    base, hooked_ms = (percentile(times[k], 0.5) for k in ("plain", "hooked"))
    added = hooked_ms / base - 1
    return Row(
        "W1",
        f"{small.stat().st_size // 1024} KiB upload, median latency with {RECEIVERS} webhook "
        f"endpoints subscribed vs none, {pairs} pairs",
        f"{hooked_ms:.1f} vs {base:.1f} ms = {added * 100:+.1f} %",
        "<= +5 %",
        added <= 0.05,
    )


def _w2(hooked: Client, receivers: Receivers, count: int) -> Row:
    receivers.settle()  # W1's deliveries are done: the server is idle
    lags: list[float] = []
    rng = random.Random(2)
    for n in range(count):
        made = hooked.json("POST", "/v1/subjects", {"external_id": f"lag-{n}"})
        committed = time.monotonic()
        lags += [(t - committed) * 1000 for t in receivers.wait(made["id"])]
        time.sleep(rng.uniform(0.05, 0.3))  # idle between changes, out of step with polling
    p50, p99 = percentile(lags, 0.5), percentile(lags, 0.99)
    return Row(
        "W2",
        f"delivery lag from commit to receiver, idle server, {count} events x {RECEIVERS} "
        "receivers",
        f"p50 {p50:.0f} ms, p99 {p99:.0f} ms",
        "p99 < 1000 ms",
        p99 < 1000,
    )
