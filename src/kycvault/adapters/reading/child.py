"""The reading process: ``python -m kycvault.adapters.reading.child CONFINEMENT``, started by
``sandbox.spawn``.

Input on stdin: a 4-byte big-endian length, that many bytes of JSON (content type, whether to
OCR, today's date, limits), then the file's plaintext. Output on stdout: one JSON object,
``{"ok": true, ...}`` or ``{"ok": false, "reason": ...}``, whatever went wrong. With
``render_page`` in the JSON, the file is a PDF and the answer is that page as a PNG (base64)
instead of a reading (the console shows PDFs page by page).
The process first caps its own address space and CPU time (inherited by Tesseract), so a
decoder caught in a bomb or a loop dies here instead of in the worker. It then loads the
decoders the file's type needs and confines itself (``self_confine.confine``: no core dumps,
Landlock, another user, seccomp) before any decoder sees the file; a confinement that cannot
be applied ends the read. Its decoders' warnings are silenced: the worker does not read
stderr, and a damaged file can make them endless.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import sys
import warnings
from datetime import date
from typing import Any

from kycvault.adapters.reading import sandbox, self_confine

_OUT_OF_MEMORY = "reading the file needed more memory than allowed"


def _limit(memory_bytes: int, cpu_seconds: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))


def _read(
    header: dict[str, Any], content: bytes, confinement: sandbox.Confinement
) -> dict[str, Any]:
    # Rendering a page for the console needs the renderer that OCR of a PDF loads.
    render = header.get("render_page")
    try:
        from kycvault.adapters.reading import extract, tesseract

        # Every decoder this type needs is loaded while the Python installation is in reach.
        extract.prepare(str(header["content_type"]), ocr=bool(header["ocr"]) or render is not None)
    except (MemoryError, ImportError, OSError):
        # Loading the decoders' shared libraries is the first thing a low limit stops.
        return {"ok": False, "reason": "the reader could not start within its memory limit"}
    try:
        self_confine.confine(confinement)
    except MemoryError:
        return {"ok": False, "reason": "the reader could not start within its memory limit"}
    except (sandbox.SandboxError, OSError) as exc:
        return {"ok": False, "reason": f"the reader could not be confined ({exc})"}
    try:
        if render is not None:
            return {"ok": True, **extract.render_page(content, int(render))}
        reading = extract.read(
            content,
            header["content_type"],
            ocr=bool(header["ocr"]),
            today=date.fromisoformat(header["today"]),
            timeout=float(header["tesseract_timeout"]),
            binary=str(header.get("tesseract_binary") or "tesseract"),
        )
        return {"ok": True, **reading}
    except extract.Unreadable as exc:
        return {"ok": False, "reason": str(exc)}
    except MemoryError:
        return {"ok": False, "reason": _OUT_OF_MEMORY}
    except tesseract.TesseractError as exc:
        return {"ok": False, "reason": str(exc), "ocr_failed": True}
    except RecursionError:
        return {"ok": False, "reason": "the file is nested too deeply to read"}
    except Exception as exc:
        # A decoder's own message may quote the file; its kind is enough to go on.
        return {"ok": False, "reason": f"the file cannot be read ({type(exc).__name__})"}


def main() -> int:
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # numpy (the glyph model's tiny products) is loaded later: one BLAS thread, no pool of
    # them, as the worker runs several readers side by side.
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    confinement = sandbox.Confinement.from_argv(sys.argv)
    warnings.simplefilter("ignore")
    logging.disable(logging.CRITICAL)
    stream = sys.stdin.buffer
    size = int.from_bytes(stream.read(4), "big")
    header = json.loads(stream.read(size))
    content = stream.read()  # the worker bounds its size; the limit counts it from here
    _limit(int(header["memory_bytes"]), int(header["cpu_seconds"]))
    try:
        out = _read(header, content, confinement)
        text = json.dumps(out)
    except MemoryError:
        text = json.dumps({"ok": False, "reason": _OUT_OF_MEMORY})
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
