"""The document-reader port, implemented by a child process per file (``child.py``).

Untrusted images and PDFs are decoded there, never in the worker: the child caps its own
memory and CPU time, and the worker kills its whole process group (Tesseract included) when
the wall-clock limit passes, and once more after every read, so nothing it started outlives
it. Plaintext travels over a pipe only. The child's stderr is not read: its decoders can be
made to write without end, and every outcome it knows of comes back in its JSON answer.

The child is confined (``sandbox.py``): an allow-listed environment without keys or
credentials, no other descriptor than its pipes, no core dumps, another user when the server
runs as root, Landlock and seccomp where the kernel has them.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import subprocess
import threading
from collections.abc import Iterable
from datetime import date
from typing import Any

from kycvault.adapters.reading import sandbox, tesseract
from kycvault.domain.mrz_correction import Cell
from kycvault.ports.reading import FileReading, PageReading, ReadingFailed, RenderedPage

PDF = "application/pdf"


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
        confinement: sandbox.Confinement | None = None,
    ) -> None:
        self.timeout = timeout
        self.memory_bytes = memory_bytes
        self.tesseract_binary = tesseract_binary
        self.confinement = confinement or sandbox.plan(tesseract_binary=tesseract_binary)

    def ocr_problem(self) -> str | None:
        if tesseract.available(self.tesseract_binary):
            return None
        # The configured path is the operator's business, not the API client's: not shown.
        return "OCR is not available: tesseract is not installed (Debian package tesseract-ocr)"

    def read(
        self, content: bytes | Iterable[bytes], content_type: str, *, ocr: bool, today: date
    ) -> FileReading:
        ocr = ocr and self.ocr_problem() is None
        answer = self._ask(content, content_type, ocr=ocr, today=today)
        pages = [
            PageReading(
                text=str(page.get("text") or ""),
                source=str(page.get("source") or "ocr"),
                mrz=_cells(page.get("mrz")),
                portrait=page.get("portrait") if isinstance(page.get("portrait"), bool) else None,
            )
            for page in answer.get("pages", [])
        ]
        return FileReading(
            pages=pages,
            traces=dict(answer.get("traces") or {}),
            notes=[str(n) for n in answer.get("notes", [])],
        )

    def render_page(self, content: bytes, page: int) -> RenderedPage:
        answer = self._ask(content, PDF, ocr=False, today=date.today(), render_page=page)
        try:
            return RenderedPage(png=base64.b64decode(answer["png"]), pages=int(answer["pages"]))
        except (KeyError, TypeError, ValueError):
            raise ReadingFailed("the reader gave no page") from None

    def _ask(
        self,
        content: bytes | Iterable[bytes],
        content_type: str,
        *,
        ocr: bool,
        today: date,
        **more: Any,
    ) -> dict[str, Any]:
        """The child's answer on ``content`` (``ok`` checked)."""
        header = json.dumps(
            {
                "content_type": content_type,
                "ocr": ocr,
                "today": today.isoformat(),
                "memory_bytes": self.memory_bytes,
                "cpu_seconds": max(1, round(self.timeout)),
                "tesseract_timeout": self.timeout,
                "tesseract_binary": self.tesseract_binary,
                **more,
            }
        ).encode()
        # Its own process group: Tesseract dies with it.
        process = sandbox.spawn("kycvault.adapters.reading.child", self.confinement)
        expired = threading.Event()

        def expire() -> None:
            expired.set()
            self._kill_group(process)

        # The watchdog bounds everything, feeding the file included.
        watchdog = threading.Timer(self.timeout, expire)
        watchdog.start()
        try:
            chunks = [content] if isinstance(content, bytes) else content
            out = self._exchange(process, len(header).to_bytes(4, "big") + header, chunks)
        finally:
            watchdog.cancel()
            self._kill(process)
        if expired.is_set():
            raise ReadingFailed(f"reading took longer than {self.timeout:g} s")
        if process.returncode != 0:
            raise ReadingFailed(_stopped(process.returncode))
        try:
            answer = json.loads(out)
        except ValueError:
            raise ReadingFailed("the reader gave no result") from None
        if not isinstance(answer, dict):
            raise ReadingFailed("the reader gave no result")
        if not answer.get("ok"):
            raise ReadingFailed(str(answer.get("reason") or "unreadable file"))
        return answer

    @staticmethod
    def _exchange(
        process: subprocess.Popen[bytes], header: bytes, content: Iterable[bytes]
    ) -> bytes:
        """Stream the file to the child (the worker never holds more than a chunk of it),
        then take its answer."""
        assert process.stdin is not None
        assert process.stdout is not None
        try:
            process.stdin.write(header)
            for chunk in content:
                process.stdin.write(chunk)
            process.stdin.close()
        except (BrokenPipeError, ValueError, OSError):
            pass  # the child ended early: its answer or its exit status says why
        out = process.stdout.read()
        process.wait()
        return out

    @staticmethod
    def _kill_group(process: subprocess.Popen[bytes]) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)

    @classmethod
    def _kill(cls, process: subprocess.Popen[bytes]) -> None:
        """End the child's whole group (a Tesseract it started included) and reap it."""
        cls._kill_group(process)
        process.wait()
        for pipe in (process.stdin, process.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()


def _stopped(returncode: int) -> str:
    """Why the child ended without an answer, from how it ended."""
    if returncode == -signal.SIGXCPU:
        return "the reader used more CPU time than allowed"
    if returncode == -signal.SIGKILL:
        return "the reader was stopped (memory or CPU limit)"
    if returncode == -signal.SIGABRT:
        # What a native decoder does when an allocation fails at the address-space limit.
        return "the reader's decoder gave up (memory limit or a damaged file)"
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = str(-returncode)
        return f"the reader crashed (signal {name})"
    return f"the reader failed (exit status {returncode})"
