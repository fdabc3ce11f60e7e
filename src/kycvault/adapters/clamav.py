"""The ``MalwareScanner`` port over clamd's ``INSTREAM`` command (see clamd(8)).

The protocol: connect (TCP or a Unix socket), send ``zINSTREAM`` and a NUL, then the file as
chunks, each prefixed with its length (4 bytes, network byte order), then a zero-length chunk.
clamd answers one NUL-terminated line: ``stream: OK``, ``stream: <signature> FOUND`` or
``<reason> ERROR``. A stream longer than clamd's ``StreamMaxLength`` gets ``INSTREAM size limit
exceeded. ERROR`` and the connection closed, possibly while chunks are still being sent.

ClamAV reports a file it skipped for being over one of its limits (``MaxFileSize``,
``MaxScanSize``, ``MaxScanTime``, nesting) as clean, unless clamd runs with ``AlertExceedsMax
yes``; then the answer is ``Heuristics.Limits.Exceeded.<limit> FOUND``. Both that and the
stream size error come back as an *incomplete* verdict, which the vault never takes for clean.

A small adapter rather than a client library: the maintained Python client (clamav-client) is
GPL-2.0, and the permissively licensed ones take the whole file from a file object in one call,
whereas an upload reaches the scanner batch by batch as it arrives.
"""

from __future__ import annotations

import socket
import struct
from urllib.parse import urlsplit

from kycvault.ports.scanning import ScannerUnavailable, ScanVerdict

_LIMITS_EXCEEDED = "Heuristics.Limits.Exceeded"
_STREAM_TOO_LONG = "INSTREAM size limit exceeded"
_MAX_REPLY = 4096


def parse_clamd_url(url: str) -> tuple[str, int] | str:
    """``tcp://host:port`` → (host, port); ``unix:///path`` → the socket's path."""
    parts = urlsplit(url)
    if parts.scheme == "tcp":
        try:
            port = parts.port
        except ValueError:
            port = None
        if not parts.hostname or port is None:
            raise ValueError(f"a clamd URL needs a host and a port: tcp://HOST:PORT, not {url!r}")
        return parts.hostname, port
    if parts.scheme == "unix":
        if not parts.path or parts.netloc:
            raise ValueError(f"a clamd socket URL is unix:///absolute/path, not {url!r}")
        return parts.path
    raise ValueError(f"unsupported clamd URL {url!r} (use tcp://host:port or unix:///path)")


def _verdict(reply: str) -> ScanVerdict:
    text = reply.strip()
    if text.startswith(_STREAM_TOO_LONG):
        return ScanVerdict("StreamMaxLength", incomplete=True)
    if text == "stream: OK":
        return ScanVerdict()
    if text.startswith("stream: ") and text.endswith(" FOUND"):
        name = text.removeprefix("stream: ").removesuffix(" FOUND").strip()
        return ScanVerdict(name, incomplete=name.startswith(_LIMITS_EXCEEDED))
    raise ScannerUnavailable(f"clamd answered {text[:200]!r}")


def _read_reply(sock: socket.socket) -> str:
    """One NUL-terminated answer (or whatever came before the connection closed)."""
    reply = bytearray()
    while b"\0" not in reply and len(reply) < _MAX_REPLY:
        data = sock.recv(_MAX_REPLY)
        if not data:
            break
        reply += data
    return reply.split(b"\0", 1)[0].decode("utf-8", "replace")


class ClamdScanner:
    """The ``MalwareScanner`` port. ``timeout`` bounds connecting, every send and the wait
    for the verdict (which includes clamd's scan of the whole file)."""

    def __init__(self, url: str, *, timeout: float) -> None:
        self._address = parse_clamd_url(url)
        self._timeout = timeout

    def _connect(self) -> socket.socket:
        try:
            if isinstance(self._address, str):
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    sock.settimeout(self._timeout)
                    sock.connect(self._address)
                except BaseException:
                    sock.close()
                    raise
                return sock
            return socket.create_connection(self._address, timeout=self._timeout)
        except OSError as exc:
            raise ScannerUnavailable(f"clamd cannot be reached: {exc}") from None

    def open(self) -> ClamdStream:
        sock = self._connect()
        try:
            sock.sendall(b"zINSTREAM\0")
        except OSError as exc:
            sock.close()
            raise ScannerUnavailable(f"clamd cannot be reached: {exc}") from None
        return ClamdStream(sock)

    def check(self) -> None:
        sock = self._connect()
        try:
            sock.sendall(b"zPING\0")
            reply = _read_reply(sock)
        except OSError as exc:
            raise ScannerUnavailable(f"clamd does not answer: {exc}") from None
        finally:
            sock.close()
        if reply.strip() != "PONG":
            raise ScannerUnavailable(f"clamd answered {reply[:200]!r} to PING")


class ClamdStream:
    """The ``ScanStream`` port: one ``INSTREAM`` connection."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock: socket.socket | None = sock
        # clamd's answer when it came before the end of the stream (it stopped reading).
        self._early: str | None = None

    def write(self, data: bytes) -> None:
        sock = self._sock
        if not data or self._early is not None:
            return
        if sock is None:
            raise ScannerUnavailable("the scan stream is closed")
        try:
            sock.sendall(struct.pack("!L", len(data)))
            sock.sendall(data)
        except OSError as exc:
            # clamd closes the connection once the stream passes StreamMaxLength, after
            # saying so; any other reason to stop reading is a failure.
            early = self._answer_after_failure()
            if early is None or not early.startswith(_STREAM_TOO_LONG):
                self.close()
                raise ScannerUnavailable(f"clamd stopped reading the stream: {exc}") from None
            self._early = early

    def verdict(self) -> ScanVerdict:
        sock = self._sock
        try:
            if self._early is not None:
                return _verdict(self._early)
            if sock is None:
                raise ScannerUnavailable("the scan stream is closed")
            try:
                sock.sendall(b"\0\0\0\0")
                reply = _read_reply(sock)
            except OSError as exc:
                raise ScannerUnavailable(f"no verdict from clamd: {exc}") from None
            if not reply:
                raise ScannerUnavailable("clamd closed the connection without a verdict")
            return _verdict(reply)
        finally:
            self.close()

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()

    def _answer_after_failure(self) -> str | None:
        sock = self._sock
        if sock is None:
            return None
        try:
            return _read_reply(sock) or None
        except OSError:
            return None
