"""What an authenticity signal is: its outcome, its rule (weight, severity, meaning) and
the facts signals are evaluated on; and the comparisons of document numbers and countries
that the signals and the listings share. The signals themselves: ``zone_signals.py`` (the
machine-readable zone against the document and the subject) and ``authenticity.py`` (files,
duplicates, type, and the score)."""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import iso3166

from kycvault.domain.mrz import MrzResult
from kycvault.domain.viz import Printed

# ICAO 9303 writes some issuing states differently from ISO 3166-1 alpha-3.
_ICAO_STATE = {"DEU": "D", "XKX": "RKS"}


class Outcome(enum.StrEnum):
    FIRED = "fired"
    PASSED = "passed"
    NOT_APPLICABLE = "not_applicable"


class Severity(enum.StrEnum):
    """How strongly a fired signal speaks against the document: ``high``, evidence of
    forgery or of a document that is not the subject's; ``medium``, an inconsistency a
    reviewer must look at; ``low``, a hint."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


@dataclass(frozen=True, slots=True)
class Rule:
    weight: int
    severity: Severity
    # What a fired signal means, for the documentation and the console.
    meaning: str


RULES: dict[str, Rule] = {
    "mrz_check_digits": Rule(
        30,
        Severity.HIGH,
        "a check digit of the machine-readable zone is wrong although it was "
        "read clearly: the zone was printed or altered wrongly",
    ),
    "mrz_number_mismatch": Rule(
        25, Severity.HIGH, "the document number given is not the one in the zone"
    ),
    "mrz_expiry_mismatch": Rule(
        15, Severity.MEDIUM, "the expiry date given is not the one in the zone"
    ),
    "mrz_country_mismatch": Rule(
        10, Severity.MEDIUM, "the issuing country given is not the one in the zone"
    ),
    "viz_mismatch": Rule(
        25, Severity.HIGH, "the page prints another number, date or name than its zone holds"
    ),
    "subject_name_mismatch": Rule(
        30, Severity.HIGH, "the name in the zone is not the subject's display name"
    ),
    "subject_birth_date_mismatch": Rule(
        25, Severity.HIGH, "the birth date in the zone is not the subject's"
    ),
    "document_expired": Rule(20, Severity.MEDIUM, "the document has expired"),
    "image_edited": Rule(25, Severity.HIGH, "an image was saved by editing software"),
    "pdf_edited": Rule(20, Severity.MEDIUM, "a PDF was changed after it was made"),
    "duplicate_file": Rule(35, Severity.HIGH, "the same file is stored for another subject"),
    "duplicate_document_number": Rule(
        35, Severity.HIGH, "the same document number belongs to another subject"
    ),
    "type_mismatch": Rule(15, Severity.LOW, "the content is not the type declared"),
    "portrait_missing": Rule(
        20, Severity.MEDIUM, "no page of an identity document shows the holder's portrait"
    ),
}
WEIGHTS = {code: rule.weight for code, rule in RULES.items()}
# A reading at least this sure (0-1) is what the document prints; below it, a failed check
# digit or a differing name may be OCR's doing and is not counted.
SURE_READING = 0.9


@dataclass(frozen=True, slots=True)
class Signal:
    code: str
    weight: int
    outcome: Outcome
    detail: str
    severity: Severity = Severity.MEDIUM

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "weight": self.weight,
            "severity": self.severity.value,
            "outcome": self.outcome.value,
            "fired": self.outcome is Outcome.FIRED,
            # One plain-English sentence, the same under both names (``detail`` came first).
            "detail": self.detail,
            "message": self.detail,
        }


@dataclass(frozen=True, slots=True)
class Facts:
    """What the signals are evaluated on."""

    today: date
    declared_number: str | None = None
    declared_expiry: date | None = None
    declared_country: str | None = None
    mrz: MrzResult | None = None
    # Per file: the editing traces the reader found (see adapters/reading/traces.py), with
    # ``kind`` ``image`` or ``pdf``.
    traces: Sequence[dict[str, Any]] = ()
    # Subjects other than the document's own holding the same file / document number.
    same_file_elsewhere: int = 0
    same_number_elsewhere: int = 0
    declared_type: str | None = None
    classified_type: str | None = None
    type_agrees: bool = True
    # The person the document is filed under (companies' documents are not compared).
    subject_name: str | None = None
    subject_birth_date: date | None = None
    # Declared fields that processing filled from the zone earlier: not compared with it.
    derived: frozenset[str] = frozenset()
    # Whether the document should carry a zone on what was uploaded (a passport, a visa,
    # the back of an ID card); without one read, the score is not assessed.
    zone_expected: bool = False
    # Whether the document's type prints the holder's portrait, and for each page read as
    # an image whether it shows one (pages not looked at are left out).
    portrait_expected: bool = False
    portraits: Sequence[bool] = ()
    # The labelled values the page prints beside the zone (the visual inspection zone).
    printed: Printed | None = None


@dataclass(frozen=True, slots=True)
class Assessment:
    """The signals, and the score they make, or why there is none (``not_assessed``)."""

    signals: list[Signal]
    score: int | None
    status: str
    reason: str | None = None


ASSESSED = "assessed"
NOT_ASSESSED = "not_assessed"


def normalise_number(value: str | None) -> str:
    return re.sub(r"[^A-Z0-9]", "", (value or "").upper())


def alpha3(code: str | None) -> str | None:
    """An ISO 3166-1 alpha-2 code as its alpha-3 (anything else as given, upper-cased)."""
    if not code:
        return None
    code = code.strip().upper()
    if len(code) == 2 and code in iso3166.countries_by_alpha2:
        return str(iso3166.countries_by_alpha2[code].alpha3)
    return code


def same_state(declared: str | None, state: str) -> bool:
    """Whether a declared country (alpha-2 or alpha-3) is the zone's issuing state, in the
    zone's spelling (``D`` for Germany, fillers dropped)."""
    code = alpha3(declared)
    return bool(code) and state.replace("<", "") in (code, _ICAO_STATE.get(code or ""))


def state_alpha3(state: str) -> str | None:
    """The zone's issuing state as an ISO 3166-1 alpha-3 code (``D`` is ``DEU``); None for
    ICAO's codes that name no country (organisations, stateless persons, the specimen state)."""
    code = state.replace("<", "")
    code = {icao: iso for iso, icao in _ICAO_STATE.items()}.get(code, code)
    return code if code in iso3166.countries_by_alpha3 else None


def make_signal(code: str, fired: bool | None, detail: str) -> Signal:
    outcome = Outcome.NOT_APPLICABLE if fired is None else Outcome("fired" if fired else "passed")
    rule = RULES[code]
    return Signal(code, rule.weight, outcome, detail, rule.severity)
