"""The reading process: ``python -m kycvault.adapters.reading.child``.

Input on stdin: a 4-byte big-endian length, that many bytes of JSON (content type, whether to
OCR, today's date, limits), then the file's plaintext. Output on stdout: one JSON object.
The process first caps its own address space and CPU time (inherited by Tesseract), so a
decoder caught in a bomb or a loop dies here instead of in the worker.
"""

from __future__ import annotations

import json
import resource
import sys
from datetime import date


def _limit(memory_bytes: int, cpu_seconds: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def main() -> int:
    stream = sys.stdin.buffer
    size = int.from_bytes(stream.read(4), "big")
    header = json.loads(stream.read(size))
    _limit(int(header["memory_bytes"]), int(header["cpu_seconds"]))
    content = stream.read()
    from kycvault.adapters.reading import extract, tesseract

    try:
        found = extract.read(
            content,
            header["content_type"],
            ocr=bool(header["ocr"]),
            today=date.fromisoformat(header["today"]),
            timeout=float(header["tesseract_timeout"]),
        )
        out = {"ok": True, **found}
    except extract.Unreadable as exc:
        out = {"ok": False, "reason": str(exc)}
    except MemoryError:
        out = {"ok": False, "reason": "reading the file needed more memory than allowed"}
    except tesseract.TesseractError as exc:
        out = {"ok": False, "reason": str(exc), "ocr_failed": True}
    sys.stdout.write(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
