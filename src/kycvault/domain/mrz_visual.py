"""The visual zone (the page's printed fields) settling an ambiguous document number.

Where the check digits cannot tell the zone's reading of the number from another one
(``mrz_confidence.py``), the number printed elsewhere on the page can: read independently,
by another model, it agrees with one of the readings or with none. Exactly one reading
printed as a word of the page's text settles the field; none, or more than one, leaves it
ambiguous. The zone's own lines in the page's text (they hold the number too) are left out:
they are no second witness.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date

from kycvault.domain.mrz import FILLER, FORMATS, MrzResult, parse

_WORD = re.compile(r"[A-Z0-9]+")
_FIELD = "document_number"


def _printed_words(text: str) -> set[str]:
    """The words of the page outside its machine-readable lines (any line with a filler)."""
    words: set[str] = set()
    for line in text.upper().splitlines():
        if FILLER in line or "«" in line:
            continue
        words.update(_WORD.findall(line))
    return words


def _with_number(result: MrzResult, number: str, *, today: date) -> MrzResult | None:
    """The zone with ``number`` in its document number field (nine characters or fewer)."""
    span = FORMATS[result.layout].field(_FIELD).span
    if len(number) > span.end - span.start:
        return None
    lines = list(result.lines)
    row = lines[span.line]
    padded = number.ljust(span.end - span.start, FILLER)
    lines[span.line] = row[: span.start] + padded + row[span.end :]
    return parse(lines, today=today)


def settled_by_visual_zone(result: MrzResult, text: str, *, today: date) -> MrzResult:
    """``result`` with its ambiguous document number settled by the page's printed one,
    where exactly one of the readings is printed; unchanged otherwise."""
    others = result.ambiguous.get(_FIELD)
    if not others:
        return result
    printed = _printed_words(text)
    readings = [result.document_number, *others]
    seen = [reading for reading in readings if reading in printed]
    if len(seen) != 1:
        return result
    ambiguous = {name: values for name, values in result.ambiguous.items() if name != _FIELD}
    if seen[0] == result.document_number:
        return replace(result, ambiguous=ambiguous)
    other = _with_number(result, seen[0], today=today)
    if other is None or not all(other.checks.values()):
        return result
    return replace(other, confidence=dict(result.confidence), ambiguous=ambiguous)
