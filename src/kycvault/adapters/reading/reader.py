"""The document-reader port, implemented by a child process per file (``child.py``).

Untrusted images and PDFs are decoded there, never in the worker: the child caps its own
memory and CPU time, and the worker kills its whole process group (Tesseract included) when
the wall-clock limit passes. Plaintext travels over a pipe only.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from datetime import date
from typing import Any

from kycvault.adapters.reading import tesseract
from kycvault.domain.mrz_correction import Cell
from kycvault.ports import FileReading, PageReading, ReadingFailed


def _cells(raw: Any) -> list[list[Cell]] | None:
    if not raw:
        return None
    return [[tuple((str(ch), float(conf)) for ch, conf in cell) for cell in line] for line in raw]


class SubprocessReader:
    def __init__(
        self,
        *,
        timeout: float = 60.0,
        memory_bytes: int = 1536 * 1024 * 1024,
        tesseract_binary: str = "tesseract",
    ) -> None:
        self.timeout = timeout
        self.memory_bytes = memory_bytes
        self.tesseract_binary = tesseract_binary

    def ocr_problem(self) -> str | None:
        if tesseract.available(self.tesseract_binary):
            return None
        return "OCR is not available: tesseract is not installed (Debian package tesseract-ocr)"

    def read(self, content: bytes, content_type: str, *, ocr: bool, today: date) -> FileReading:
        header = json.dumps(
            {
                "content_type": content_type,
                "ocr": ocr and self.ocr_problem() is None,
                "today": today.isoformat(),
                "memory_bytes": self.memory_bytes,
                "cpu_seconds": max(1, round(self.timeout)),
                "tesseract_timeout": self.timeout,
            }
        ).encode()
        payload = len(header).to_bytes(4, "big") + header + content
        process = subprocess.Popen(
            [sys.executable, "-m", "kycvault.adapters.reading.child"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own group: Tesseract dies with it
            env={**os.environ, "OMP_THREAD_LIMIT": "1"},
        )
        try:
            out, err = process.communicate(payload, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            self._kill(process)
            raise ReadingFailed(f"reading took longer than {self.timeout:g} s") from None
        except BaseException:
            self._kill(process)
            raise
        if process.returncode != 0:
            reason = "the reader was stopped (memory or CPU limit)"
            if process.returncode > 0:
                tail = err.decode(errors="replace").strip().splitlines()
                reason = f"the reader failed ({tail[-1][:200] if tail else process.returncode})"
            raise ReadingFailed(reason)
        try:
            found = json.loads(out)
        except ValueError:
            raise ReadingFailed("the reader gave no result") from None
        if not found.get("ok"):
            raise ReadingFailed(str(found.get("reason") or "unreadable file"))
        pages = [
            PageReading(
                text=str(page.get("text") or ""),
                source=str(page.get("source") or "ocr"),
                mrz=_cells(page.get("mrz")),
            )
            for page in found.get("pages", [])
        ]
        return FileReading(
            pages=pages,
            traces=dict(found.get("traces") or {}),
            notes=[str(n) for n in found.get("notes", [])],
        )

    @staticmethod
    def _kill(process: subprocess.Popen[bytes]) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
