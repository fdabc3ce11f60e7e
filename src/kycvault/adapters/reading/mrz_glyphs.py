"""Evidence from the zone's own ink: what OCR's readings of a cell are checked against.

OCR-B is a fixed design (ICAO 9303 part 3), so the shapes of its characters say things a
general-purpose model does not know: the filler ``<`` is two strokes meeting at the left,
shorter than a letter; ``0 2 4 6 8`` stand taller than the ``O Z A G B`` they are mistaken
for; ``9``, ``6``, ``0`` have holes that ``I``, ``S``, ``G`` have not; ``I`` has a bar on
top that ``L`` lacks. Cells whose reading their ink contradicts take the reading the ink
supports (``mrz_band.py`` places the cells; the domain decides the zone).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from PIL import Image

from kycvault.adapters.reading.tesseract import Symbol
from kycvault.domain.mrz import CharClass
from kycvault.domain.mrz_correction import Cell, shape_classes

# Rows lighter than this share of the line's contrast hold no ink (paper, noise).
_INK_LEVEL = 0.3


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
    holes: list[tuple[float, float]] = []
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
                holes.append(((min(rows) - 1) / (h - 2), (max(rows) - 1) / (h - 2)))
    if not holes:
        return "none"
    if len(holes) >= 2:
        return "two"
    upper, lower = holes[0]
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


def with_glyph_evidence(
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
        pair = _pair_of(cell)
        shape = letter_shape(ink, pair[0]) if pair is not None else None
        if verdict is True:
            rest = tuple((c[0], min(c[1], 50.0)) for c in cell if c[0] != "<")
            out.append((("<", 99.0), *rest))
        elif verdict is False and cell[0][0] == "<":
            out.append((*cell[1:], ("<", min(cell[0][1], 50.0))))
        elif swap := _counter_swap(cell, ink):
            out.append(_promoted(cell, swap))
        elif pair is not None and shape is not None and pair[1][shape] != cell[0][0]:
            out.append(_promoted(cell, pair[1][shape]))
        else:
            out.append(cell)
    return out


def ink_heights(
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


def with_height_evidence(zone: list[list[Cell]], heights: list[list[float | None]]) -> None:
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
    ref = {char: statistics.median(samples) for char, samples in known.items()}
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
