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
from kycvault.domain.mrz import ALPHABET, FILLER, CharClass, MrzResult
from kycvault.domain.mrz_correction import Cell, best_reading, shape_classes

_WIDTHS = (30, 36, 44)
# Character height Tesseract's LSTM models read most reliably, and the heights the zone is
# read at (its errors depend on the scale, differently at each).
_TARGET_HEIGHT = 34
_HEIGHTS = (30, 34, 40)
# How sure an empty cell (no character placed in it) is taken to be a filler when readings
# are pooled.
_EMPTY_FILLER = 90.0
_MIN_WORD = 12
# Rows lighter than this share of the line's contrast hold no ink (paper, noise).
_INK_LEVEL = 0.3


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
    found = [w for row in group for w in row]
    longer = [w for w in found if len(w.text) >= 5] or found
    pitch = statistics.median((w.box.right - w.box.left) / len(w.text) for w in longer)
    missing = max(0.0, _WIDTHS[-1] * pitch - (right - left))
    drift = missing * math.tan(math.radians(5))
    return Band(
        round(left - missing),
        round(min(b.top for b in boxes) - drift),
        round(right + missing),
        round(max(b.bottom for b in boxes) + drift),
        statistics.median(w.box.bottom - w.box.top for w in longer),
    )


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


def _ink(image: Image.Image, box: tuple[int, int, int, int], threshold: int) -> list[list[bool]]:
    region = image.crop(box)
    data = region.tobytes()
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


def _extent(ink: list[list[bool]]) -> tuple[int, int, int, int] | None:
    rows = [r for r, row in enumerate(ink) if any(row)]
    cols = [c for c in range(len(ink[0]) if ink else 0) if any(row[c] for row in ink)]
    if len(rows) < 6 or len(cols) < 3:
        return None
    return rows[0], rows[-1], cols[0], cols[-1]


def letter_shape(ink: list[list[bool]], pair: str) -> str | None:
    """Which of two OCR-B capitals OCR confuses the cell's ink is, where their shapes
    differ plainly: ``I`` has a bar on top as wide as its foot, ``L`` only a foot (``IL``);
    ``D`` has a straight stem down its whole left side, ``O`` a curve (``DO``). None when
    the ink does not say."""
    box = _extent(ink)
    if box is None:
        return None
    top, bottom, left, right = box
    h, w = bottom - top + 1, right - left + 1
    if pair == "IL":
        band = max(1, round(0.12 * h))

        def reach(rows: range) -> float:
            xs = [c for r in rows for c in range(left, right + 1) if ink[r][c]]
            return (max(xs) - min(xs) + 1) / w if xs else 0.0

        ratio = reach(range(top, top + band)) / max(
            0.01, reach(range(bottom - band + 1, bottom + 1))
        )
        return "I" if ratio >= 0.6 else "L" if ratio <= 0.4 else None
    if pair == "DO":
        side = max(1, round(0.15 * w))
        stem = sum(any(ink[r][c] for c in range(left, left + side)) for r in range(top, bottom + 1))
        share = stem / h
        return "D" if share >= 0.95 else "O" if share <= 0.8 else None
    return None


# The enclosed counters of OCR-B's characters: one over the whole height, one in the upper or
# lower half, two, or none (every character not listed).
_COUNTERS = {"0": "full", "O": "full", "Q": "full", "D": "full", "9": "upper", "P": "upper"}
_COUNTERS |= {"R": "upper", "A": "upper", "6": "lower", "8": "two", "B": "two"}
# What OCR reads for characters with counters, where the counter tells them apart.
_COUNTER_SWAPS = {"I": "9", "1": "9", "S": "9", "O": "9", "Q": "9", "D": "9", "G": "6"}


def counters(ink: list[list[bool]]) -> str | None:
    """The glyph's enclosed background regions, as ``_COUNTERS`` names them (None when the
    cell holds too little ink to tell)."""
    box = _extent(ink)
    if box is None:
        return None
    top, bottom, left, right = box
    h, w = bottom - top + 3, right - left + 3
    grid = [[False] * w for _ in range(h)]
    for y in range(top, bottom + 1):
        for x in range(left, right + 1):
            grid[y - top + 1][x - left + 1] = ink[y][x]
    seen = [[False] * w for _ in range(h)]
    found: list[tuple[float, float]] = []
    for sy in range(h):
        for sx in range(w):
            if grid[sy][sx] or seen[sy][sx]:
                continue
            stack, rows, outside = [(sy, sx)], [], False
            seen[sy][sx] = True
            while stack:
                y, x = stack.pop()
                rows.append(y)
                outside = outside or y in (0, h - 1) or x in (0, w - 1)
                for ny, nx in ((y + 1, x), (y - 1, x), (y, x + 1), (y, x - 1)):
                    if 0 <= ny < h and 0 <= nx < w and not grid[ny][nx] and not seen[ny][nx]:
                        seen[ny][nx] = True
                        stack.append((ny, nx))
            if not outside and len(rows) >= 3:
                found.append(((min(rows) - 1) / (h - 2), (max(rows) - 1) / (h - 2)))
    if not found:
        return "none"
    if len(found) >= 2:
        return "two"
    upper, lower = found[0]
    if upper <= 0.3 and lower >= 0.7:
        return "full"
    return "upper" if lower <= 0.62 else "lower" if upper >= 0.4 else None


def _pair_of(cell: Cell) -> tuple[str, dict[str, str]] | None:
    """The pair of confusable capitals among the cell's readings (a ``0`` standing for the
    ``O`` it is in a name), with which reading stands for which letter."""
    letters: dict[str, str] = {}
    for char, _ in cell:
        letter = "O" if char == "0" else char
        letters.setdefault(letter, char)
    for pair in ("IL", "DO"):
        if all(ch in letters for ch in pair) and cell[0][0] in (letters[pair[0]], letters[pair[1]]):
            return pair, letters
    return None


def _counter_swap(cell: Cell, ink: list[list[bool]]) -> str | None:
    """The reading that the glyph's counters call for, where they contradict OCR's first
    reading: among the cell's readings and the character OCR reads the top one for, exactly
    one has the counters seen. Only counters seen count (blur fills them, never adds one)."""
    top = cell[0][0]
    seen = counters(ink)
    if seen in (None, "none") or _COUNTERS.get(top, "none") == seen:
        return None
    candidates = {c for c, _ in cell} | set(_COUNTER_SWAPS.get(top, ""))
    fitting = [c for c in candidates if _COUNTERS.get(c, "none") == seen]
    return fitting[0] if len(fitting) == 1 else None


def _with_glyph_evidence(
    image: Image.Image,
    line: Sequence[Symbol],
    cells: list[Cell],
    origin: float,
    pitch: float,
) -> list[Cell]:
    """Each cell's reading checked against its ink: the filler put first where the ink has
    its shape and taken out of first place where it has not; the reading the glyph's
    counters or its shape (``I``/``L``, ``D``/``O``) call for put first where they
    contradict OCR's."""
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
        if x1 <= x0 or not cell:
            out.append(cell)
            continue
        ink = _ink(image, (x0, y0, x1, y1), threshold)
        verdict = is_filler_glyph(ink)
        found = _pair_of(cell)
        shape = letter_shape(ink, found[0]) if found is not None else None
        if verdict is True:
            rest = tuple((c[0], min(c[1], 50.0)) for c in cell if c[0] != "<")
            out.append((("<", 99.0), *rest))
        elif verdict is False and cell[0][0] == "<":
            out.append((*cell[1:], ("<", min(cell[0][1], 50.0))))
        elif swap := _counter_swap(cell, ink):
            out.append(_promoted(cell, swap))
        elif found is not None and shape is not None and found[1][shape] != cell[0][0]:
            out.append(_promoted(cell, found[1][shape]))
        else:
            out.append(cell)
    return out


def _ink_heights(
    image: Image.Image, line: Sequence[Symbol], width: int, origin: float, pitch: float
) -> list[float | None]:
    """Each cell's ink height in pixels, to a fraction of a pixel: every row counts with how
    dark its darkest pixel is (a row an edge crosses half-way is half dark), so the height
    does not depend on where the edges fall between pixel rows. None for a cell without ink."""
    top = statistics.median(s.box.top for s in line)
    bottom = statistics.median(s.box.bottom for s in line)
    pad = (bottom - top) * 0.5
    y0, y1 = max(0, round(top - pad)), min(image.height, round(bottom + pad))
    middle = (top + bottom) / 2 - y0
    extrema = image.crop((0, y0, image.width, y1)).getextrema()
    lo, hi = (int(extrema[0]), int(extrema[1])) if isinstance(extrema[0], int) else (0, 255)
    if hi - lo < 32 or y1 <= y0:
        return [None] * width
    heights: list[float | None] = []
    for index in range(width):
        x0 = max(0, round(origin + pitch * (index - 0.45)))
        x1 = min(image.width, round(origin + pitch * (index + 0.45)))
        if x1 <= x0:
            heights.append(None)
            continue
        data = image.crop((x0, y0, x1, y1)).tobytes()
        w = x1 - x0
        # Darkness against each row's own background: print over a tinted area (a photo, a
        # security pattern) is measured against that tint.
        rows = [data[r * w : (r + 1) * w] for r in range(y1 - y0)]
        contrast = [(max(row) - min(row)) / (hi - lo) for row in rows]
        full = max(contrast)
        if full < 0.4 or sum(c >= 0.5 * full for c in contrast) < 3:
            heights.append(None)
            continue
        dark = [c / full for c in contrast]
        # Rows below the noise floor are background; the darkest strokes count fully. Only
        # the glyph's own rows count: the run of inked rows nearest the line's middle (the
        # window is generous, and a neighbouring line may reach into it).
        runs: list[tuple[float, float]] = []  # (distance of the run's middle, its height)
        start, current = 0, 0.0
        for r, d in enumerate([*dark, 0.0]):
            if d >= _INK_LEVEL:
                if not current:
                    start = r
                current += min(1.0, d / 0.9)
            elif current:
                runs.append((abs((start + r - 1) / 2 - middle), current))
                current = 0.0
        heights.append(min(runs)[1] if runs else None)
    return heights


# Look-alikes of OCR-B that OCR confuses across the letter/digit divide.
_DIGIT_OF = {"O": "0", "Q": "0", "D": "0", "U": "0", "I": "1", "Z": "2", "S": "5", "G": "6"}
_DIGIT_OF |= {"B": "8", "A": "4", "T": "7"}
_LETTER_OF = {"0": "O", "1": "I", "2": "Z", "5": "S", "6": "G", "8": "B", "4": "A", "7": "T"}


def _promoted(cell: Cell, char: str) -> Cell:
    """``char`` first, as confident as the reading it replaces, which stays as the runner-up
    30 points behind."""
    first = cell[0]
    rest = tuple(c for c in cell[1:] if c[0] != char)
    return ((char, first[1]), (first[0], max(0.0, first[1] - 30)), *rest)


def _with_height_evidence(zone: list[list[Cell]], heights: list[list[float | None]]) -> None:
    """Characters of OCR-B differ in height: the filler is shorter than everything else, and
    some digits (``0``, ``2``, ``4``, ``6``, ``8``) rise above the capitals they are confused
    with (``O``, ``Z``, ``A``, ``G``, ``B``). The zone measures its own characters where the
    layout leaves no doubt about them (digits where every layout of its shape has digits,
    letters where every layout has letters, fillers where OCR read them); a cell whose height
    then clearly contradicts its reading, and fits a look-alike's, gets that look-alike as its
    first reading (in place). Positions where the layout allows letters and digits are the
    only ones changed between the two: elsewhere the layout already decides."""
    classes = shape_classes(len(zone), len(zone[0]))
    known: dict[str, list[float]] = {}
    for n, line in enumerate(zone):
        for i, cell in enumerate(line):
            height, top = heights[n][i], cell[0][0] if cell else ""
            kind = classes[n][i]
            if height is None or not top:
                continue
            digit = kind is CharClass.NUMERIC and top.isdigit()
            if top == "<" or digit or (kind is CharClass.ALPHA and top.isalpha()):
                known.setdefault(top, []).append(height)
    ref = {char: statistics.median(found) for char, found in known.items()}
    # Each letter counts once: a run of fillers misread as one letter would outvote the rest.
    letters = [height for char, height in ref.items() if char.isalpha()]
    if len(letters) < 3:
        return
    letter = statistics.median(letters)
    # A capital the zone has not shown is taken to be as tall as the tallest it has (capitals
    # differ little; this errs towards keeping a letter that OCR read).
    tallest = max(ref[c] for c in ref if c.isalpha())
    filler = ref.get("<") if len(known.get("<", ())) >= 4 else None
    # A cell this short holds a filler, when OCR offered one.
    short = None
    if filler is not None and letter - filler > 0.08 * letter:
        short = filler + 0.3 * (letter - filler)
    for n, line in enumerate(zone):
        for i, cell in enumerate(line):
            height = heights[n][i]
            if height is None or not cell:
                continue
            top = cell[0][0]
            offered = [c[0] for c in cell]
            if short is not None and top != "<" and "<" in offered and height <= short:
                line[i] = _promoted(cell, "<")
                continue
            if classes[n][i] not in (CharClass.ALNUM, None):
                continue
            if top in _DIGIT_OF:
                other = next((c for c in offered if c.isdigit()), _DIGIT_OF[top])
            elif top in _LETTER_OF:
                other = next((c for c in offered if c.isalpha()), _LETTER_OF[top])
            else:
                continue
            mine = ref.get(top, tallest if top.isalpha() else None)
            theirs = ref.get(other, tallest if other.isalpha() else None)
            if mine is None or theirs is None or abs(theirs - mine) < 0.03 * letter:
                continue
            if (height - mine) / (theirs - mine) >= 0.7:
                line[i] = _promoted(cell, other)
    if short is not None:
        _filler_runs(zone, heights, short)


def _filler_runs(zone: list[list[Cell]], heights: list[list[float | None]], short: float) -> None:
    """Fillers come in runs: a cell as short as a filler next to a filler is one too, even
    where OCR did not offer it (a blurred run of fillers reads as ``KKKK``). Grown outwards
    from the fillers already there, so a short-measured letter inside a name stays."""
    for n, line in enumerate(zone):
        changed = True
        while changed:
            changed = False
            for i, cell in enumerate(line):
                height = heights[n][i]
                if not cell or cell[0][0] == "<" or height is None or height > short:
                    continue
                near = [line[j] for j in (i - 1, i + 1) if 0 <= j < len(line)]
                if any(other and other[0][0] == "<" for other in near):
                    line[i] = _promoted(cell, "<")
                    changed = True


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
    for line, line_pitch in zip(long, pitches, strict=True):
        origin, fitted = _grid(line, width, line_pitch)
        cells = _cells(line, width, origin, fitted)
        if image is not None:
            cells = _with_glyph_evidence(image, line, cells, origin, fitted)
            heights.append(_ink_heights(image, line, width, origin, fitted))
        zone.append(cells)
    if image is not None:
        _with_height_evidence(zone, heights)
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
    symbols = read(_png(_prepared(crop, char_height, _TARGET_HEIGHT)))
    lines = _zone_lines(symbols)
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
        found = zone_cells(read(_png(prepared)), prepared)
        if found is not None:
            readings.append(found)
    cells = _pooled(readings)
    result = best_reading(cells, today=today) if cells else None
    if result is None or not result.valid:
        prepared = _prepared(crop, char_height, _TARGET_HEIGHT, threshold=True)
        found = zone_cells(read(_png(prepared)), prepared)
        if found is not None:
            pooled = _pooled([*readings, found])
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
