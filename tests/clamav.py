"""A real clamd for the tests, offline: a signature database of two entries written here (the
EICAR test file by MD5 and size, and its body anywhere in a file) and a ``clamd.conf`` in a
temporary directory, clamd in the foreground on a Unix socket. Start-up takes well under a
second with so small a database.

When clamd is not installed the tests that need it are skipped; ``KYCVAULT_REQUIRE_ALL=1``
(as in CI) makes that a failure, as for the backend pairs.
"""

from __future__ import annotations

import hashlib
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pytest

from tests.backends import require_all

EICAR_BODY = b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE"
# The industry's harmless test file, put together here so that no source file holds it whole.
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + EICAR_BODY + b"!$H+H*"
HASH_SIGNATURE = "Kycvault.Test.EICAR.File"
BODY_SIGNATURE = "Kycvault.Test.EICAR.Body"
MiB = 1024 * 1024


@cache
def clamd_binary() -> str | None:
    return shutil.which("clamd") or next(
        (p for p in ("/usr/sbin/clamd", "/usr/local/sbin/clamd") if Path(p).exists()), None
    )


def require_clamd() -> str:
    """clamd's path; skips the calling test without one (fails under KYCVAULT_REQUIRE_ALL=1)."""
    binary = clamd_binary()
    if binary is None:
        reason = "clamd is not installed (Debian: clamav-daemon)"
        if require_all():
            pytest.fail(f"ClamAV required (KYCVAULT_REQUIRE_ALL=1): {reason}")
        pytest.skip(reason)
    return binary


def write_database(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    md5 = hashlib.md5(EICAR, usedforsecurity=False).hexdigest()  # ClamAV's .hdb format
    (directory / "test.hdb").write_text(f"{md5}:{len(EICAR)}:{HASH_SIGNATURE}\n")
    # Target type 0 (any file), any offset: EICAR's body wherever it stands.
    (directory / "test.ndb").write_text(f"{BODY_SIGNATURE}:0:*:{EICAR_BODY.hex()}\n")


@dataclass
class Clamd:
    """One clamd process on a Unix socket in ``root``. ``limits`` are clamd.conf size settings
    (the defaults cover the vault's 128 MiB files, as the README asks of operators)."""

    root: Path
    limits: dict[str, str] = field(
        default_factory=lambda: {
            "MaxFileSize": "130M",
            "MaxScanSize": "130M",
            "StreamMaxLength": "130M",
        }
    )
    process: subprocess.Popen[bytes] | None = None

    @property
    def socket_path(self) -> Path:
        return self.root / "clamd.sock"

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def start(self) -> Clamd:
        binary = require_clamd()
        write_database(self.root / "db")
        (self.root / "tmp").mkdir(exist_ok=True)
        settings = {
            "LocalSocket": str(self.socket_path),
            "DatabaseDirectory": str(self.root / "db"),
            "TemporaryDirectory": str(self.root / "tmp"),
            "Foreground": "yes",
            "LogFile": str(self.root / "clamd.log"),
            "AlertExceedsMax": "yes",
            # No bytecode signatures are installed; nothing to load or check.
            "Bytecode": "no",
            **self.limits,
        }
        config = self.root / "clamd.conf"
        config.write_text("".join(f"{key} {value}\n" for key, value in settings.items()))
        self.socket_path.unlink(missing_ok=True)
        self.process = subprocess.Popen(
            [binary, f"--config-file={config}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                log = self.root / "clamd.log"
                raise RuntimeError(f"clamd exited: {log.read_text() if log.exists() else ''}")
            if self._answers():
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("clamd did not start")

    def _answers(self) -> bool:
        try:
            with socket.socket(socket.AF_UNIX) as sock:
                sock.settimeout(1)
                sock.connect(str(self.socket_path))
                sock.sendall(b"zPING\0")
                return sock.recv(16).startswith(b"PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
