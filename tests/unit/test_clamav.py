"""The clamd adapter against a real clamd: what it makes of clamd's answers, and that it never
takes a file clamd did not finish scanning, or a clamd that does not answer, for clean."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from kycvault.adapters.clamav import ClamdScanner, parse_clamd_url
from kycvault.ports.scanning import ScannerUnavailable, ScanVerdict
from tests.clamav import BODY_SIGNATURE, EICAR, HASH_SIGNATURE, Clamd, MiB


def scan(scanner: ClamdScanner, data: bytes) -> ScanVerdict:
    stream = scanner.open()
    for start in range(0, len(data), MiB):
        stream.write(data[start : start + MiB])
    return stream.verdict()


@pytest.fixture(scope="module")
def small_clamd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clamd]:
    """clamd with limits far below the file: what an unprepared operator's clamd does."""
    limits = {"MaxFileSize": "1M", "MaxScanSize": "1M", "StreamMaxLength": "4M"}
    clamd = Clamd(tmp_path_factory.mktemp("clamd-small"), limits=limits).start()
    yield clamd
    clamd.stop()


def test_verdicts(small_clamd: Clamd) -> None:
    scanner = ClamdScanner(small_clamd.url, timeout=30)
    found = scan(scanner, EICAR)
    assert found.signature is not None and not found.clean and not found.incomplete
    assert found.signature.startswith((HASH_SIGNATURE, BODY_SIGNATURE))
    assert scan(scanner, b"nothing to see here\n" * 1000) == ScanVerdict()
    scanner.check()


@pytest.mark.parametrize(
    ("size", "limit"),
    [(2 * MiB, "Heuristics.Limits.Exceeded.MaxFileSize"), (6 * MiB, "StreamMaxLength")],
    ids=["over-MaxFileSize", "over-StreamMaxLength"],
)
def test_a_file_over_clamds_limits_is_never_clean(
    small_clamd: Clamd, size: int, limit: str
) -> None:
    # Random bytes, EICAR's body at the end: clamd stops before it either way.
    data = os.urandom(size) + EICAR
    verdict = scan(ClamdScanner(small_clamd.url, timeout=30), data)
    assert verdict == ScanVerdict(limit, incomplete=True)
    assert not verdict.clean


def test_a_clamd_that_is_gone_or_silent_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(ScannerUnavailable):
        ClamdScanner(f"unix://{tmp_path}/none.sock", timeout=1).open()
    # Accepts the connection, never reads or answers: the timeout ends the wait.
    with socket.socket(socket.AF_UNIX) as silent:
        silent.bind(str(tmp_path / "silent.sock"))
        silent.listen(1)
        scanner = ClamdScanner(f"unix://{tmp_path}/silent.sock", timeout=0.5)
        with pytest.raises(ScannerUnavailable):
            scan(scanner, os.urandom(4 * MiB))
        with pytest.raises(ScannerUnavailable):
            scanner.check()


def test_urls() -> None:
    assert parse_clamd_url("tcp://127.0.0.1:3310") == ("127.0.0.1", 3310)
    assert parse_clamd_url("tcp://[::1]:3310") == ("::1", 3310)
    assert parse_clamd_url("unix:///run/clamav/clamd.ctl") == "/run/clamav/clamd.ctl"
    for bad in ("tcp://host", "tcp://:3310", "unix://relative/x", "http://h:1", "/run/x"):
        with pytest.raises(ValueError, match="clamd"):
            parse_clamd_url(bad)
