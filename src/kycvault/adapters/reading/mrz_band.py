"""Finding the machine-readable zone on a page and reading it cell by cell.

The page's OCR words show where the zone is (two or three long lines of the MRZ alphabet near
each other). That band is cut out, straightened by the slope of its own characters, scaled to
a height Tesseract reads best, and read again with the MRZ alphabet, character boxes and LSTM
alternatives. Characters are then placed into the zone's fixed-pitch cells by their position,
which undoes what the general models do to the ``<`` filler (dropping it, merging two, adding
a narrow ghost letter); each cell is then read by the OCR-B glyph model
(``mrz_classifier.py``; without its weights, the cell's ink is weighed against Tesseract's
reading, ``mrz_glyphs.py``), and which character each cell holds is decided in the domain
(``kycvault.domain.mrz_correction``).
"""

from __future__ import annotations

import io
import itertools
import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
from PIL import Image, ImageFilter, ImageOps

from kycvault.adapters.reading import mrz_classifier, tesseract
from kycvault.adapters.reading.mrz_glyphs import (
    ink_heights,
    with_glyph_evidence,
    with_height_evidence,
)
from kycvault.adapters.reading.tesseract import Symbol, Word
from kycvault.domain.mrz import ALPHABET, FILLER, MrzResult
from kycvault.domain.mrz_correction import Cell, best_reading

_WIDTHS = (30, 36, 44)
# Character height Tesseract's LSTM models read most reliably, and the heights the zone is
# read at (its errors depend on the scale, differently at each).
_TARGET_HEIGHT = 34
_HEIGHTS = (30, 34, 40)
# How sure an empty cell (no character placed in it) is taken to be a filler when readings
# are pooled.
_EMPTY_FILLER = 90.0
_MIN_WORD = 12
_TALLEST = 1.25  # character height to pitch, at most
_SKEW_SIDE = 800


def _share(text: str) -> float:
    return sum(ch in ALPHABET or ch in "«" for ch in text) / max(1, len(text))


def _mrz_like(word: Word) -> bool:
    text = word.text.replace(" ", "").upper()
    if len(text) < _MIN_WORD:
        return False
    return _share(text) >= 0.85 and ("<" in text or "«" in text or len(text) >= 25)


def _mrz_line(words: Sequence[Word]) -> bool:
    """A zone's line, even where full-page OCR broke it into short words (a tilted page): one
    MRZ-like word, or together a long run of the alphabet with a filler (text in capitals
    and digits, a heading or an account number, has none). One such line places the band;
    the zone's other lines are found when it is read."""
    if any(_mrz_like(word) for word in words):
        return True
    text = "".join(word.text for word in words).replace(" ", "").upper()
    filler = "<" in text or "«" in text
    return len(text) >= 25 and _share(text) >= 0.85 and filler


@dataclass(frozen=True, slots=True)
class Band:
    left: int
    top: int
    right: int
    bottom: int
    char_height: float


def find_band(words: Sequence[Word]) -> Band | None:
    """The box around the zone's lines: the lowest group of MRZ-like lines on the page,
    widened to the longest zone (44 characters at the pitch its words show) where OCR saw
    only part of it, and heightened by the drift a tilt of five degrees gives over that."""
    lines: dict[tuple[int, int, int], list[Word]] = {}
    for word in words:
        lines.setdefault(word.line, []).append(word)
    rows = [
        [w for w in ws if _share(w.text.upper()) >= 0.85] for ws in lines.values() if _mrz_line(ws)
    ]
    rows = [row for row in rows if row]
    if not rows:
        return None
    rows.sort(key=lambda ws: statistics.mean(w.box.center_y for w in ws))
    height = statistics.median(w.box.bottom - w.box.top for ws in rows for w in ws)
    # The zone is at the bottom; take the lowest row and the rows close above it.
    group = [rows[-1]]
    for row in reversed(rows[:-1]):
        gap = statistics.mean(w.box.center_y for w in group[-1]) - statistics.mean(
            w.box.center_y for w in row
        )
        if gap > 3.5 * height or len(group) == 3:
            break
        group.append(row)
    boxes = [w.box for row in group for w in row]
    left, right = min(b.left for b in boxes), max(b.right for b in boxes)
    # Height and pitch from the longer words: OCR boxes stray fillers generously.
    in_band = [w for row in group for w in row]
    longer = [w for w in in_band if len(w.text) >= 5] or in_band
    pitch = statistics.median((w.box.right - w.box.left) / len(w.text) for w in longer)
    missing = max(0.0, _WIDTHS[-1] * pitch - (right - left))
    drift = missing * math.tan(math.radians(5))
    return Band(
        round(left - missing),
        round(min(b.top for b in boxes) - drift),
        round(right + missing),
        round(max(b.bottom for b in boxes) + drift),
        # OCR-B's characters are about as tall as their pitch; a tilted line's word boxes
        # are taller by the drift along them, which would scale the zone too small to read.
        min(statistics.median(w.box.bottom - w.box.top for w in longer), _TALLEST * pitch),
    )


def skew(page: Image.Image) -> float:
    """The page's tilt in degrees (counter-clockwise; what rotating it by minus that
    undoes): the angle at which its rows of text line up best, i.e. at which the ink per
    pixel row varies most. Measured on a small copy, in half degrees up to six."""
    scale = min(1.0, _SKEW_SIDE / max(page.size))
    small = page.resize((max(1, round(page.width * scale)), max(1, round(page.height * scale))))
    ink = ImageOps.invert(ImageOps.autocontrast(small, cutoff=1))
    best, found = -1.0, 0.0
    for step in range(-12, 13):
        angle = step / 2
        turned = ink.rotate(angle, resample=Image.Resampling.BILINEAR, fillcolor=0)
        rows = np.asarray(turned, dtype=np.float32).sum(axis=1)
        spread = float(np.square(np.diff(rows)).sum())
        if spread > best:
            best, found = spread, angle
    return -found


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _slope(lines: Sequence[Sequence[Symbol]]) -> float:
    """Mean slope (dy/dx) of the characters' centres along the long lines."""
    slopes = []
    for line in lines:
        xs = [s.box.center_x for s in line]
        ys = [s.box.center_y for s in line]
        mx, my = statistics.mean(xs), statistics.mean(ys)
        var = sum((x - mx) ** 2 for x in xs)
        if var:
            slopes.append(sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var)
    return statistics.median(slopes) if slopes else 0.0


def _pitch(line: Sequence[Symbol]) -> float:
    centres = [s.box.center_x for s in line]
    gaps = [b - a for a, b in itertools.pairwise(centres) if b > a]
    if not gaps:
        return 1.0
    typical = statistics.median(gaps)
    near = [g for g in gaps if 0.7 * typical <= g <= 1.3 * typical]
    return statistics.median(near) if near else typical


def _grid(line: Sequence[Symbol], width: int, pitch: float) -> tuple[float, float]:
    """Origin and pitch of the line's cells, fitted by least squares over its characters."""
    origin = line[0].box.center_x
    for _ in range(2):
        idx = [round((s.box.center_x - origin) / pitch) for s in line]
        pairs = [(i, s.box.center_x) for i, s in zip(idx, line, strict=True) if 0 <= i < width]
        if len(pairs) < 2:
            break
        mi = statistics.mean(i for i, _ in pairs)
        mx = statistics.mean(x for _, x in pairs)
        var = sum((i - mi) ** 2 for i, _ in pairs)
        if not var:
            break
        pitch = sum((i - mi) * (x - mx) for i, x in pairs) / var
        origin = mx - pitch * mi
    return origin, pitch


def _cells(line: Sequence[Symbol], width: int, origin: float, pitch: float) -> list[Cell]:
    """Characters placed into ``width`` cells by their centres; two in one cell keep the
    wider (a ghost letter squeezed between fillers is narrow) and offer the other's reading
    as an alternative."""
    slots: list[list[Symbol]] = [[] for _ in range(width)]
    for symbol in line:
        index = round((symbol.box.center_x - origin) / pitch)
        if 0 <= index < width:
            slots[index].append(symbol)
    cells: list[Cell] = []
    for slot in slots:
        if not slot:
            cells.append(())
            continue
        slot.sort(key=lambda s: (s.box.right - s.box.left, s.choices[0][1]), reverse=True)
        main = list(slot[0].choices)
        for other in slot[1:]:
            main.extend((ch, conf * 0.5) for ch, conf in other.choices[:1])
        cells.append(tuple(main))
    return cells


def _zone_lines(lines: Sequence[Sequence[Symbol]]) -> list[Sequence[Symbol]]:
    """The zone's lines among those read: the lowest long line and up to two long lines right
    above it of the same pitch and reach (text printed above the zone has neither)."""
    long = [line for line in lines if len(line) >= _MIN_WORD]
    if not long:
        return []
    long.sort(key=lambda line: statistics.median(s.box.center_y for s in line))
    zone = [long[-1]]
    pitch = _pitch(zone[0])
    height = statistics.median(s.box.bottom - s.box.top for s in zone[0])
    for line in reversed(long[:-1]):
        if len(zone) == 3:
            break
        gap = statistics.median(s.box.center_y for s in zone[-1]) - statistics.median(
            s.box.center_y for s in line
        )
        left = max(line[0].box.left, zone[0][0].box.left)
        right = min(line[-1].box.right, zone[0][-1].box.right)
        shorter = min(
            line[-1].box.right - line[0].box.left, zone[0][-1].box.right - zone[0][0].box.left
        )
        if gap > 3 * height:
            break
        if abs(_pitch(line) - pitch) <= 0.15 * pitch and right - left >= 0.6 * shorter:
            zone.append(line)
    return zone[::-1]


def zone_cells(
    lines: Sequence[Sequence[Symbol]], image: Image.Image | None = None
) -> list[list[Cell]] | None:
    """The zone's lines as cells, or None when the lines do not have a zone's shape. With
    the ``image`` the lines were read from, each cell's ink is checked for the filler."""
    long = _zone_lines(lines)
    if len(long) < 2:
        return None
    pitches = [_pitch(line) for line in long]
    pitch = statistics.median(pitches)
    spans = [round((line[-1].box.center_x - line[0].box.center_x) / pitch) + 1 for line in long]
    width = 30 if len(long) == 3 else min(_WIDTHS[1:], key=lambda w: abs(w - max(spans)))
    zone: list[list[Cell]] = []
    heights: list[list[float | None]] = []
    modelled = image is not None and mrz_classifier.model() is not None
    for line, line_pitch in zip(long, pitches, strict=True):
        origin, fitted = _grid(line, width, line_pitch)
        cells = _cells(line, width, origin, fitted)
        if image is not None and modelled:
            found = mrz_classifier.probabilities(image, line, width, origin, fitted)
            if found is not None:
                cells = [mrz_classifier.candidates(row) for row in found]
        elif image is not None:
            cells = with_glyph_evidence(image, line, cells, origin, fitted)
            heights.append(ink_heights(image, line, width, origin, fitted))
        zone.append(cells)
    if image is not None and not modelled:
        with_height_evidence(zone, heights)
    return zone


Reader = Callable[[bytes], list[list[Symbol]]]


def read_zone(
    gray: Image.Image,
    band: Band,
    *,
    today: date,
    read: Reader,
) -> tuple[MrzResult | None, list[list[Cell]] | None]:
    """Read the zone inside ``band`` of a greyscale page: straighten, scale, read, and try a
    second, sharpened reading if the first leaves check digits failing."""
    margin = round(band.char_height * 1.5)
    crop = gray.crop(
        (
            max(0, band.left - 2 * margin),
            max(0, band.top - margin),
            min(gray.width, band.right + 2 * margin),
            min(gray.height, band.bottom + margin),
        )
    )
    char_height = band.char_height
    # Straighten and measure first: the band's own characters give its slope and height.
    # Paper darker than something else in the crop (a scan's white border, a rotated page's
    # corner, a print's uneven light) makes Tesseract's threshold take the paper for ink.
    crop = _flattened(crop)
    lines = _zone_lines(read(_png(_prepared(crop, char_height, _TARGET_HEIGHT))))
    angle = _slope(lines)
    if abs(angle) > 0.004:  # about a quarter of a degree
        crop = crop.rotate(
            math.degrees(math.atan(angle)),
            resample=Image.Resampling.BICUBIC,
            expand=True,
            fillcolor=255,
        )
    measured = _char_height(lines) * crop.height / max(1, _prepared_height(crop, char_height))
    if measured > 0:
        char_height = measured
    # Then read at three scales around the one the model reads best and pool what each
    # reading saw per cell: a character misread at one scale is mostly read right at the
    # others. A thresholded reading is added when check digits still fail.
    readings = []
    for height in _HEIGHTS:
        prepared = _prepared(crop, char_height, height)
        scaled = zone_cells(read(_png(prepared)), prepared)
        if scaled is not None:
            readings.append(scaled)
    cells = _pooled(readings)
    result = best_reading(cells, today=today) if cells else None
    if result is None or not result.valid:
        prepared = _prepared(crop, char_height, _TARGET_HEIGHT, threshold=True)
        scaled = zone_cells(read(_png(prepared)), prepared)
        if scaled is not None:
            pooled = _pooled([*readings, scaled])
            second = best_reading(pooled, today=today) if pooled else None
            if second is not None and (result is None or _score(second) > _score(result)):
                result, cells = second, pooled
    if result is None:
        return None, None
    return result, cells


def _pooled(readings: Sequence[list[list[Cell]]]) -> list[list[Cell]] | None:
    """One zone from several readings of it: the readings of the shape most of them have,
    and of those the ones that agree on most cells with the reading the others agree with
    most (a reading whose grid slipped by a cell is left out); each cell's candidates carry
    their mean confidence."""
    if not readings:
        return None
    shapes = [(len(r), len(r[0])) for r in readings]
    shape = max(set(shapes), key=shapes.count)
    same = [r for r in readings if (len(r), len(r[0])) == shape]

    def tops(zone: list[list[Cell]]) -> list[str]:
        return [cell[0][0] if cell else "" for line in zone for cell in line]

    def agreement(a: list[str], b: list[str]) -> int:
        return sum(x == y for x, y in zip(a, b, strict=True))

    # The reading the others agree with most is the reference (not one that slipped).
    read = [tops(r) for r in same]
    middle = max(read, key=lambda t: sum(agreement(t, other) for other in read))
    kept = [r for r, t in zip(same, read, strict=True) if agreement(middle, t) >= 0.8 * len(t)]
    pooled: list[list[Cell]] = []
    for n in range(shape[0]):
        line: list[Cell] = []
        for i in range(shape[1]):
            scores: dict[str, float] = {}
            for zone in kept:
                seen: set[str] = set()
                # A cell where a reading placed nothing holds a filler (what the model drops).
                for char, conf in zone[n][i] or ((FILLER, _EMPTY_FILLER),):
                    if char not in seen:
                        seen.add(char)
                        scores[char] = scores.get(char, 0.0) + conf / len(kept)
            ranked = sorted(scores.items(), key=lambda item: -item[1])
            line.append(tuple(ranked))
        pooled.append(line)
    return pooled


def _flattened(crop: Image.Image) -> Image.Image:
    """The crop with its paper made white: each pixel over the brightest paper near it."""
    small = crop.reduce(4) if min(crop.size) >= 16 else crop
    paper = small.filter(ImageFilter.MaxFilter(5)).resize(crop.size, Image.Resampling.BILINEAR)
    pixels = np.asarray(crop, dtype=np.float32)
    level = np.maximum(np.asarray(paper, dtype=np.float32), 1.0)
    return Image.fromarray(np.clip(pixels / level * 255.0, 0, 255).astype(np.uint8))


def _char_height(lines: Sequence[Sequence[Symbol]]) -> float:
    """Median height of the zone's letters and digits (the filler is shorter); 0 if none."""
    heights = [s.box.bottom - s.box.top for line in lines for s in line if s.choices[0][0] != "<"]
    return float(statistics.median(heights)) if heights else 0.0


def _score(result: MrzResult) -> float:
    return sum(result.checks.values()) / max(1, len(result.checks))


def _scale(char_height: float, height: float) -> float:
    return min(4.0, max(0.5, height / max(1.0, char_height)))


def _prepared_height(crop: Image.Image, char_height: float) -> int:
    return max(1, round(crop.height * _scale(char_height, _TARGET_HEIGHT)))


def _prepared(
    crop: Image.Image, char_height: float, height: float, *, threshold: bool = False
) -> Image.Image:
    """The crop scaled so its characters are ``height`` pixels tall; with ``threshold``
    also contrast-stretched and made black and white (faint or noisy prints)."""
    scale = _scale(char_height, height)
    size = (max(1, round(crop.width * scale)), max(1, round(crop.height * scale)))
    image = crop.resize(size, Image.Resampling.LANCZOS)
    if threshold:
        image = ImageOps.autocontrast(image, cutoff=2)
        image = image.point(lambda v: 255 if v > 140 else 0)
    return image


def symbol_reader(timeout: float) -> Reader:
    return lambda png: tesseract.symbol_lines(png, psm=6, timeout=timeout)
