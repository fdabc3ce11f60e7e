"""Machine-readable zones (ICAO Doc 9303, parts 3-7): layouts, check digits, parsing.

Five layouts are read: TD1 (ID cards, 3 x 30), TD2 (2 x 36), TD3 (passports, 2 x 44) and the
machine-readable visas MRV-A (2 x 44) and MRV-B (2 x 36). Each layout is described once, as
fields with positions and a character class; the parser, the check-digit report and the OCR
correction (``mrz_correction.py``) all read those descriptions.

``parse`` never raises on bad input: text that is not a zone of a known layout gives None,
and a zone with wrong check digits is returned with those checks marked as failed.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import iso3166

FILLER = "<"
ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<")
_WEIGHTS = (7, 3, 1)


class CharClass(enum.Enum):
    """What a position may hold (besides the filler, which every position may)."""

    ALPHA = "A"  # letters: names, codes, sex
    NUMERIC = "N"  # digits: dates, check digits
    ALNUM = "X"  # document numbers, optional data


class Layout(enum.StrEnum):
    TD1 = "TD1"
    TD2 = "TD2"
    TD3 = "TD3"
    MRVA = "MRV-A"
    MRVB = "MRV-B"


@dataclass(frozen=True, slots=True)
class Span:
    """Characters ``start``-``end`` (exclusive) of line ``line``."""

    line: int
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    span: Span
    kind: CharClass


@dataclass(frozen=True, slots=True)
class Check:
    """A check digit at ``digit`` over the concatenation of ``over``."""

    name: str
    over: tuple[Span, ...]
    digit: Span
    # ICAO lets an empty optional field carry a filler instead of its check digit.
    filler_when_empty: bool = False


@dataclass(frozen=True, slots=True)
class Format:
    layout: Layout
    lines: int
    width: int
    fields: tuple[Field, ...]
    checks: tuple[Check, ...]

    def field(self, name: str) -> Field:
        return next(item for item in self.fields if item.name == name)

    def char_class(self, line: int, position: int) -> CharClass:
        for item in self.fields:
            if item.span.line == line and item.span.start <= position < item.span.end:
                return item.kind
        for check in self.checks:
            if check.digit.line == line and check.digit.start == position:
                return CharClass.NUMERIC
        return CharClass.ALNUM


def _f(name: str, line: int, start: int, end: int, kind: str) -> Field:
    return Field(name, Span(line, start, end), CharClass(kind))


def _c(
    name: str, over: Sequence[tuple[int, int, int]], digit: tuple[int, int], *, empty: bool = False
) -> Check:
    spans = tuple(Span(line, start, end) for line, start, end in over)
    return Check(name, spans, Span(digit[0], digit[1], digit[1] + 1), empty)


def _two_line(layout: Layout, width: int, *, composite: bool) -> Format:
    """TD2, TD3 and the visas share one shape: names on line 1, data on line 2."""
    optional_end = width - 1 if composite else width
    fields = (
        _f("document_code", 0, 0, 2, "A"),
        _f("issuing_state", 0, 2, 5, "A"),
        _f("names", 0, 5, width, "A"),
        _f("document_number", 1, 0, 9, "X"),
        _f("nationality", 1, 10, 13, "A"),
        _f("birth_date", 1, 13, 19, "N"),
        _f("sex", 1, 20, 21, "A"),
        _f("expiry_date", 1, 21, 27, "N"),
        _f(
            "optional_data",
            1,
            28,
            optional_end - 1 if layout is Layout.TD3 else optional_end,
            "X",
        ),
    )
    checks = [
        _c("document_number", [(1, 0, 9)], (1, 9)),
        _c("birth_date", [(1, 13, 19)], (1, 19)),
        _c("expiry_date", [(1, 21, 27)], (1, 27)),
    ]
    if layout is Layout.TD3:
        checks.append(_c("optional_data", [(1, 28, 42)], (1, 42), empty=True))
    if composite:
        checks.append(
            _c("composite", [(1, 0, 10), (1, 13, 20), (1, 21, width - 1)], (1, width - 1))
        )
    return Format(layout, 2, width, fields, tuple(checks))


FORMATS: dict[Layout, Format] = {
    Layout.TD1: Format(
        Layout.TD1,
        3,
        30,
        (
            _f("document_code", 0, 0, 2, "A"),
            _f("issuing_state", 0, 2, 5, "A"),
            _f("document_number", 0, 5, 14, "X"),
            _f("optional_data", 0, 15, 30, "X"),
            _f("birth_date", 1, 0, 6, "N"),
            _f("sex", 1, 7, 8, "A"),
            _f("expiry_date", 1, 8, 14, "N"),
            _f("nationality", 1, 15, 18, "A"),
            _f("optional_data_2", 1, 18, 29, "X"),
            _f("names", 2, 0, 30, "A"),
        ),
        (
            _c("document_number", [(0, 5, 14)], (0, 14)),
            _c("birth_date", [(1, 0, 6)], (1, 6)),
            _c("expiry_date", [(1, 8, 14)], (1, 14)),
            _c("composite", [(0, 5, 30), (1, 0, 7), (1, 8, 15), (1, 18, 29)], (1, 29)),
        ),
    ),
    Layout.TD2: _two_line(Layout.TD2, 36, composite=True),
    Layout.TD3: _two_line(Layout.TD3, 44, composite=True),
    Layout.MRVA: _two_line(Layout.MRVA, 44, composite=False),
    Layout.MRVB: _two_line(Layout.MRVB, 36, composite=False),
}


# Codes ICAO 9303 part 3 adds to ISO 3166-1 alpha-3: Germany's ``D``, the British
# nationality classes, UN agencies, stateless persons and refugees, Kosovo, the EU.
ICAO_CODES = frozenset(
    {"D<<", "GBD", "GBN", "GBO", "GBP", "GBS", "UNO", "UNA", "UNK", "XXA", "XXB", "XXC", "XXX"}
    | {"EUE", "RKS", "XOM", "XPO", "XCC", "XCO", "XEC", "XES", "XMP", "XBA", "XIM", "UTO"}
)
_ISO_ALPHA3 = frozenset(iso3166.countries_by_alpha3)


def is_state_code(code: str) -> bool:
    """An issuing state or nationality that exists (``UTO`` is ICAO's specimen state)."""
    return code in _ISO_ALPHA3 or code in ICAO_CODES


def char_value(ch: str) -> int:
    if ch.isdigit():
        return ord(ch) - 48
    if "A" <= ch <= "Z":
        return ord(ch) - 55
    return 0  # the filler, and anything else a caller failed to reject


def check_digit(text: str) -> str:
    """ICAO 9303 check digit: weights 7, 3, 1 repeating, modulo 10."""
    return str(sum(char_value(ch) * _WEIGHTS[i % 3] for i, ch in enumerate(text)) % 10)


def _text(lines: Sequence[str], span: Span) -> str:
    return lines[span.line][span.start : span.end]


def check_passes(check: Check, lines: Sequence[str]) -> bool:
    data = "".join(_text(lines, span) for span in check.over)
    digit = _text(lines, check.digit)
    if check.filler_when_empty and digit == FILLER and set(data) <= {FILLER}:
        return True
    return digit == check_digit(data)


def layout_for(lines: Sequence[str]) -> Format | None:
    """The layout whose shape the lines have (visas are told apart by their code ``V``)."""
    if len(lines) == 3 and all(len(line) == 30 for line in lines):
        return FORMATS[Layout.TD1]
    if len(lines) == 2 and len(lines[0]) == len(lines[1]):
        visa = lines[0][:1] == "V"
        if len(lines[0]) == 44:
            return FORMATS[Layout.MRVA if visa else Layout.TD3]
        if len(lines[0]) == 36:
            return FORMATS[Layout.MRVB if visa else Layout.TD2]
    return None


@dataclass(frozen=True, slots=True)
class MrzResult:
    """A parsed zone. Dates are None where the digits are not a date; ``checks`` maps each
    check digit of the layout to whether it passed."""

    layout: Layout
    lines: tuple[str, ...]
    document_code: str
    issuing_state: str
    surname: str
    given_names: str
    document_number: str
    nationality: str
    birth_date: date | None
    sex: str | None
    expiry_date: date | None
    optional_data: str
    checks: dict[str, bool] = field(default_factory=dict)
    # How sure the reading of each field is (0-1; absent: not measured, as for a PDF's text
    # layer, which is certain), and the fields read ambiguously: other readings of their
    # characters that OCR found nearly as likely also pass their check digits, so the check
    # digit cannot tell which one the document prints. Such a field is not known.
    confidence: dict[str, float] = field(default_factory=dict)
    ambiguous: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        """Every check digit passed and no field is ambiguous."""
        return all(self.checks.values()) and not self.ambiguous

    def known(self, name: str) -> bool:
        """Whether field ``name`` can be relied on: its check digit (if it has one) passed
        and it was not read ambiguously."""
        return self.checks.get(name) is not False and name not in self.ambiguous

    def as_dict(self) -> dict[str, object]:
        return {
            "layout": self.layout.value,
            "document_code": self.document_code,
            "issuing_state": self.issuing_state,
            "surname": self.surname,
            "given_names": self.given_names,
            "document_number": self.document_number,
            "nationality": self.nationality,
            "birth_date": self.birth_date.isoformat() if self.birth_date else None,
            "sex": self.sex,
            "expiry_date": self.expiry_date.isoformat() if self.expiry_date else None,
            "optional_data": self.optional_data,
            "checks": dict(self.checks),
            "confidence": dict(self.confidence),
            "ambiguous": {name: list(values) for name, values in self.ambiguous.items()},
            "valid": self.valid,
        }


def _strip(text: str) -> str:
    return text.replace(FILLER, " ").strip()


def _names(text: str) -> tuple[str, str]:
    surname, _, given = text.partition("<<")
    return _strip(surname), " ".join(_strip(given).split())


def _date(digits: str, today: date, *, future: bool) -> date | None:
    """YYMMDD. Birth dates are never in the future; expiry dates lie within the next 50
    years or in the past 50 (ICAO gives two digits of year and no century)."""
    if len(digits) != 6 or not digits.isdigit():
        return None
    yy, month, day = int(digits[:2]), int(digits[2:4]), int(digits[4:])
    century = today.year // 100 * 100
    year = century + yy
    if future:
        if year > today.year + 50:
            year -= 100
        elif year < today.year - 50:
            year += 100
    elif year > today.year:
        year -= 100
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _document_number(fmt: Format, lines: Sequence[str]) -> tuple[str, bool | None]:
    """The number, and for a TD1 number longer than nine characters (ICAO's extension into
    the optional field) the result of its relocated check digit."""
    number = _text(lines, fmt.field("document_number").span)
    if fmt.layout is Layout.TD1 and lines[0][14] == FILLER and lines[0][15] != FILLER:
        tail = lines[0][15:30].split(FILLER, 1)[0]
        if len(tail) >= 2:
            full = number + tail[:-1]
            return full, check_digit(full) == tail[-1]
    return number.rstrip(FILLER), None


def parse(lines: Sequence[str], *, today: date) -> MrzResult | None:
    """Parse a zone given as its lines (exact characters, no correction)."""
    cleaned = [line.strip().upper() for line in lines]
    fmt = layout_for(cleaned)
    if fmt is None or any(not set(line) <= ALPHABET for line in cleaned):
        return None
    values = {item.name: _text(cleaned, item.span) for item in fmt.fields}
    checks = {check.name: check_passes(check, cleaned) for check in fmt.checks}
    number, extended_check = _document_number(fmt, cleaned)
    if extended_check is not None:
        checks["document_number"] = extended_check
    surname, given = _names(values["names"])
    optional = _strip(values["optional_data"] + values.get("optional_data_2", ""))
    sex = values["sex"]
    return MrzResult(
        layout=fmt.layout,
        lines=tuple(cleaned),
        document_code=_strip(values["document_code"]),
        issuing_state=_strip(values["issuing_state"]),
        surname=surname,
        given_names=given,
        document_number=number,
        nationality=_strip(values["nationality"]),
        birth_date=_date(values["birth_date"], today, future=False),
        sex=sex if sex in ("M", "F", "X") else None,
        expiry_date=_date(values["expiry_date"], today, future=True),
        optional_data=optional,
        checks=checks,
    )
