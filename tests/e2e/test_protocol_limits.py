"""The HTTP protocol layer holds against slow, idle and oversized clients (README, "The HTTP
protocol layer"): a request head is capped (431) and must arrive in time (408), a body that
stops or trickles is abandoned (408, its staged upload discarded), idle and kept-alive
connections are closed, and a process holds at most its connection cap (503 beyond).

Real server processes on loopback, with the timeouts shortened so that each test takes
seconds. Every client loop here is bounded in count and time.
"""

from __future__ import annotations

import contextlib
import json
import select
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx2
import psutil
import pytest

from kycvault.api.protocol import LINGER_SECONDS
from tests.e2e.uploads_support import (
    assert_staging_empty,
    document_ids,
    pdf_part,
    staging_files,
)
from tests.helpers import (
    MiB,
    Part,
    Server,
    multipart,
    peak_rss_reset,
    post_multipart,
    rss_kib,
    server_on,
    zeros,
)

HEADER_TIMEOUT = 3.0
BODY_TIMEOUT = 3.0
KEEPALIVE = 1
MAX_HEADER = 16 * 1024
MIN_RATE = 512
CAP = 260
LIMITS = {
    "KYCVAULT_MAX_HEADER_BYTES": str(MAX_HEADER),
    "KYCVAULT_HEADER_TIMEOUT_SECONDS": str(HEADER_TIMEOUT),
    "KYCVAULT_BODY_IDLE_TIMEOUT_SECONDS": str(BODY_TIMEOUT),
    "KYCVAULT_BODY_MIN_BYTES_PER_SECOND": str(MIN_RATE),
    "KYCVAULT_KEEPALIVE_TIMEOUT_SECONDS": str(KEEPALIVE),
    "KYCVAULT_MAX_CONNECTIONS": str(CAP),
}
# A timeout must not fire early; it may fire late by this much on a loaded machine.
LATE = 3.0
GIVE_UP = HEADER_TIMEOUT + LINGER_SECONDS + 15

HEALTHZ = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
HEALTHZ_ONCE = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The protocol layer does not depend on the backend pair: the embedded one serves."""
    srv = Server(tmp_path_factory.mktemp("protocol"), env_extra=LIMITS).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def limited_on_backend(tmp_path_factory: pytest.TempPathFactory, backend: str) -> Iterator[Server]:
    """For what does depend on it: discarding a staged upload."""
    with server_on(tmp_path_factory.mktemp(f"protocol-{backend}"), backend, **LIMITS) as srv:
        yield srv


# --------------------------------------------------------------------------- raw clients


def connect(server: Server) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=10)


def read_to_close(sock: socket.socket, timeout: float = GIVE_UP) -> tuple[bytes, bool]:
    """Everything the server sends until it closes: (bytes, closed). ``closed`` is False if
    the connection was still open after ``timeout`` seconds."""
    data = b""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        readable, _, _ = select.select([sock], [], [], left)
        if not readable:
            continue
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return data, True
        if not chunk:
            return data, True
        data += chunk
    return data, False


def status_of(answer: bytes) -> int | None:
    if not answer.startswith(b"HTTP/1.1 "):
        return None
    return int(answer[9:12])


def problem_of(answer: bytes) -> dict[str, Any]:
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"content-type: application/problem+json" in head.lower(), head
    parsed: dict[str, Any] = json.loads(body)
    return parsed


def exchange(server: Server, request: bytes) -> bytes:
    """Send one request with ``Connection: close`` semantics left to the server; return what
    came back before the server closed or 5 s passed."""
    with connect(server) as sock:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(request)
        return read_to_close(sock, timeout=5)[0]


def trickle(port: int, head: bytes, drip: bytes, interval: float = 0.1) -> tuple[bytes, float]:
    """Send ``head``, then one byte of ``drip`` (over and over) every ``interval`` seconds,
    reading whatever comes back, until the server closes: (answer, seconds until the
    answer or the close). Gives up after GIVE_UP seconds."""
    started = time.monotonic()
    answer = b""
    answered_at: float | None = None
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head)
        sending = True
        position = 0
        while time.monotonic() - started < GIVE_UP:
            readable, _, _ = select.select([sock], [], [], interval)
            if readable:
                try:
                    chunk = sock.recv(65536)
                except ConnectionResetError:
                    chunk = b""
                if not chunk:
                    break
                answer += chunk
                answered_at = answered_at or time.monotonic()
                sending = False
            elif sending:
                try:
                    sock.sendall(drip[position % len(drip) : position % len(drip) + 1])
                except (BrokenPipeError, ConnectionResetError):
                    sending = False
                position += 1
        else:
            pytest.fail(f"still open after {GIVE_UP} s")
    return answer, (answered_at or time.monotonic()) - started


def is_open(sock: socket.socket) -> bool:
    """Open, with nothing to read (not answered, not closed)."""
    readable, _, _ = select.select([sock], [], [], 0)
    return not readable


def wait_closed(sockets: list[socket.socket], deadline: float) -> list[socket.socket]:
    """The sockets of ``sockets`` the server has not closed by ``deadline``."""
    pending = list(sockets)
    while pending and time.monotonic() < deadline:
        readable, _, _ = select.select(pending, [], [], 0.2)
        for sock in readable:
            try:
                data = sock.recv(4096)
            except ConnectionResetError:
                data = b""
            assert data == b"", f"an idle connection got an answer: {data[:80]!r}"
            pending.remove(sock)
    return pending


SLOW_HEAD = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
SLOW_HEAD_DRIP = b"X-Slow: 1\r\n"


def slow_body_head(length: int = 100_000) -> bytes:
    return (
        "POST /v1/subjects HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


# --------------------------------------------------------------------------- tests


def test_idle_and_slow_clients_neither_starve_others_nor_stay(limited: Server) -> None:
    """200 idle connections and 8 slowloris clients (4 trickling a head, 4 a body) are held
    while others are served within a second and the server's memory barely moves; past the
    timeouts the server has closed every one of them."""
    process = psutil.Process(limited.pid)
    rss_before = process.memory_info().rss
    opened = time.monotonic()
    idle = [connect(limited) for _ in range(200)]
    try:
        with ThreadPoolExecutor(8) as pool:
            heads = [
                pool.submit(trickle, limited.port, SLOW_HEAD, SLOW_HEAD_DRIP) for _ in range(4)
            ]
            bodies = [pool.submit(trickle, limited.port, slow_body_head(), b" ") for _ in range(4)]
            time.sleep(0.5)
            latencies = []
            with httpx2.Client(base_url=limited.url, timeout=5) as kept_alive:
                for _ in range(10):
                    started = time.perf_counter()
                    assert kept_alive.get("/healthz").status_code == 200
                    latencies.append(time.perf_counter() - started)
            for _ in range(10):
                started = time.perf_counter()
                assert httpx2.get(f"{limited.url}/healthz", timeout=5).status_code == 200
                latencies.append(time.perf_counter() - started)
            grown = process.memory_info().rss - rss_before
            held = time.monotonic() - opened
            still_open = sum(is_open(sock) for sock in idle)

            assert max(latencies) < 1.0, latencies
            assert grown < 50 * MiB, f"RSS grew by {grown / MiB:.1f} MiB"
            assert held < HEADER_TIMEOUT, "too slow to see the connections held"
            assert still_open == len(idle)

            head_results = [future.result() for future in heads]
            body_results = [future.result() for future in bodies]
        for answer, seconds in head_results:
            assert status_of(answer) == 408, answer[:200]
            assert HEADER_TIMEOUT - 0.5 <= seconds <= HEADER_TIMEOUT + LATE
        for answer, seconds in body_results:
            assert status_of(answer) == 408, answer[:200]
            assert problem_of(answer)["code"] == "request_timeout"
            assert BODY_TIMEOUT - 0.5 <= seconds <= BODY_TIMEOUT + LATE
        # Idle connections are closed at the header deadline, without an answer.
        left = wait_closed(idle, opened + HEADER_TIMEOUT + LATE)
        assert left == [], f"{len(left)} idle connections still open"
        assert time.monotonic() - opened >= HEADER_TIMEOUT - 0.5
    finally:
        for sock in idle:
            sock.close()
    assert httpx2.get(f"{limited.url}/healthz", timeout=5).status_code == 200


def test_oversized_head_is_431_and_never_buffered(limited: Server) -> None:
    pad = b"X-Pad: " + b"a" * (MAX_HEADER - 200) + b"\r\n"
    under = exchange(limited, HEALTHZ_ONCE[:-2] + pad + b"\r\n")
    assert status_of(under) == 200, under[:200]

    over = exchange(
        limited,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 2 * MAX_HEADER + b"\r\n\r\n",
    )
    assert status_of(over) == 431, over[:200]
    assert problem_of(over)["code"] == "header_too_large"

    many = exchange(
        limited,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: y\r\n" % n for n in range(5000)),
    )
    assert status_of(many) == 431, many[:200]

    # Eight clients each pushing a 64 MiB header that never ends (the probe's attack): the
    # server reads no more than the cap of each.
    def blast(_: int) -> int | None:
        with connect(limited) as sock:
            try:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ")
                chunk = b"a" * MiB
                for _ in range(64):
                    sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass
            return status_of(read_to_close(sock, timeout=10)[0])

    baseline = rss_kib(limited.pid, "VmRSS")
    peak_rss_reset(limited.pid)
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(blast, range(8)))
    grown_kib = rss_kib(limited.pid, "VmHWM") - baseline
    # 431, or a reset where the server's linger ended before the client stopped sending.
    assert set(statuses) <= {431, None}, statuses
    assert 431 in statuses
    assert grown_kib < 50 * 1024, f"peak RSS grew by {grown_kib / 1024:.1f} MiB"
    assert httpx2.get(f"{limited.url}/healthz", timeout=5).status_code == 200


def test_a_head_trickled_past_the_deadline_gets_408(limited: Server) -> None:
    answer, seconds = trickle(limited.port, SLOW_HEAD, SLOW_HEAD_DRIP)
    assert status_of(answer) == 408, answer[:200]
    assert problem_of(answer)["code"] == "request_timeout"
    assert HEADER_TIMEOUT - 0.5 <= seconds <= HEADER_TIMEOUT + LATE


def test_a_connection_that_sends_nothing_is_closed(limited: Server) -> None:
    started = time.monotonic()
    with connect(limited) as sock:
        answer, closed = read_to_close(sock)
    assert closed and answer == b""
    assert HEADER_TIMEOUT - 0.5 <= time.monotonic() - started <= HEADER_TIMEOUT + LATE


def test_an_idle_kept_alive_connection_is_closed(limited: Server) -> None:
    with connect(limited) as sock:
        sock.sendall(HEALTHZ)
        answer = b""
        while b'"status":"ok"' not in answer:
            chunk = sock.recv(65536)
            assert chunk, "closed before the response"
            answer += chunk
        assert status_of(answer) == 200
        answered = time.monotonic()
        rest, closed = read_to_close(sock)
    assert closed and rest == b""
    # The keep-alive timeout, well before the header deadline.
    assert KEEPALIVE - 0.5 <= time.monotonic() - answered <= KEEPALIVE + LATE


def test_a_trickled_body_gets_408_and_a_slow_honest_one_is_served(limited: Server) -> None:
    answer, seconds = trickle(limited.port, slow_body_head(), b" ")
    assert status_of(answer) == 408, answer[:200]
    assert problem_of(answer)["detail"] == "the request body is arriving too slowly"
    assert BODY_TIMEOUT - 0.5 <= seconds <= BODY_TIMEOUT + LATE

    # Pauses shorter than the idle timeout at an average above the minimum rate are fine.
    api_key = limited.create_tenant()["api_key"]
    body = json.dumps({"type": "individual", "external_id": "slow-1"}).encode()
    body = body[:-1] + b" " * 8000 + b"}"
    third = len(body) // 3 + 1
    with connect(limited) as sock:
        head = slow_body_head(len(body)).replace(
            b"\r\n\r\n", f"\r\nAuthorization: Bearer {api_key}\r\n\r\n".encode()
        )
        sock.sendall(head)
        for start in range(0, len(body), third):
            time.sleep(BODY_TIMEOUT / 3)
            sock.sendall(body[start : start + third])
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            assert chunk, "closed before the response"
            data += chunk
    assert status_of(data) == 201, data[:300]


def test_a_stalled_upload_is_abandoned_and_its_staging_discarded(
    limited_on_backend: Server,
) -> None:
    server = limited_on_backend
    tenant = server.create_tenant()
    content_type, body, length = multipart(
        [Part("type", b"bank_statement"), pdf_part("a", b"%PDF-1.7\n" + b"\x01" * (3 * MiB))]
    )
    payload = b"".join(body)
    head = (
        f"POST /v1/documents HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {tenant['api_key']}\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {length}\r\n\r\n"
    ).encode()
    with connect(server) as sock:
        # More than two cipher frames of the file, then nothing more.
        sock.sendall(head + payload[: int(2.5 * MiB)])
        stalled = time.monotonic()
        deadline = stalled + 10
        while not staging_files(server) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert staging_files(server), "the upload never reached the staging area"
        answer, closed = read_to_close(sock)
    assert closed
    assert status_of(answer) == 408, answer[:200]
    assert BODY_TIMEOUT - 0.5 <= time.monotonic() - stalled <= BODY_TIMEOUT + LATE
    assert_staging_empty(server)
    with server.client(tenant["api_key"]) as client:
        assert document_ids(client) == set()


def serves(server: Server, sock: socket.socket) -> bool:
    """Whether the server process still holds its end of ``sock`` open."""
    port = sock.getsockname()[1]
    return any(
        c.raddr and c.raddr.port == port and c.status == psutil.CONN_ESTABLISHED
        for c in psutil.Process(server.pid).net_connections("tcp")
    )


def test_a_client_that_stops_reading_a_download_is_cut_off(limited: Server) -> None:
    api_key = limited.create_tenant()["api_key"]
    size = 24 * MiB
    with limited.client(api_key) as client:
        created = post_multipart(
            client,
            "/v1/documents",
            [Part("type", b"bank_statement"), Part("file", zeros(size), "big.pdf", size=size)],
        )
    assert created.status_code == 201, created.text
    document = created.json()
    url = f"/v1/documents/{document['id']}/files/{document['files'][0]['id']}/content"
    with socket.socket() as sock:
        # A small receive window, so that the response backs up on the server soon.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
        sock.settimeout(10)
        sock.connect(("127.0.0.1", limited.port))
        auth = f"Authorization: Bearer {api_key}\r\n"
        sock.sendall(f"GET {url} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}\r\n".encode())
        sent = time.monotonic()
        assert select.select([sock], [], [], 10)[0], "no response started"
        # Read nothing until the server has given the connection up (seen from its side).
        while serves(limited, sock):
            assert time.monotonic() - sent < BODY_TIMEOUT + LATE, "the connection stayed"
            time.sleep(0.1)
        assert time.monotonic() - sent >= BODY_TIMEOUT - 0.5
        received, closed = read_to_close(sock, timeout=10)
    assert closed
    assert status_of(received) == 200
    assert len(received) < size, "the whole file was still waiting for the client"


def test_connections_beyond_the_cap_get_503(limited: Server) -> None:
    held: list[socket.socket] = []
    try:
        for _ in range(CAP):
            held.append(connect(limited))
        answer = exchange(limited, HEALTHZ_ONCE)
        assert status_of(answer) == 503, answer[:200]
        assert problem_of(answer)["code"] == "overloaded"
        assert b"retry-after: 1" in answer.lower()
    finally:
        for sock in held:
            sock.close()
    deadline = time.monotonic() + 10
    while status_of(exchange(limited, HEALTHZ_ONCE)) != 200:
        assert time.monotonic() < deadline, "still refusing after the held connections closed"
        time.sleep(0.1)


@pytest.mark.slow
def test_the_limits_hold_in_every_worker_process(tmp_path: Path) -> None:
    server = Server(tmp_path, env_extra=LIMITS, serve_args=("--workers", "2")).start()
    try:
        workers = psutil.Process(server.pid).children()
        assert len([w for w in workers if "spawn_main" in " ".join(w.cmdline())]) == 2
        statuses = []
        for _ in range(6):
            statuses.append(status_of(exchange(server, HEALTHZ_ONCE)))
            big = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 2 * MAX_HEADER
            statuses.append(status_of(exchange(server, big + b"\r\n\r\n")))
        assert statuses == [200, 431] * 6
        answer, _seconds = trickle(server.port, SLOW_HEAD, SLOW_HEAD_DRIP)
        assert status_of(answer) == 408
    finally:
        server.stop()
