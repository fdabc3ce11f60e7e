"""Whether a page shows a face: the holder's portrait an identity document prints.

OpenCV's frontal-face Haar cascade (Viola-Jones), which the ``opencv-python-headless`` wheel
ships with its data (Apache-2.0; OpenCV 5 dropped the cascades, hence ``<5``), run on the page
scaled down to ``_SIDE`` pixels: a portrait fills a tenth or more of an identity page, and at
that size the detector takes about a tenth of a second. A face is a portrait only if it is at
least ``_MIN_SHARE`` of the page's shorter side (a watermark's ghost image or a face in the
background pattern is smaller). Runs in the reader's confined process, single-threaded.
"""

from __future__ import annotations

import contextlib
import sys
from functools import cache
from typing import Any

from PIL import Image

_SIDE = 800
_MIN_SHARE = 1 / 12
_CASCADE = "haarcascade_frontalface_default.xml"


@cache
def _detector() -> Any | None:
    """The cascade, loaded once per process (the reader loads it before it confines itself:
    ``extract.prepare``); None where OpenCV is not installed. OpenCV prints why it cannot
    load to standard output, which is the reader's answer: sent to standard error instead."""
    try:
        with contextlib.redirect_stdout(sys.stderr):
            import cv2
    except ImportError:
        return None
    cv2.setNumThreads(1)
    # The package's data directory is not in its type stubs.
    detector = cv2.CascadeClassifier(cv2.data.haarcascades + _CASCADE)  # type: ignore[attr-defined]
    return None if detector.empty() else detector


def available() -> bool:
    return _detector() is not None


def present(page: Image.Image) -> bool | None:
    """Whether ``page`` shows a face of a portrait's size; None when there is no detector."""
    detector = _detector()
    if detector is None:
        return None
    import numpy

    gray = page.convert("L")
    scale = _SIDE / max(gray.size)
    if scale < 1:
        gray = gray.resize((round(gray.width * scale), round(gray.height * scale)))
    smallest = max(24, round(min(gray.size) * _MIN_SHARE))
    found = detector.detectMultiScale(
        numpy.asarray(gray), scaleFactor=1.1, minNeighbors=5, minSize=(smallest, smallest)
    )
    return len(found) > 0
