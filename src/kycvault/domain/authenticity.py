"""Authenticity signals and the score they make.

Each signal is evaluated on facts gathered by the processing stages and reports one of
``fired`` (a reason for doubt), ``passed`` (checked, nothing found) or ``not_applicable``
(nothing to check it on). The score starts at 100 and loses each fired signal's weight,
never going below 0; every signal is listed with its weight so a reviewer sees why.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import iso3166

from kycvault.domain.mrz import MrzResult

# Programs that edit images or PDFs, matched as whole words of the software's name: a
# camera's or scanner's own firmware ("Ver.1.00", "HDR+ 1.0"), a word processor exporting to
# PDF ("Microsoft Word") or a virtual printer ("PDF-XChange Printer") is not one of them.
EDITORS = (
    "photoshop",
    "lightroom",
    "gimp",
    "affinity",
    "pixelmator",
    "paint.net",
    "paintshop",
    "corel",
    "canva",
    "snapseed",
    "picsart",
    "fotor",
    "krita",
    "inkscape",
    "illustrator",
    "acrobat pro",
    "acrobat professional",
    "foxit phantompdf",
    "foxit pdf editor",
    "pdf-xchange editor",
    "nitro pro",
    "sejda",
    "ilovepdf",
    "smallpdf",
    "pdfescape",
    "pdffiller",
    "photopea",
    "pixlr",
)
_EDITOR = re.compile("|".join(rf"(?<![a-z0-9]){re.escape(name)}(?![a-z0-9])" for name in EDITORS))
# ICAO 9303 writes some issuing states differently from ISO 3166-1 alpha-3.
_ICAO_STATE = {"DEU": "D", "XKX": "RKS"}
# A PDF saved a minute or more after it was made was changed after creation.
_MODIFIED_GRACE = timedelta(minutes=1)


class Outcome(enum.StrEnum):
    FIRED = "fired"
    PASSED = "passed"
    NOT_APPLICABLE = "not_applicable"


@dataclass(frozen=True, slots=True)
class Signal:
    code: str
    weight: int
    outcome: Outcome
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "weight": self.weight,
            "outcome": self.outcome.value,
            "fired": self.outcome is Outcome.FIRED,
            "detail": self.detail,
        }


WEIGHTS = {
    "mrz_check_digits": 30,
    "mrz_number_mismatch": 25,
    "mrz_expiry_mismatch": 15,
    "mrz_country_mismatch": 10,
    "document_expired": 20,
    "image_edited": 25,
    "pdf_edited": 20,
    "duplicate_file": 35,
    "duplicate_document_number": 35,
    "type_mismatch": 15,
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


def _signal(code: str, fired: bool | None, detail: str) -> Signal:
    outcome = Outcome.NOT_APPLICABLE if fired is None else Outcome("fired" if fired else "passed")
    return Signal(code, WEIGHTS[code], outcome, detail)


def _unreliable(mrz: MrzResult, check: str) -> bool:
    """A field whose own check digit failed was misread or altered: the check-digit signal
    already says so, and comparing the field would count the same doubt twice."""
    return mrz.checks.get(check) is False


def _mrz_signals(facts: Facts) -> list[Signal]:
    mrz = facts.mrz
    if mrz is None:
        na = "no machine-readable zone was read"
        return [
            _signal(code, None, na)
            for code in (
                "mrz_check_digits",
                "mrz_number_mismatch",
                "mrz_expiry_mismatch",
                "mrz_country_mismatch",
            )
        ]
    failed = sorted(name for name, ok in mrz.checks.items() if not ok)
    out = [
        _signal(
            "mrz_check_digits",
            bool(failed),
            f"failed: {', '.join(failed)}" if failed else "every check digit passed",
        )
    ]
    if not facts.declared_number:
        out.append(_signal("mrz_number_mismatch", None, "no id_number declared"))
    elif _unreliable(mrz, "document_number"):
        out.append(
            _signal("mrz_number_mismatch", None, "the MRZ's document number fails its check")
        )
    else:
        same = normalise_number(facts.declared_number) == normalise_number(mrz.document_number)
        out.append(
            _signal(
                "mrz_number_mismatch",
                not same,
                "declared id_number matches the MRZ" if same else "declared id_number differs",
            )
        )
    if not (facts.declared_expiry and mrz.expiry_date):
        out.append(_signal("mrz_expiry_mismatch", None, "no expiry_date to compare"))
    elif _unreliable(mrz, "expiry_date"):
        out.append(_signal("mrz_expiry_mismatch", None, "the MRZ's expiry date fails its check"))
    else:
        same = facts.declared_expiry == mrz.expiry_date
        detail = "matches the MRZ" if same else f"the MRZ says {mrz.expiry_date.isoformat()}"
        out.append(_signal("mrz_expiry_mismatch", not same, f"declared expiry_date {detail}"))
    declared = alpha3(facts.declared_country)
    state = mrz.issuing_state.replace("<", "")
    if declared and state:
        same = same_state(declared, state)
        detail = "matches the MRZ" if same else f"the MRZ says {state}"
        out.append(_signal("mrz_country_mismatch", not same, f"declared issuing_country {detail}"))
    else:
        out.append(_signal("mrz_country_mismatch", None, "no issuing_country to compare"))
    return out


def _expiry_signal(facts: Facts) -> Signal:
    """Expired by the declared date or by the zone's own (check-digit-verified) date: a
    client's later date does not make an expired passport valid."""
    known: list[tuple[date, str]] = []
    if facts.declared_expiry:
        known.append((facts.declared_expiry, "declared"))
    mrz = facts.mrz
    if mrz is not None and mrz.expiry_date and not _unreliable(mrz, "expiry_date"):
        known.append((mrz.expiry_date, "MRZ"))
    if not known:
        return _signal("document_expired", None, "no expiry date known")
    expiry, source = min(known)
    if expiry < facts.today:
        return _signal("document_expired", True, f"expired on {expiry.isoformat()} ({source})")
    return _signal("document_expired", False, f"valid until {expiry.isoformat()}")


def _editor(names: Iterable[object]) -> str | None:
    for name in names:
        if isinstance(name, str) and _EDITOR.search(name.casefold()):
            return name
    return None


def _kind(trace: Mapping[str, Any]) -> str | None:
    """``image`` or ``pdf``: the reader says which; files of other kinds carry no traces."""
    kind = trace.get("kind")
    if kind is None and "pdf_revisions" in trace:
        return "pdf"
    return kind if isinstance(kind, str) else None


def _image_signal(facts: Facts) -> Signal:
    images = [t for t in facts.traces if _kind(t) == "image"]
    if not images:
        return _signal("image_edited", None, "no image files")
    for trace in images:
        tool = _editor([trace.get("exif_software"), *trace.get("xmp_tools", [])])
        if tool:
            return _signal("image_edited", True, f"saved by {tool}")
    return _signal("image_edited", False, "no trace of editing software")


def _when(value: object) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def _pdf_signal(facts: Facts) -> Signal:
    pdfs = [t for t in facts.traces if _kind(t) == "pdf"]
    if not pdfs:
        return _signal("pdf_edited", None, "no PDF files")
    reasons: list[str] = []
    for trace in pdfs:
        # Each digital signature is saved as an update of its own; those are not edits.
        revisions = int(trace.get("pdf_revisions") or 1)
        updates = max(0, revisions - 1 - int(trace.get("pdf_signed_updates") or 0))
        if updates:
            reasons.append(f"{updates} incremental update(s) after the first save")
        producer, creator = trace.get("pdf_producer"), trace.get("pdf_creator")
        tool = _editor([producer, creator, *trace.get("xmp_tools", [])])
        if tool:
            reasons.append(f"made or saved with {tool}")
        created, modified = _when(trace.get("pdf_created")), _when(trace.get("pdf_modified"))
        if created and modified and modified - created > _MODIFIED_GRACE:
            reasons.append("modified after it was created")
    if reasons:
        return _signal("pdf_edited", True, "; ".join(dict.fromkeys(reasons)))
    return _signal("pdf_edited", False, "one revision, no editing software, no later changes")


def _duplicates(facts: Facts) -> list[Signal]:
    number = (
        _signal(
            "duplicate_document_number",
            facts.same_number_elsewhere > 0,
            f"the same document number is on {facts.same_number_elsewhere} other subject(s)"
            if facts.same_number_elsewhere
            else "no other subject has this document number",
        )
        if normalise_number(facts.declared_number)
        or (facts.mrz and normalise_number(facts.mrz.document_number))
        else _signal("duplicate_document_number", None, "no document number known")
    )
    return [
        _signal(
            "duplicate_file",
            facts.same_file_elsewhere > 0,
            f"the same file is stored for {facts.same_file_elsewhere} other subject(s)"
            if facts.same_file_elsewhere
            else "no other subject has this file",
        ),
        number,
    ]


def _type_signal(facts: Facts) -> Signal:
    if facts.classified_type is None:
        return _signal("type_mismatch", None, "the content shows no type clearly")
    if facts.type_agrees:
        return _signal("type_mismatch", False, f"the content looks like {facts.classified_type}")
    return _signal(
        "type_mismatch",
        True,
        f"declared {facts.declared_type}, the content looks like {facts.classified_type}",
    )


def evaluate(facts: Facts) -> list[Signal]:
    return [
        *_mrz_signals(facts),
        _expiry_signal(facts),
        _image_signal(facts),
        _pdf_signal(facts),
        *_duplicates(facts),
        _type_signal(facts),
    ]


def score(signals: Iterable[Signal]) -> int:
    return max(0, 100 - sum(s.weight for s in signals if s.outcome is Outcome.FIRED))
