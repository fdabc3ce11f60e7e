"""The OCR-B glyph model: which of the MRZ's 37 symbols each cell of a zone line holds, with a
probability for every one of them.

Tesseract finds the zone and its characters' boxes; the cells they give (``mrz_band.py``) are
cut out of the straightened, scaled band, normalised against the line's own paper and ink, and
read by a small network (two dense layers) trained on OCR-B cells cut exactly this way from
generated documents (``bench/train_mrz_glyphs.py``). Its weights ship inside the package
(``mrz_glyphs.npz``) and are loaded once per reading process, before it confines itself.
"""

from __future__ import annotations

import functools
import statistics
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageOps

from kycvault.adapters.reading.tesseract import Symbol

SYMBOLS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<"
WEIGHTS = Path(__file__).with_name("mrz_glyphs.npz")
# A cell as the model sees it: this many pixels, covering the cell's pitch and the line's
# character height, with room around both (OCR-B's characters differ in height, so the
# cell is placed by the line, never by its own ink).
CELL_WIDTH = 16
CELL_HEIGHT = 24
_REACH_X = 0.6  # half the crop's width, in pitches
_REACH_Y = 0.8  # half the crop's height, in character heights
# Cells either side of the grid read to find where the zone's cells are, and how dark a cell's
# darkest pixel must be (of the line's ink) to count as inked.
_SLACK = 3
_INKED = 0.5
# The pitches tried around OCR's (its boxes make it a few per cent off at some scales).
_STRETCHES = tuple(np.linspace(0.96, 1.04, 41).tolist())
# Candidates below this probability are not offered to the correction.
_FLOOR = 0.002
_MAX_CANDIDATES = 5

Floats = NDArray[np.float32]


class Model:
    """Two dense layers over the normalised pixels of a cell."""

    def __init__(self, arrays: dict[str, NDArray[np.generic]]) -> None:
        self.mean = arrays["mean"].astype(np.float32)
        self.scale = arrays["scale"].astype(np.float32)
        self.w1 = arrays["w1"].astype(np.float32)
        self.b1 = arrays["b1"].astype(np.float32)
        self.w2 = arrays["w2"].astype(np.float32)
        self.b2 = arrays["b2"].astype(np.float32)

    def probabilities(self, cells: Floats) -> Floats:
        """One row per cell (``cells`` flattened), one column per symbol of ``SYMBOLS``."""
        x = (cells.reshape(len(cells), -1) - self.mean) * self.scale
        hidden = np.maximum(x @ self.w1 + self.b1, 0.0)
        logits = hidden @ self.w2 + self.b2
        logits -= logits.max(axis=1, keepdims=True)
        odds = np.exp(logits)
        result: Floats = (odds / odds.sum(axis=1, keepdims=True)).astype(np.float32)
        return result


@functools.cache
def model() -> Model | None:
    """The shipped model; None where the package was installed without it."""
    if not WEIGHTS.exists():
        return None
    with np.load(WEIGHTS) as arrays:
        return Model({name: arrays[name] for name in arrays.files})


def _baseline(line: Sequence[Symbol]) -> tuple[float, float, float]:
    """The line's character height and its middle as ``a + b * x`` (least squares over the
    letters and digits OCR was sure of: what is left of a tilt after straightening)."""
    sure = [s for s in line if s.choices[0][0] != "<" and s.choices[0][1] >= 60] or list(line)
    height = statistics.median(s.box.bottom - s.box.top for s in sure)
    xs = [s.box.center_x for s in sure]
    ys = [s.box.center_y for s in sure]
    mx, my = statistics.mean(xs), statistics.mean(ys)
    var = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var if var else 0.0
    slope = max(-0.05, min(0.05, slope))
    return float(height), my - slope * mx, slope


def _levels(
    image: Image.Image, line: Sequence[Symbol], width: int, origin: float, pitch: float
) -> tuple[float, float, float, float, float]:
    """The line's character height, its middle (``a + b * x``), and the grey of its paper
    and how much darker its ink is."""
    height, a, b = _baseline(line)
    top = a + b * origin - 2 * height
    bottom = a + b * (origin + pitch * width) + 2 * height
    strip = image.crop(
        (
            max(0, round(origin - pitch)),
            max(0, round(min(top, bottom))),
            min(image.width, round(origin + pitch * width)),
            min(image.height, round(max(top, bottom))),
        )
    )
    pixels = np.asarray(strip, dtype=np.float32)
    dark, light = np.percentile(pixels, (1.0, 90.0)) if pixels.size else (0.0, 255.0)
    return height, a, b, float(light), max(float(light - dark), 24.0)


def _ink_profile(
    image: Image.Image, line: Sequence[Symbol], width: int, origin: float, pitch: float
) -> tuple[Floats, int]:
    """The line's ink per pixel column (the rows of its characters), from the column given."""
    height, a, b, light, span = _levels(image, line, width, origin, pitch)
    middle = a + b * (origin + pitch * (width - 1) / 2)
    left = max(0, round(origin - pitch))
    box = (
        left,
        max(0, round(middle - height / 2)),
        min(image.width, round(origin + pitch * width)),
        min(image.height, round(middle + height / 2)),
    )
    if box[2] <= box[0] or box[3] <= box[1]:
        return np.zeros(1, np.float32), left
    pixels = np.asarray(image.crop(box), dtype=np.float32)
    ink: Floats = np.clip((light - pixels) / span, 0.0, 1.0).sum(axis=0)
    return ink, left


def cell_images(
    image: Image.Image,
    line: Sequence[Symbol],
    width: int,
    origin: float,
    pitch: float,
    *,
    jitter: Sequence[tuple[float, float, float]] | None = None,
) -> Floats:
    """The ``width`` cells of a line as the model sees them: ink 1, paper 0, measured
    against the line's own darkest and lightest print. ``jitter`` (training only) moves each
    crop by (fractions of a pitch, of a character height) and scales it."""
    height, a, b, light, span = _levels(image, line, width, origin, pitch)
    # Crops may reach past the image's edges (a zone printed close to the border): the
    # margin added is paper.
    margin = round(2 * max(pitch, height)) + 2
    padded = ImageOps.expand(image, border=margin, fill=round(light))
    out = np.zeros((width, CELL_HEIGHT, CELL_WIDTH), dtype=np.float32)
    for index in range(width):
        dx, dy, zoom = jitter[index] if jitter is not None else (0.0, 0.0, 1.0)
        cx = origin + pitch * (index + dx)
        cy = a + b * cx + dy * height
        half_w, half_h = _REACH_X * pitch * zoom, _REACH_Y * height * zoom
        x0, x1 = max(0.0, cx - half_w + margin), min(padded.width, cx + half_w + margin)
        y0, y1 = max(0.0, cy - half_h + margin), min(padded.height, cy + half_h + margin)
        if x1 - x0 < 1 or y1 - y0 < 1:
            continue  # a cell off the page: no ink
        size = (CELL_WIDTH, CELL_HEIGHT)
        crop = padded.resize(size, Image.Resampling.BILINEAR, box=(x0, y0, x1, y1))
        values = np.asarray(crop, dtype=np.float32)
        out[index] = np.clip((light - values) / span, 0.0, 1.0)
    return out


def _refined(
    ink: Floats, left: int, width: int, origin: float, pitch: float
) -> tuple[float, float]:
    """The grid's origin and pitch moved to where the line's ink says its cells are:
    OCR's character boxes place them to a few pixels, and an error of a quarter pitch puts
    half a neighbour in the crop. ``ink`` is the line's ink per column from ``left``. A
    fixed-pitch font repeats its ink every pitch: the pitch (near OCR's) at which that
    repetition is strongest, and its phase there, give the grid (the cells' middles where
    the ink is, on average over the line, centred)."""
    columns = np.arange(len(ink), dtype=np.float64) + left
    weights = ink.astype(np.float64)
    best, found = -1.0, (origin, pitch)
    for stretch in _STRETCHES:
        step = pitch * stretch
        angle = 2 * np.pi * (columns - origin) / step
        wave = complex(
            float((weights * np.cos(angle)).sum()), float((weights * np.sin(angle)).sum())
        )
        if abs(wave) > best:
            best = abs(wave)
            shift = np.angle(wave) / (2 * np.pi)  # of a pitch, -0.5 to 0.5
            found = (origin + shift * step, step)
    # A grid moved by half a pitch or more is the next cell's: the window of cells read
    # (``probabilities``) then finds which run of them the zone is.
    return float(found[0]), float(found[1])


def probabilities(
    image: Image.Image, line: Sequence[Symbol], width: int, origin: float, pitch: float
) -> Floats | None:
    """Each cell's probability for each symbol (rows: cells; columns: ``SYMBOLS``), or None
    without a model.

    The grid may have slipped by a cell or two: OCR reads marks beside the zone (a card's
    edge, a corner of the portrait) as characters of its line, and the grid then starts at
    them. So the cells a few pitches either side are read too, and the zone's ``width``
    cells are the run of them the model reads most surely; cells without ink count nothing
    (the zone has ink in every cell, fillers included)."""
    found = model()
    if found is None or not line:
        return None
    wide = width + 2 * _SLACK
    start = origin - _SLACK * pitch
    ink, left = _ink_profile(image, line, wide, start, pitch)
    start, pitch = _refined(ink, left, wide, start, pitch)
    cells = cell_images(image, line, wide, start, pitch)
    read = found.probabilities(cells)
    inked = cells.reshape(wide, -1).max(axis=1) >= _INKED
    sure = np.where(inked, read.max(axis=1), 0.0)
    totals = [float(sure[s : s + width].sum()) for s in range(2 * _SLACK + 1)]
    # A window must be clearly better to move the grid OCR placed.
    best = max(
        range(len(totals)),
        key=lambda s: (totals[s] - (0 if s == _SLACK else 0.5), -abs(s - _SLACK)),
    )
    return read[best : best + width]


def candidates(row: Floats) -> tuple[tuple[str, float], ...]:
    """A cell's candidates for the correction, best first, as confidences of 0-100."""
    order = np.argsort(-row)[:_MAX_CANDIDATES]
    kept = [(SYMBOLS[k], round(float(row[k]) * 100, 2)) for k in order if row[k] >= _FLOOR]
    return tuple(kept) or ((SYMBOLS[int(order[0])], round(float(row[order[0]]) * 100, 2)),)
