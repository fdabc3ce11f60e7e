"""How far a zone's reading can be trusted: a confidence for every field, and the fields whose
check digit cannot tell the reading from another one OCR found nearly as likely.

A check digit catches one misread character, but not every pair: look-alikes swap letters and
digits by amounts the modulus maps alike (``TZRB5CLPH`` read ``T2RBSCLPH`` passes the same
check digit, and the composite check with it, since it weighs those positions the same). So
for every field with a check digit the readings that change at most two of its characters
(its check digit included) to runner-ups whose probability is not negligible next to the
chosen character's are tried; any that passes the field's check digit and the composite check
makes the field ambiguous, with those readings as its alternatives. Fields without a check
digit (names, codes, sex, a card's optional data) are ambiguous where a single runner-up comes
that close and the composite check, where it covers the field, still passes; for the state
codes the other reading must be a state that exists. The fillers that pad a field out are
not read as characters.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import replace
from datetime import date

from kycvault.domain.mrz import (
    FILLER,
    CharClass,
    Check,
    Format,
    MrzResult,
    check_passes,
    is_state_code,
    parse,
)

# A cell: candidate characters, best first, each with a confidence of 0-100.
Cell = tuple[tuple[str, float], ...]
Position = tuple[int, int]

# A runner-up counts as a possible reading when its probability is at least this share of the
# chosen character's. Measured with bench/mrz_accuracy.py and a harsher set (150-200 dpi,
# blur, noise, JPEG 20-40, print and scan at once): no wrong reading of a checked field
# passed between 0.01 and 0.2; a misread name letter (``MZGUEL``) had its truth at 0.2 of
# the chosen letter, and 0.1 for fields without a check digit flags it while leaving most
# right readings known.
RUNNER_UP = 0.05
RUNNER_UP_UNCHECKED = 0.1
_MAX_SWAPS = 2
_TO_DIGIT = {"O": "0", "Q": "0", "D": "0", "U": "0", "I": "1", "L": "1", "J": "1", "T": "1"}
_TO_DIGIT |= {"Z": "2", "S": "5", "G": "6", "B": "8", "A": "4", "E": "3"}
_TO_LETTER = {"0": "O", "1": "I", "2": "Z", "5": "S", "6": "G", "8": "B", "4": "A", "3": "E"}


def fitted(char: str, kind: CharClass) -> str | None:
    """The character as it may stand in a position of class ``kind``; None if it cannot."""
    if char == FILLER:
        return char
    if kind is CharClass.NUMERIC:
        return char if char.isdigit() else _TO_DIGIT.get(char)
    if kind is CharClass.ALPHA:
        return char if char.isalpha() else _TO_LETTER.get(char)
    return char if char.isalnum() else None


def probabilities(cell: Cell, kind: CharClass) -> dict[str, float]:
    """What the cell's candidates make of each character the position may hold (0-1): the
    candidates' confidences, each counted for the character it stands for in this class,
    shared out over what the class allows."""
    shares: dict[str, float] = {}
    for char, conf in cell:
        fit = fitted(char.upper(), kind) if len(char) == 1 else None
        if fit is not None:
            shares[fit] = shares.get(fit, 0.0) + max(0.0, conf)
    total = sum(shares.values())
    return {char: share / total for char, share in shares.items()} if total else {}


def _positions(spans: Sequence[tuple[int, int, int]]) -> list[Position]:
    return [(line, i) for line, start, end in spans for i in range(start, end)]


def _check_positions(check: Check) -> list[Position]:
    spans = (*check.over, check.digit)
    return [(span.line, i) for span in spans for i in range(span.start, span.end)]


def _field_positions(fmt: Format, lines: Sequence[str]) -> dict[str, list[Position]]:
    """The positions each field of the result is read from (names split at ``<<``)."""
    out: dict[str, list[Position]] = {}
    for item in fmt.fields:
        span = item.span
        positions = _positions([(span.line, span.start, span.end)])
        if item.name == "names":
            text = lines[span.line][span.start : span.end]
            split = text.find(FILLER * 2)
            cut = span.start + (split if split >= 0 else len(text))
            out["surname"] = [p for p in positions if p[1] < cut]
            out["given_names"] = [p for p in positions if p[1] >= cut]
        elif item.name == "optional_data_2":
            out.setdefault("optional_data", []).extend(positions)
        else:
            out.setdefault(item.name, []).extend(positions)
    for check in fmt.checks:
        if check.name in out:  # a field's check digit is read with it
            out[check.name].append((check.digit.line, check.digit.start))
    return out


def _padding(fmt: Format, lines: Sequence[str]) -> set[Position]:
    """The fillers that pad a field out to its end. ICAO fields are written from their first
    position and padded with fillers, so a character there would be a field read longer
    than it is; the glyph model's faint runner-ups for fillers that security print crosses
    (a curve through a ``<`` reads a little like a ``6``) are no reading of the document."""
    out: set[Position] = set()
    for item in fmt.fields:
        span = item.span
        text = lines[span.line][span.start : span.end]
        end = len(text.rstrip(FILLER))
        if item.name == "names":
            end = max(end, 1)
        out.update((span.line, i) for i in range(span.start + end, span.end))
    return out


class _Zone:
    """The reading with each position's probabilities."""

    def __init__(
        self, result: MrzResult, cells: Sequence[Sequence[Cell]], fmt: Format, today: date
    ) -> None:
        self.today = today
        self.lines = list(result.lines)
        self.padding = _padding(fmt, self.lines)
        self.probs = [
            [probabilities(cell, fmt.char_class(n, i)) for i, cell in enumerate(line)]
            for n, line in enumerate(cells)
        ]

    def chosen(self, pos: Position) -> float:
        return self.probs[pos[0]][pos[1]].get(self.lines[pos[0]][pos[1]], 0.0)

    def runner_ups(self, pos: Position, ratio: float) -> list[str]:
        if pos in self.padding:
            return []
        here = self.chosen(pos)
        current = self.lines[pos[0]][pos[1]]
        return [
            char
            for char, p in self.probs[pos[0]][pos[1]].items()
            if char != current and p > 0 and p >= ratio * here
        ]

    def swapped(self, swaps: Sequence[tuple[Position, str]]) -> list[str]:
        rows = [list(line) for line in self.lines]
        for (line, i), char in swaps:
            rows[line][i] = char
        return ["".join(row) for row in rows]

    def value(self, lines: Sequence[str], name: str) -> str | None:
        other = parse(lines, today=self.today)
        if other is None:
            return None
        found = other.as_dict().get(name)
        return None if found is None else str(found)


def _checked(zone: _Zone, check: Check, composite: Check | None) -> tuple[str, ...]:
    """Other readings of ``check``'s field that pass it and the composite check."""
    positions = _check_positions(check)
    options = [(pos, char) for pos in positions for char in zone.runner_ups(pos, RUNNER_UP)]
    found: list[str] = []
    current = zone.value(zone.lines, check.name)
    for count in range(1, _MAX_SWAPS + 1):
        for combo in itertools.combinations(options, count):
            if len({pos for pos, _ in combo}) != count:
                continue
            trial = zone.swapped(combo)
            if not check_passes(check, trial):
                continue
            if composite is not None and not check_passes(composite, trial):
                continue
            value = zone.value(trial, check.name)
            if value is not None and value != current and value not in found:
                found.append(value)
    return tuple(found)


def _unchecked(
    zone: _Zone, name: str, positions: Sequence[Position], composite: Check | None
) -> tuple[str, ...]:
    """Other readings of a field without a check digit of its own, one character changed;
    where the composite check covers the field, they must pass it too."""
    current = zone.value(zone.lines, name)
    covered = set(_check_positions(composite)) if composite is not None else set()
    found: list[str] = []
    for pos in positions:
        for char in zone.runner_ups(pos, RUNNER_UP_UNCHECKED):
            trial = zone.swapped([(pos, char)])
            if pos in covered and composite is not None and not check_passes(composite, trial):
                continue
            value = zone.value(trial, name)
            if value is None or value == current or value in found:
                continue
            if name in ("issuing_state", "nationality") and not is_state_code(value):
                continue
            found.append(value)
    return tuple(found)


def assessed(
    result: MrzResult, cells: Sequence[Sequence[Cell]], fmt: Format, *, today: date
) -> MrzResult:
    """``result`` with the confidence of each field (the least probable of its characters)
    and its ambiguous fields, from the cells it was read from."""
    if len(cells) != len(result.lines) or any(
        len(line) != len(text) for line, text in zip(cells, result.lines, strict=True)
    ):
        return result
    if all(len(cell) == 1 and cell[0][1] >= 100 for line in cells for cell in line):
        return result  # text read without OCR (a PDF's text layer): nothing to measure
    zone = _Zone(result, cells, fmt, today)
    fields = _field_positions(fmt, zone.lines)
    confidence = {
        name: round(min((zone.chosen(pos) for pos in positions), default=1.0), 4)
        for name, positions in fields.items()
    }
    composite = next((c for c in fmt.checks if c.name == "composite"), None)
    ambiguous: dict[str, tuple[str, ...]] = {}
    checked = {check.name for check in fmt.checks}
    for check in fmt.checks:
        if check is composite or not result.checks.get(check.name):
            continue  # a failed check already leaves the field unknown
        others = _checked(zone, check, composite)
        if others:
            ambiguous[check.name] = others
    for name, positions in fields.items():
        if name in checked:
            continue
        others = _unchecked(zone, name, positions, composite)
        if others:
            ambiguous[name] = others
    return replace(result, confidence=confidence, ambiguous=ambiguous)
