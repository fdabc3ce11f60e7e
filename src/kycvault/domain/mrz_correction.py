"""Turning what OCR saw into a zone: the MRZ alphabet, each position's character class and the
check digits decide between the readings OCR offers, never a guess.

OCR reports, for every character cell of a line, its candidate characters best first with a
confidence (Tesseract's LSTM choices). The general-purpose models misread the ``<`` filler (as
``K``, ``X`` or ``C``, or drop it) and confuse ``0``/``O``, ``1``/``I``, ``5``/``S``, ``8``/``B``.
The correction:

1. maps each candidate onto its position's class (a letter where only digits may stand becomes
   the digit it resembles, and the reverse), and treats a cell where nothing was read as a
   filler (the adapter places characters into cells by the zone's fixed pitch);
2. for every check digit that fails, looks for substitutions among the candidates of the
   positions it covers (at most two) that make it pass, and makes the cheapest only when the
   check digit decides: it must cost less than a look-alike OCR did not offer, and beat every
   other passing substitution clearly (several often pass: look-alikes shift the check sum
   by amounts the modulus maps alike). A check digit OCR read confidently is never changed,
   and where the layout has a composite check that still fails afterwards, the fields it
   covers keep what OCR read: a wrong check digit as printed stays failed;
3. in the names field, short runs standing between fillers whose every cell OCR also read as
   the filler are fillers (no name field of ICAO 9303 holds such runs, and the reading was
   offered by OCR itself).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from kycvault.domain.mrz import (
    FILLER,
    FORMATS,
    CharClass,
    Check,
    Format,
    Layout,
    MrzResult,
    check_passes,
    is_state_code,
    parse,
)
from kycvault.domain.mrz_confidence import Cell as Cell
from kycvault.domain.mrz_confidence import assessed, fitted

# Characters OCR-B readings are known to confuse, both ways.
_LOOKALIKES: dict[str, str] = {
    "0": "OQD",
    "O": "0QD",
    "Q": "0O9",
    "D": "0O",
    "1": "IL",
    "I": "1L",
    "L": "1I",
    "2": "Z",
    "Z": "2",
    "5": "S",
    "S": "5",
    "6": "G",
    "G": "6",
    "8": "B",
    "B": "8",
    "9": "Q",
    "4": "A",
    "A": "4",
    "7": "T",
    "T": "7",
    "3": "E",
    "E": "3",
}
# What giving up OCR's reading for a look-alike it did not offer costs (confidence points);
# alternatives OCR offered cost the confidence they trail the best reading by.
_LOOKALIKE_COST = 40.0
_MIN_OFFERED = 5.0
_MAX_CHANGES = 2
_MAX_OPTIONS = 5
# A repair costs less than this, and beats the next repair that passes by this much. Look-alikes
# OCR did not offer (``_LOOKALIKE_COST``) are allowed only where the composite check can still
# refute the repair.
_MAX_COST = 90.0
_MARGIN = 15.0
# A check digit OCR read this confidently as a digit is what the document prints: a check
# that fails over it is reported failed, never passed by changing the digit.
_SURE_DIGIT = 85.0


@dataclass(frozen=True, slots=True)
class _Option:
    char: str
    cost: float  # confidence given up against the best reading


def _options(cell: Cell, kind: CharClass, limit: int = _MAX_OPTIONS) -> list[_Option]:
    readings = [(ch.upper(), conf) for ch, conf in cell if len(ch) == 1]
    if not readings:
        return [_Option(FILLER, 0.0)]
    best = readings[0][1]
    costs: dict[str, float] = {}
    for rank, (char, conf) in enumerate(readings):
        if rank and conf < _MIN_OFFERED:
            continue
        fit = fitted(char, kind)
        if fit is not None and fit not in costs:
            costs[fit] = max(0.0, best - conf) + (0.0 if fit == char else 1.0)
    first = next(iter(costs), readings[0][0])
    for lookalike in _LOOKALIKES.get(first, ""):
        if fitted(lookalike, kind) == lookalike and lookalike not in costs:
            costs[lookalike] = _LOOKALIKE_COST
    if not costs:
        costs[FILLER] = _LOOKALIKE_COST
    ranked = sorted(costs.items(), key=lambda item: item[1])
    return [_Option(char, cost) for char, cost in ranked[:limit]]


def _positions(check: Check) -> list[tuple[int, int]]:
    spans = (*check.over, check.digit)
    return [(span.line, i) for span in spans for i in range(span.start, span.end)]


def _repair(
    check: Check,
    grid: list[list[str]],
    options: list[list[list[_Option]]],
    frozen: set[tuple[int, int]],
    limit: float,
) -> bool:
    """Make ``check`` pass with the cheapest change of at most ``_MAX_CHANGES`` positions
    outside ``frozen``. The change is made only when the check digit decides: the cheapest
    change must cost less than ``limit`` and beat every other change that also passes by
    ``_MARGIN`` (look-alikes swap letters and digits with weights the modulus often maps
    alike, so several changes may pass, and picking one would be a guess). Leaves ``grid``
    unchanged and returns False otherwise."""
    if check_passes(check, ["".join(row) for row in grid]):
        return True
    choices = [
        (pos, option)
        for pos in _positions(check)
        if pos not in frozen
        for option in options[pos[0]][pos[1]][1:]
    ]
    passing: list[tuple[float, tuple[tuple[tuple[int, int], _Option], ...]]] = []
    for count in range(1, _MAX_CHANGES + 1):
        for combo in itertools.combinations(choices, count):
            if len({pos for pos, _ in combo}) != count:
                continue
            cost = sum(option.cost for _, option in combo)
            if cost >= limit + _MARGIN:
                continue
            saved = [(pos, grid[pos[0]][pos[1]]) for pos, _ in combo]
            for (line, i), option in combo:
                grid[line][i] = option.char
            if check_passes(check, ["".join(row) for row in grid]):
                passing.append((cost, combo))
            for (line, i), char in saved:
                grid[line][i] = char
    passing.sort(key=lambda item: item[0])
    if not passing or passing[0][0] >= limit:
        return False
    if len(passing) > 1 and passing[1][0] - passing[0][0] < _MARGIN:
        return False
    for (line, i), option in passing[0][1]:
        grid[line][i] = option.char
    return True


def _repair_codes(fmt: Format, grid: list[list[str]], options: list[list[list[_Option]]]) -> None:
    """Issuing state and nationality are codes of a closed list (ISO 3166-1 alpha-3 and
    ICAO's additions): a code outside it takes the cheapest single alternative OCR offered
    that is inside it, when no other such alternative comes close."""
    for name in ("issuing_state", "nationality"):
        span = fmt.field(name).span
        row = grid[span.line]
        if is_state_code("".join(row[span.start : span.end])):
            continue
        candidates: list[tuple[float, int, str]] = []
        for i in range(span.start, span.end):
            for option in options[span.line][i][1:]:
                trial = [*row[span.start : i], option.char, *row[i + 1 : span.end]]
                if is_state_code("".join(trial)):
                    candidates.append((option.cost, i, option.char))
        candidates.sort()
        if candidates and (len(candidates) == 1 or candidates[1][0] - candidates[0][0] >= _MARGIN):
            _, i, char = candidates[0]
            row[i] = char


def _clean_names(fmt: Format, grid: list[list[str]], options: list[list[list[_Option]]]) -> None:
    """Short runs (one or two characters) standing between fillers in the names field, each
    of whose cells OCR also read as the filler, are fillers: the general models read runs
    of fillers as ``K``, ``KK`` or ``X``, and a run whose every cell OCR itself offered as the
    filler is no evidence of a name."""
    span = fmt.field("names").span
    row = grid[span.line]
    i = span.start + 2  # the surname's first letters are never taken for fillers
    while i < span.end:
        if row[i] == FILLER:
            i += 1
            continue
        run = i
        while run < span.end and row[run] != FILLER:
            run += 1
        offered = all(any(o.char == FILLER for o in options[span.line][k]) for k in range(i, run))
        if run - i <= 2 and row[i - 1] == FILLER and offered:
            for k in range(i, run):
                row[k] = FILLER
        i = run


def _sure_digit(cell: Cell) -> bool:
    return bool(cell) and cell[0][0].isdigit() and cell[0][1] >= _SURE_DIGIT


def correct(cells: Sequence[Sequence[Cell]], fmt: Format, *, today: date) -> MrzResult | None:
    """The zone of layout ``fmt`` from per-cell OCR candidates (one sequence per line, each
    exactly as wide as the layout)."""
    if len(cells) != fmt.lines or any(len(line) != fmt.width for line in cells):
        return None
    options = [
        [_options(cell, fmt.char_class(n, i)) for i, cell in enumerate(line)]
        for n, line in enumerate(cells)
    ]
    grid = [[opts[0].char for opts in line] for line in options]
    frozen = {
        (check.digit.line, check.digit.start)
        for check in fmt.checks
        if _sure_digit(cells[check.digit.line][check.digit.start])
    }
    read = [row[:] for row in grid]
    # Field checks first; the composite then may only change what no passing check covers.
    composite = next((check for check in fmt.checks if check.name == "composite"), None)
    ordered = sorted(fmt.checks, key=lambda check: check is composite)
    for check in ordered:
        confirmed = composite is not None and check is not composite
        limit = _MAX_COST if confirmed else _LOOKALIKE_COST
        if _repair(check, grid, options, frozen, limit):
            frozen.update(_positions(check))
    if composite is not None and not check_passes(composite, ["".join(row) for row in grid]):
        # The composite covers every field check and its digit: a field repaired into
        # passing while the composite still fails was repaired against the document (its
        # check digit is wrong as printed, or the change was a guess). Such fields keep
        # what OCR read, and their checks fail.
        for line, i in _positions(composite):
            grid[line][i] = read[line][i]
    # A code of the closed list may take any reading OCR offered: the list is the check.
    every = [
        [_options(cell, fmt.char_class(n, i), limit=len(cell) + 1) for i, cell in enumerate(line)]
        for n, line in enumerate(cells)
    ]
    _repair_codes(fmt, grid, every)
    _clean_names(fmt, grid, options)
    result = parse(["".join(row) for row in grid], today=today)
    return assessed(result, cells, fmt, today=today) if result is not None else None


def layouts_for(lines: int, width: int, first_char: str | None = None) -> list[Format]:
    """Layouts a zone of this shape may have; a leading ``V`` puts the visa first."""
    matching = [fmt for fmt in FORMATS.values() if fmt.lines == lines and fmt.width == width]
    visa = first_char == "V"
    return sorted(matching, key=lambda fmt: (fmt.layout in (Layout.MRVA, Layout.MRVB)) != visa)


def shape_classes(lines: int, width: int) -> list[list[CharClass | None]]:
    """For a zone of this shape, the class each position has in every layout of the shape
    (None where the layouts disagree; no position where none has this shape)."""
    matching = [fmt for fmt in FORMATS.values() if fmt.lines == lines and fmt.width == width]
    classes: list[list[CharClass | None]] = []
    for n in range(lines):
        row: list[CharClass | None] = []
        for i in range(width):
            kinds = {fmt.char_class(n, i) for fmt in matching}
            row.append(kinds.pop() if len(kinds) == 1 else None)
        classes.append(row)
    return classes


def best_reading(cells: Sequence[Sequence[Cell]], *, today: date) -> MrzResult | None:
    """The zone read in the layout its shape and document code name (ICAO 9303: visas
    begin with ``V``, and only visas do); the other layouts of the shape only when that one
    does not parse. Of several, the one with most check digits passed."""
    if not cells:
        return None
    first = cells[0][0][0][0].upper() if cells[0] and cells[0][0] else None
    shaped = layouts_for(len(cells), len(cells[0]), first)
    visa = first == "V"
    named = [fmt for fmt in shaped if (fmt.layout in (Layout.MRVA, Layout.MRVB)) == visa]
    for group in (named, shaped):
        results = [r for fmt in group if (r := correct(cells, fmt, today=today)) is not None]
        if results:
            return max(results, key=lambda r: (_score(r), r.valid))
    return None


def _score(result: MrzResult) -> float:
    return sum(result.checks.values()) / max(1, len(result.checks))


def text_cells(line: str) -> list[Cell]:
    """Cells for text read without OCR (a PDF's text layer): one certain candidate each."""
    return [((ch, 100.0),) for ch in line]
