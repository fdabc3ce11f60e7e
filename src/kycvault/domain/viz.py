"""The visual inspection zone (VIZ): what an identity page prints for people, read from the
page's OCR text and held against its machine-readable zone.

Documents print the number, names and dates twice: in the VIZ, under labels ("Passport No.",
"Surname", "Date of birth"…), and in the zone. The two readings come from different ink, so:

- where the zone was read *ambiguously* (several readings pass a check digit:
  ``MrzResult.ambiguous``), the one reading the page prints settles it, and the zone is
  parsed again with it (``reconcile``): a document number printed as any word of the page,
  a date under its label;
- where the VIZ prints a labelled value clearly not the zone's, that is evidence: a page
  whose printed number or birth date was changed, or a zone pasted from another document
  (``Printed.disagreements``). Values are compared with OCR's look-alikes folded together
  (``0/O/D/Q``, ``1/I/L``, ``5/S``, ``8/B``, ``2/Z``, ``6/G``) and a few further edits
  forgiven, so that a misread in the VIZ, which has no check digit, is not taken for a
  difference (a changed digit or two is then missed: the zone is what is checked).

Only the page's lines that are not the zone are read as the VIZ (a zone line holds fillers or
is a run of capitals and digits as long as a zone's).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from kycvault.domain.mrz import FILLER, FORMATS, Layout, MrzResult, parse
from kycvault.domain.name_match import compare as compare_names

_NUMBER_LABEL = re.compile(
    r"\b(?:PASSPORT|DOCUMENT|DOC|CARD|ID|IDENTITY|PERMIT|VISA)\.?\s*(?:NO|NUMBER|N°|NR|#)\b\.?",
    re.IGNORECASE,
)
_BIRTH_LABEL = re.compile(r"\b(?:DATE\s+OF\s+BIRTH|BIRTH\s*DATE|BORN)\b", re.IGNORECASE)
_EXPIRY_LABEL = re.compile(
    r"\b(?:DATE\s+OF\s+EXPIRY|EXPIRY\s*DATE|EXPIRES|VALID\s+UNTIL|DATE\s+OF\s+EXPIRATION)\b",
    re.IGNORECASE,
)
_SURNAME_LABEL = re.compile(r"\b(?:SURNAME|FAMILY\s+NAME|LAST\s+NAME)\b", re.IGNORECASE)
_ZONE_LINE = re.compile(r"^[A-Z0-9<]{25,}$")
_MONTHS = {
    name: n
    for n, name in enumerate(
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"),
        start=1,
    )
}
_DATE_NUMERIC = re.compile(r"\b(\d{1,2})[ ./-](\d{1,2})[ ./-](\d{4})\b")
_DATE_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_DATE_WORDS = re.compile(r"\b(\d{1,2})[ ./-]?([A-Z]{3})[A-Z]*[ ./-]?(\d{4})\b", re.IGNORECASE)
T = TypeVar("T")
# What OCR may do to a printed value and it still be the same: two characters (a third of a
# long number's) dropped, doubled or misread beyond the look-alikes; a changed value
# differs in more.
_TOLERATED = 2
_FOLD = str.maketrans({"O": "0", "Q": "0", "D": "0", "I": "1", "L": "1", "S": "5", "B": "8"})
_FOLD_MORE = str.maketrans({"Z": "2", "G": "6", "T": "7"})


def _fold(value: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", value.upper()).translate(_FOLD).translate(_FOLD_MORE)


def _exact(value: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", value.upper())


@dataclass(frozen=True, slots=True)
class Printed:
    """The labelled values the VIZ printed (None: not found)."""

    document_number: str | None = None
    birth_date: date | None = None
    expiry_date: date | None = None
    surname: str | None = None

    @property
    def found(self) -> bool:
        return any(getattr(self, f.name) is not None for f in dataclasses.fields(self))

    def disagreements(self, mrz: MrzResult) -> list[str]:
        """The fields the VIZ prints otherwise than the zone reads them (plain words), among
        the zone's fields that can be relied on. Printed text has no check digit and OCR
        misreads it (a character dropped or doubled, a look-alike): only values more than
        ``_TOLERATED`` edits (a third of a long value's characters) apart, look-alikes
        folded, count as printed otherwise."""
        found: list[str] = []
        if (
            self.document_number
            and mrz.known("document_number")
            and _apart(self.document_number, mrz.document_number)
        ):
            found.append(
                f"the printed document number is {self.document_number}, the zone's "
                f"{mrz.document_number}"
            )
        for name, printed, read in (
            ("birth date", self.birth_date, mrz.birth_date),
            ("expiry date", self.expiry_date, mrz.expiry_date),
        ):
            field = name.replace(" ", "_")
            if printed and read and mrz.known(field) and _apart(_ymd(printed), _ymd(read)):
                found.append(
                    f"the printed {name} is {printed.isoformat()}, the zone's {read.isoformat()}"
                )
        if self.surname and mrz.surname:
            names = compare_names(self.surname, mrz.surname, "")
            if names is not None and not names.same:
                found.append(f"the printed surname is {self.surname}, the zone's {mrz.surname}")
        return found


def _ymd(day: date) -> str:
    return day.strftime("%Y%m%d")


def _edits(a: str, b: str) -> int:
    """Levenshtein distance (the strings are a document number's length)."""
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def _apart(printed: str, read: str) -> bool:
    a, b = _fold(printed), _fold(read)
    return _edits(a, b) > max(_TOLERATED, len(b) // 3)


def _viz_lines(text: str) -> list[str]:
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return [
        line
        for line in lines
        if line
        and FILLER not in line
        and "\u00ab" not in line  # OCR reads a run of fillers as guillemets too
        and not _ZONE_LINE.match(line.replace(" ", ""))
    ]


def _after(lines: list[str], label: re.Pattern[str]) -> Iterable[str]:
    """The text after each ``label``: the rest of its line, then the next line."""
    for i, line in enumerate(lines):
        found = label.search(line)
        if found is None:
            continue
        rest = line[found.end() :].strip(" :/.-")
        if rest:
            yield rest
        if i + 1 < len(lines):
            yield lines[i + 1]


def _date(text: str) -> date | None:
    for pattern, order in ((_DATE_ISO, "ymd"), (_DATE_NUMERIC, "dmy"), (_DATE_WORDS, "dMy")):
        match = pattern.search(text)
        if match is None:
            continue
        a, b, c = match.groups()
        try:
            if order == "ymd":
                return date(int(a), int(b), int(c))
            if order == "dmy":
                return date(int(c), int(b), int(a))
            month = _MONTHS.get(b[:3].upper())
            return date(int(c), month, int(a)) if month else None
        except ValueError:
            continue
    return None


def _number(text: str) -> str | None:
    for token in re.split(r"[\s:]+", text):
        cleaned = _exact(token)
        if 6 <= len(cleaned) <= 20 and any(ch.isdigit() for ch in cleaned):
            return cleaned
    return None


def _first(values: Iterable[str], parse_value: Callable[[str], T | None]) -> T | None:
    for value in values:
        found = parse_value(value)
        if found is not None:
            return found
    return None


def printed(text: str) -> Printed:
    """The labelled values of the page's OCR text (the zone's own lines left out)."""
    lines = _viz_lines(text)
    number = _first(_after(lines, _NUMBER_LABEL), _number)
    born = _first(_after(lines, _BIRTH_LABEL), _date)
    expires = _first(_after(lines, _EXPIRY_LABEL), _date)
    surname = next(
        (v for v in _after(lines, _SURNAME_LABEL) if re.fullmatch(r"[^\d]{2,}", v)), None
    )
    return Printed(number, born, expires, surname)


def _printed_as_field(seen: Printed, name: str) -> str | None:
    """What the VIZ prints under a label for the zone's date field ``name``, written as the
    zone writes it."""
    value = {"birth_date": seen.birth_date, "expiry_date": seen.expiry_date}.get(name)
    return value.strftime("%y%m%d") if value else None


def _shown(name: str, reading: str, words: set[str], seen: Printed) -> bool:
    """Whether the page prints ``reading`` of field ``name``: a document number as any word
    of the page (labels vary too much between documents to need one), a date under its
    label."""
    if name == "document_number":
        return _exact(reading) in words
    printed_value = _printed_as_field(seen, name)
    return printed_value is not None and _exact(reading) == printed_value


def reconcile(mrz: MrzResult, text: str, *, today: date) -> MrzResult:
    """``mrz`` with each ambiguous field the page's printed text settles: of the zone's
    readings (its own and the alternatives), the one the page prints, when exactly one is;
    the zone is then parsed again with it. Fields the page does not settle stay ambiguous,
    and so does everything when the zone parsed again fails a check."""
    if not mrz.ambiguous:
        return mrz
    lines_read = _viz_lines(text)
    words = {word for line in lines_read for word in re.findall(r"[A-Z0-9]+", line.upper())}
    seen = printed(text)
    fmt = FORMATS[Layout(mrz.layout)]
    lines = list(mrz.lines)
    ambiguous = dict(mrz.ambiguous)
    for name, alternatives in mrz.ambiguous.items():
        field = next((f for f in fmt.fields if f.name == name), None)
        if field is None:
            continue
        span = field.span
        width = span.end - span.start
        current = lines[span.line][span.start : span.end]
        readings = [current, *(a.ljust(width, FILLER)[:width] for a in alternatives)]
        matching = [r for r in dict.fromkeys(readings) if _shown(name, r, words, seen)]
        if len(matching) != 1:
            continue
        line = lines[span.line]
        lines[span.line] = line[: span.start] + matching[0] + line[span.end :]
        del ambiguous[name]
    if ambiguous == mrz.ambiguous:
        return mrz
    reparsed = parse(lines, today=today)
    if reparsed is None or not all(reparsed.checks.values()):
        return mrz
    return dataclasses.replace(reparsed, confidence=dict(mrz.confidence), ambiguous=ambiguous)
