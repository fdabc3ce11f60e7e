"""The signals of the machine-readable zone: its check digits, the fields declared with the
document, and the subject's name and birth date, each compared only where the zone was read
with certainty (``SURE_READING``); and the expiry signal, which takes the zone's date too."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from kycvault.domain.mrz import MrzResult
from kycvault.domain.name_match import Verdict
from kycvault.domain.name_match import compare as compare_names
from kycvault.domain.signals import (
    SURE_READING,
    Facts,
    Signal,
    alpha3,
    make_signal,
    normalise_number,
    same_state,
)


def _sure(mrz: MrzResult, name: str) -> bool:
    """Whether field (or check) ``name`` was read surely enough to count as evidence; a
    reading whose certainty was not measured (a PDF's text layer) is sure."""
    confidence = mrz.confidence.get(name)
    if confidence is None and name == "composite" and mrz.confidence:
        confidence = min(mrz.confidence.values())
    return confidence is None or confidence >= SURE_READING


_FIELD_WORDS = {
    "document_number": "document number",
    "birth_date": "birth date",
    "expiry_date": "expiry date",
    "optional_data": "optional data",
    "composite": "composite",
}


def _listed(names: Iterable[str]) -> str:
    words = [_FIELD_WORDS.get(name, name.replace("_", " ")) for name in names]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _check_digits(mrz: MrzResult) -> Signal:
    failed = sorted(name for name, ok in mrz.checks.items() if not ok)
    wrong = [name for name in failed if _sure(mrz, name)]
    uncertain = sorted({*(n for n in failed if n not in wrong), *mrz.ambiguous})
    if wrong:
        digits = "digit" if len(wrong) == 1 else "digits"
        return make_signal(
            "mrz_check_digits",
            True,
            f"The check {digits} of the {_listed(wrong)} in the machine-readable zone "
            f"{'is' if len(wrong) == 1 else 'are'} wrong, although clearly read.",
        )
    if uncertain:
        return make_signal(
            "mrz_check_digits",
            None,
            f"The {_listed(uncertain)} in the machine-readable zone could not be read with "
            "certainty, so their check digits were not counted.",
        )
    return make_signal(
        "mrz_check_digits", False, "Every check digit of the machine-readable zone is correct."
    )


def _unread(mrz: MrzResult, name: str) -> str | None:
    """Why field ``name`` of the zone cannot be compared (None: it can)."""
    if name in mrz.ambiguous:
        return "could not be read with certainty (several readings pass its check digit)"
    if mrz.checks.get(name) is False:
        return "fails its check digit"
    if not _sure(mrz, name):
        return "could not be read with certainty"
    return None


def _declared_number(facts: Facts, mrz: MrzResult) -> Signal:
    code = "mrz_number_mismatch"
    if "id_number" in facts.derived:
        return make_signal(code, None, "The document number was taken from the zone.")
    if not facts.declared_number:
        return make_signal(code, None, "No document number was given to compare with the zone.")
    if (why := _unread(mrz, "document_number")) is not None:
        return make_signal(code, None, f"The zone's document number {why}.")
    if normalise_number(facts.declared_number) == normalise_number(mrz.document_number):
        return make_signal(code, False, "The document number given is the one in the zone.")
    return make_signal(
        code,
        True,
        f"The document number given, {facts.declared_number}, differs from the zone's, "
        f"{mrz.document_number}.",
    )


def _same_date(code: str, field: str, mrz: MrzResult, known: date | None, whose: str) -> Signal:
    """A date known of the document or subject (``whose``: "given", "of the subject")
    against the zone's ``field``."""
    words = _FIELD_WORDS[field]
    read: date | None = getattr(mrz, field)
    if known is None or read is None:
        return make_signal(code, None, f"There is no {words} {whose} to compare with the zone.")
    if (why := _unread(mrz, field)) is not None:
        return make_signal(code, None, f"The zone's {words} {why}.")
    if known == read:
        return make_signal(code, False, f"The {words} {whose} is the one in the zone.")
    return make_signal(
        code,
        True,
        f"The {words} {whose}, {known.isoformat()}, differs from the zone's, {read.isoformat()}.",
    )


def _declared_expiry(facts: Facts, mrz: MrzResult) -> Signal:
    code = "mrz_expiry_mismatch"
    if "expiry_date" in facts.derived:
        return make_signal(code, None, "The expiry date was taken from the zone.")
    return _same_date(code, "expiry_date", mrz, facts.declared_expiry, "given")


def _declared_country(facts: Facts, mrz: MrzResult) -> Signal:
    code = "mrz_country_mismatch"
    state = mrz.issuing_state.replace("<", "")
    if "issuing_country" in facts.derived:
        return make_signal(code, None, "The issuing country was taken from the zone.")
    declared = alpha3(facts.declared_country)
    if not declared or not state:
        return make_signal(code, None, "No issuing country was given to compare with the zone.")
    if not _sure(mrz, "issuing_state"):
        return make_signal(code, None, "The zone's issuing state could not be read with certainty.")
    if same_state(declared, state):
        return make_signal(code, False, "The issuing country given is the one in the zone.")
    return make_signal(
        code, True, f"The issuing country given, {declared}, differs from the zone's, {state}."
    )


def _subject_name(facts: Facts, mrz: MrzResult) -> Signal:
    code = "subject_name_mismatch"
    if not facts.subject_name:
        return make_signal(code, None, "The subject has no display name to compare with the zone.")
    if not _sure(mrz, "names"):
        return make_signal(code, None, "The names in the zone could not be read with certainty.")
    found = compare_names(facts.subject_name, mrz.surname, mrz.given_names)
    if found is None:
        return make_signal(code, None, "The zone holds no name to compare.")
    zone_name = " ".join(part for part in (mrz.given_names, mrz.surname) if part)
    if found.same:
        return make_signal(code, False, "The name in the zone is the subject's.")
    which = (
        "surname differs" if found.verdict is Verdict.DIFFERENT_SURNAME else "given names differ"
    )
    return make_signal(
        code,
        True,
        f"The zone's {which} from the subject's name: the zone says {zone_name}, "
        f"the subject is {facts.subject_name}.",
    )


def _subject_birth_date(facts: Facts, mrz: MrzResult) -> Signal:
    born = facts.subject_birth_date
    return _same_date("subject_birth_date_mismatch", "birth_date", mrz, born, "of the subject")


def _printed_page(facts: Facts, mrz: MrzResult) -> Signal:
    code = "viz_mismatch"
    seen = facts.printed
    if seen is None or not seen.found:
        return make_signal(code, None, "No labelled field was found printed beside the zone.")
    differences = seen.disagreements(mrz)
    if differences:
        return make_signal(
            code,
            True,
            f"The page prints otherwise than its machine-readable zone: {'; '.join(differences)}.",
        )
    return make_signal(code, False, "The printed fields agree with the machine-readable zone.")


_ZONE_SIGNALS = (
    "mrz_check_digits",
    "mrz_number_mismatch",
    "mrz_expiry_mismatch",
    "mrz_country_mismatch",
    "viz_mismatch",
    "subject_name_mismatch",
    "subject_birth_date_mismatch",
)


def zone_signals(facts: Facts) -> list[Signal]:
    mrz = facts.mrz
    if mrz is None:
        none = "No machine-readable zone was read."
        return [make_signal(code, None, none) for code in _ZONE_SIGNALS]
    return [
        _check_digits(mrz),
        _declared_number(facts, mrz),
        _declared_expiry(facts, mrz),
        _declared_country(facts, mrz),
        _printed_page(facts, mrz),
        _subject_name(facts, mrz),
        _subject_birth_date(facts, mrz),
    ]


def expiry_signal(facts: Facts) -> Signal:
    """Expired by the declared date or by the zone's own (check-digit-verified) date: a
    client's later date does not make an expired passport valid."""
    known: list[tuple[date, str]] = []
    if facts.declared_expiry:
        source = "the zone" if "expiry_date" in facts.derived else "the date given"
        known.append((facts.declared_expiry, source))
    mrz = facts.mrz
    if mrz is not None and mrz.expiry_date and _unread(mrz, "expiry_date") is None:
        known.append((mrz.expiry_date, "the zone"))
    if not known:
        return make_signal("document_expired", None, "No expiry date is known.")
    expiry, source = min(known)
    if expiry < facts.today:
        return make_signal(
            "document_expired", True, f"The document expired on {expiry.isoformat()} ({source})."
        )
    return make_signal(
        "document_expired", False, f"The document is valid until {expiry.isoformat()}."
    )
