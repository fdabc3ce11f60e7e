"""Finding the machine-readable zone on a page and reading it cell by cell.

The page's OCR words show where the zone is (two or three long lines of the MRZ alphabet near
each other). That band is cut out, straightened by the slope of its own characters, scaled to
a height Tesseract reads best, and read again with the MRZ alphabet, character boxes and LSTM
alternatives. Characters are then placed into the zone's fixed-pitch cells by their position,
which undoes what the general models do to the ``<`` filler (dropping it, merging two, adding
a narrow ghost letter); which character each cell holds is decided in the domain
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

from PIL import Image, ImageOps

from kycvault.adapters.reading import tesseract
from kycvault.adapters.reading.tesseract import Symbol, Word
from kycvault.domain.mrz import ALPHABET, MrzResult
from kycvault.domain.mrz_correction import Cell, best_reading

_WIDTHS = (30, 36, 44)
# Character height Tesseract's LSTM models read most reliably.
_TARGET_HEIGHT = 34
_MIN_WORD = 12


def _mrz_like(word: Word) -> bool:
    text = word.text.replace(" ", "").upper()
    if len(text) < _MIN_WORD:
        return False
    share = sum(ch in ALPHABET or ch in "«" for ch in text) / len(text)
    return share >= 0.85 and ("<" in text or "«" in text or len(text) >= 25)


@dataclass(frozen=True, slots=True)
class Band:
    left: int
    top: int
    right: int
    bottom: int
    char_height: float


def find_band(words: Sequence[Word]) -> Band | None:
    """The box around the zone's lines: the lowest group of MRZ-like lines on the page."""
    lines: dict[tuple[int, int, int], list[Word]] = {}
    for word in words:
        if _mrz_like(word):
            lines.setdefault(word.line, []).append(word)
    if not lines:
        return None
    rows = sorted(lines.values(), key=lambda ws: statistics.mean(w.box.center_y for w in ws))
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
    return Band(
        min(b.left for b in boxes),
        min(b.top for b in boxes),
        max(b.right for b in boxes),
        max(b.bottom for b in boxes),
        statistics.median(b.bottom - b.top for b in boxes),
    )


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _slope(lines: Sequence[Sequence[Symbol]]) -> float:
    """Mean slope (dy/dx) of the characters' centres along the long lines."""
    slopes = []
    for line in lines:
        if len(line) < _MIN_WORD:
            continue
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


def _ink(image: Image.Image, box: tuple[int, int, int, int], threshold: int) -> list[list[bool]]:
    region = image.crop(box)
    data = list(region.getdata())
    w = region.width
    return [[v < threshold for v in data[r * w : (r + 1) * w]] for r in range(region.height)]


def is_filler_glyph(ink: list[list[bool]]) -> bool | None:
    """Whether a cell's ink has the shape of the filler ``<`` (OCR-B, ICAO 9303 part 3): two
    strokes that meet at the left, half-way up. Every other character of the MRZ alphabet has
    ink at the left beyond the middle (a stem, a bowl, a bar) or, on the right, in the
    middle. None when the cell holds too little ink to tell."""
    rows = [r for r, row in enumerate(ink) if any(row)]
    cols = [c for c in range(len(ink[0]) if ink else 0) if any(row[c] for row in ink)]
    if len(rows) < 4 or len(cols) < 3:
        return None
    top, bottom, left, right = rows[0], rows[-1], cols[0], cols[-1]
    h, w = bottom - top + 1, right - left + 1
    band = max(1, w // 4)
    left_rows = [r for r in rows if any(ink[r][c] for c in range(left, left + band))]
    right_rows = [r for r in rows if any(ink[r][c] for c in range(right - band + 1, right + 1))]
    if not left_rows or not right_rows:
        return False
    left_extent = (left_rows[-1] - left_rows[0] + 1) / h
    left_mid = ((left_rows[0] + left_rows[-1]) / 2 - top) / h
    middle = range(top + round(0.4 * h), top + round(0.6 * h) + 1)
    right_top = any(r < top + 0.3 * h for r in right_rows)
    right_bottom = any(r > top + 0.7 * h for r in right_rows)
    right_middle = any(r in middle for r in right_rows)
    return (
        left_extent <= 0.45
        and 0.3 <= left_mid <= 0.7
        and right_top
        and right_bottom
        and not right_middle
    )


def _with_glyph_evidence(
    image: Image.Image,
    line: Sequence[Symbol],
    cells: list[Cell],
    origin: float,
    pitch: float,
) -> list[Cell]:
    """Each cell's reading, with the filler put first where the cell's ink has its shape and
    taken out of first place where it has not."""
    sure = [s for s in line if s.choices[0][1] >= 90 and s.choices[0][0] != "<"] or list(line)
    top = statistics.median(s.box.top for s in sure)
    bottom = statistics.median(s.box.bottom for s in sure)
    pad = (bottom - top) * 0.15
    y0, y1 = max(0, round(top - pad)), min(image.height, round(bottom + pad))
    strip = image.crop((0, y0, image.width, y1))
    extrema = strip.getextrema()
    lo, hi = (extrema[0], extrema[1]) if isinstance(extrema[0], int | float) else (0, 255)
    threshold = (int(lo) + int(hi)) // 2
    out: list[Cell] = []
    for index, cell in enumerate(cells):
        x0 = max(0, round(origin + pitch * (index - 0.45)))
        x1 = min(image.width, round(origin + pitch * (index + 0.45)))
        verdict = is_filler_glyph(_ink(image, (x0, y0, x1, y1), threshold)) if x1 > x0 else None
        if verdict is True:
            rest = tuple(c for c in cell if c[0] != "<")
            out.append((("<", 99.0), *rest))
        elif verdict is False and cell and cell[0][0] == "<":
            out.append((*cell[1:], ("<", min(cell[0][1], 50.0))))
        else:
            out.append(cell)
    return out


def zone_cells(
    lines: Sequence[Sequence[Symbol]], image: Image.Image | None = None
) -> list[list[Cell]] | None:
    """The zone's lines as cells, or None when the lines do not have a zone's shape. With
    the ``image`` the lines were read from, each cell's ink is checked for the filler."""
    long = [line for line in lines if len(line) >= _MIN_WORD]
    if len(long) > 3:
        long = long[-3:]
    if len(long) < 2:
        return None
    pitches = [_pitch(line) for line in long]
    pitch = statistics.median(pitches)
    spans = [round((line[-1].box.center_x - line[0].box.center_x) / pitch) + 1 for line in long]
    width = 30 if len(long) == 3 else min(_WIDTHS[1:], key=lambda w: abs(w - max(spans)))
    zone: list[list[Cell]] = []
    for line, line_pitch in zip(long, pitches, strict=True):
        origin, fitted = _grid(line, width, line_pitch)
        cells = _cells(line, width, origin, fitted)
        if image is not None:
            cells = _with_glyph_evidence(image, line, cells, origin, fitted)
        zone.append(cells)
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
    best: tuple[MrzResult | None, list[list[Cell]] | None] = (None, None)
    for attempt in range(3):
        prepared = _prepared(crop, band.char_height, attempt)
        symbols = read(_png(prepared))
        angle = _slope(symbols)
        if abs(angle) > 0.004:  # about a quarter of a degree
            crop = crop.rotate(
                math.degrees(math.atan(angle)),
                resample=Image.Resampling.BICUBIC,
                expand=True,
                fillcolor=255,
            )
            prepared = _prepared(crop, band.char_height, attempt)
            symbols = read(_png(prepared))
        cells = zone_cells(symbols, prepared)
        if cells is None:
            continue
        result = best_reading(cells, today=today)
        if result is not None and (best[0] is None or _score(result) > _score(best[0])):
            best = (result, cells)
        if result is not None and result.valid:
            break
    return best


def _score(result: MrzResult) -> float:
    return sum(result.checks.values()) / max(1, len(result.checks))


def _prepared(crop: Image.Image, char_height: float, attempt: int) -> Image.Image:
    """Attempt 0: scaled to the target character height; 1: also contrast-stretched and
    thresholded; 2: a larger scale (blurred small prints)."""
    scale = _TARGET_HEIGHT / max(1.0, char_height) * (1.35 if attempt == 2 else 1.0)
    scale = min(4.0, max(0.5, scale))
    size = (max(1, round(crop.width * scale)), max(1, round(crop.height * scale)))
    image = crop.resize(size, Image.Resampling.LANCZOS)
    if attempt >= 1:
        image = ImageOps.autocontrast(image, cutoff=2)
        image = image.point(lambda v: 255 if v > 140 else 0)
    return image


def symbol_reader(timeout: float) -> Reader:
    return lambda png: tesseract.symbol_lines(png, psm=6, timeout=timeout)
