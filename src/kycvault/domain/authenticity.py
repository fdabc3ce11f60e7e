"""Authenticity signals and the score they make.

Each signal is evaluated on facts gathered by the processing stages and reports one of
``fired`` (a reason for doubt), ``passed`` (checked, nothing found) or ``not_applicable``
(nothing to check it on, or nothing read with enough certainty to check). Each has a fixed
weight and severity (``RULES``, listed in the README) and a plain-English message. The
score starts at 100 and loses each fired signal's weight, never going below 0.

What OCR could not read with certainty is never evidence: a field read ambiguously, or a
check digit that fails on characters read with low confidence, makes its signals not
applicable rather than fired. And a score is given only when the decisive stages ran: a
passport or visa whose machine-readable zone was not found (nor the back of an ID card
whose zone was not) is ``not_assessed``, its score null, rather than 100 for want of
evidence (``assess``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from kycvault.domain.signals import (
    ASSESSED,
    NOT_ASSESSED,
    RULES,
    SURE_READING,
    WEIGHTS,
    Assessment,
    Facts,
    Outcome,
    Rule,
    Severity,
    Signal,
    alpha3,
    make_signal,
    normalise_number,
    same_state,
    state_alpha3,
)
from kycvault.domain.zone_signals import expiry_signal, zone_signals

# What the other layers import from here.
__all__ = [
    "ASSESSED",
    "NOT_ASSESSED",
    "RULES",
    "SURE_READING",
    "WEIGHTS",
    "Assessment",
    "Facts",
    "Outcome",
    "Rule",
    "Severity",
    "Signal",
    "alpha3",
    "assess",
    "evaluate",
    "normalise_number",
    "portrait_expected",
    "same_state",
    "score",
    "state_alpha3",
    "unreadable",
    "zone_expected",
]

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
# A PDF saved a minute or more after it was made was changed after creation.
_MODIFIED_GRACE = timedelta(minutes=1)


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
        return make_signal("image_edited", None, "There are no image files.")
    for trace in images:
        tool = _editor([trace.get("exif_software"), *trace.get("xmp_tools", [])])
        if tool:
            return make_signal("image_edited", True, f"An image was saved by {tool}.")
    return make_signal("image_edited", False, "No image carries a trace of editing software.")


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
        return make_signal("pdf_edited", None, "There are no PDF files.")
    reasons: list[str] = []
    for trace in pdfs:
        # Each digital signature is saved as an update of its own; those are not edits.
        revisions = int(trace.get("pdf_revisions") or 1)
        updates = max(0, revisions - 1 - int(trace.get("pdf_signed_updates") or 0))
        if updates:
            reasons.append(f"it was changed {updates} time(s) after it was first saved")
        producer, creator = trace.get("pdf_producer"), trace.get("pdf_creator")
        tool = _editor([producer, creator, *trace.get("xmp_tools", [])])
        if tool:
            reasons.append(f"it was made or saved with {tool}")
        created, modified = _when(trace.get("pdf_created")), _when(trace.get("pdf_modified"))
        if created and modified and modified - created > _MODIFIED_GRACE:
            reasons.append("it was modified after it was created")
    if reasons:
        return make_signal(
            "pdf_edited", True, f"A PDF shows editing: {'; '.join(dict.fromkeys(reasons))}."
        )
    return make_signal(
        "pdf_edited", False, "Each PDF has one revision, no editing software and no later changes."
    )


def _duplicates(facts: Facts) -> list[Signal]:
    known = normalise_number(facts.declared_number) or (
        facts.mrz is not None and normalise_number(facts.mrz.document_number)
    )
    elsewhere = facts.same_number_elsewhere
    number = (
        make_signal(
            "duplicate_document_number",
            elsewhere > 0,
            f"The same document number is on {elsewhere} other subject(s)."
            if elsewhere
            else "No other subject has this document number.",
        )
        if known
        else make_signal("duplicate_document_number", None, "No document number is known.")
    )
    same_file = facts.same_file_elsewhere
    return [
        make_signal(
            "duplicate_file",
            same_file > 0,
            f"The same file is stored for {same_file} other subject(s)."
            if same_file
            else "No other subject has this file.",
        ),
        number,
    ]


def _a(type_name: str | None) -> str:
    """A type name as words with its article: ``utility_bill`` is "a utility bill"."""
    words = (type_name or "document").replace("_", " ")
    return f"{'an' if words[:1] in 'aeio' else 'a'} {words}"


def _type_signal(facts: Facts) -> Signal:
    if facts.classified_type is None:
        return make_signal("type_mismatch", None, "The content shows no type clearly.")
    looks = _a(facts.classified_type)
    if facts.type_agrees:
        return make_signal("type_mismatch", False, f"The content looks like {looks}, as declared.")
    return make_signal(
        "type_mismatch",
        True,
        f"The document was declared {_a(facts.declared_type)}, but its content looks like {looks}.",
    )


# Identity documents that print their holder's portrait.
_WITH_PORTRAIT = frozenset(
    {"passport", "visa", "national_id", "passport_card", "drivers_permit", "state_id"}
    | {"nyc_id", "military_id", "green_card"}
)


def portrait_expected(type_name: str) -> bool:
    return type_name in _WITH_PORTRAIT


def _portrait_signal(facts: Facts) -> Signal:
    code = "portrait_missing"
    if not facts.portrait_expected:
        return make_signal(code, None, "Documents of this type carry no portrait.")
    if not facts.portraits:
        return make_signal(
            code,
            None,
            "No page was looked at for a portrait (no image was read, or this vault has no "
            "face detector).",
        )
    if any(facts.portraits):
        return make_signal(code, False, "A page shows a portrait.")
    return make_signal(code, True, "No page shows the holder's portrait.")


def evaluate(facts: Facts) -> list[Signal]:
    return [
        *zone_signals(facts),
        expiry_signal(facts),
        _image_signal(facts),
        _pdf_signal(facts),
        *_duplicates(facts),
        _type_signal(facts),
        _portrait_signal(facts),
    ]


def score(signals: Iterable[Signal]) -> int:
    return max(0, 100 - sum(s.weight for s in signals if s.outcome is Outcome.FIRED))


# Types that carry a machine-readable zone on what a client uploads of them: always (a
# passport's data page, a visa), or on the back of the card (ID cards, the US passport card
# and permanent resident card, when the back was uploaded).
_ZONE_ALWAYS = frozenset({"passport", "visa"})
_ZONE_ON_BACK = frozenset({"national_id", "passport_card", "green_card"})


def zone_expected(type_name: str, roles: Iterable[str | None]) -> bool:
    """Whether a document of this type, with files of these roles, should show a zone."""
    return type_name in _ZONE_ALWAYS or (type_name in _ZONE_ON_BACK and "BACK" in set(roles))


def unreadable() -> Assessment:
    """No file of the document could be read: nothing was assessed."""
    return Assessment([], None, NOT_ASSESSED, "No file of the document could be read.")


def assess(facts: Facts) -> Assessment:
    """The signals and their score; ``not_assessed`` (no score) when the document should
    carry a machine-readable zone on what was uploaded and none was read: the signals that
    would weigh most could not be evaluated, and the rest passing says little."""
    signals = evaluate(facts)
    if facts.zone_expected and facts.mrz is None:
        reason = (
            "No machine-readable zone was found on the document, so it could not be "
            "assessed: upload a clearer or complete image of the page with the zone."
        )
        return Assessment(signals, None, NOT_ASSESSED, reason)
    return Assessment(signals, score(signals), ASSESSED)
