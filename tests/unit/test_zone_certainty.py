"""What the zone is trusted for: its name and birth date against the subject, declared
fields derived from it not compared with it, readings that OCR was unsure of or that were
ambiguous never counted as evidence, a passport without a zone not assessed, and every
signal's message a readable sentence."""

from __future__ import annotations

import dataclasses
import random
import re
from datetime import date

import pytest

from kycvault.domain.authenticity import (
    NOT_ASSESSED,
    RULES,
    Facts,
    Outcome,
    Severity,
    Signal,
    assess,
    evaluate,
)
from kycvault.domain.mrz import Layout, MrzResult, parse
from kycvault.domain.name_match import Verdict, compare
from tests.samples import mrz_lines, random_person

TODAY = date(2026, 5, 1)
BIRTH = date(1990, 12, 10)


def zone(**overrides: object) -> MrzResult:
    fields: dict[str, object] = {
        "surname": "LOVELACE",
        "given_names": "ADA AUGUSTA",
        "birth_date": BIRTH,
        "document_number": "C01X00T47",
        **overrides,
    }
    person = random_person(random.Random(3), Layout.TD3, **fields)
    result = parse(mrz_lines(person), today=TODAY)
    assert result is not None
    return result


def signal(facts: Facts, code: str) -> Signal:
    (only,) = [s for s in evaluate(facts) if s.code == code]
    return only


@pytest.mark.parametrize(
    "display",
    [
        "Ada Lovelace",
        "LOVELACE, Ada",
        "Augusta Ada Lovelace",
        "ada lovelace",
        "Ada Lovelase",  # one letter misread or misspelt: the same person
        "Lovelace",  # no given name to compare
    ],
)
def test_the_subjects_own_name_passes(display: str) -> None:
    facts = Facts(today=TODAY, mrz=zone(), subject_name=display)
    assert signal(facts, "subject_name_mismatch").outcome is Outcome.PASSED


def test_another_persons_passport_fires_and_says_whose() -> None:
    facts = Facts(today=TODAY, mrz=zone(), subject_name="Grace Hopper")
    found = signal(facts, "subject_name_mismatch")
    assert found.outcome is Outcome.FIRED and found.severity is Severity.HIGH
    assert found.detail == (
        "The zone's surname differs from the subject's name: the zone says ADA AUGUSTA "
        "LOVELACE, the subject is Grace Hopper."
    )
    # The same surname with another first name is another person too.
    sister = Facts(today=TODAY, mrz=zone(), subject_name="Annabella Lovelace")
    assert signal(sister, "subject_name_mismatch").outcome is Outcome.FIRED


@pytest.mark.parametrize(
    ("display", "surname", "given", "verdict"),
    [
        ("Jürgen Müller", "MUELLER", "JUERGEN", Verdict.SAME),
        ("Jürgen Müller", "MULLER", "JURGEN", Verdict.SAME),
        ("Seán O'Brien", "OBRIEN", "SEAN", Verdict.SAME),
        ("Anna-Lena Schmidt-Weber", "SCHMIDT WEBER", "ANNA LENA", Verdict.SAME),
        ("Maximilian Alexander Featherstonehaugh", "FEATHERSTONEH", "MAXIMILIAN", Verdict.SAME),
        ("Grace Hopper", "LOVELACE", "ADA", Verdict.DIFFERENT_SURNAME),
        ("Ada Byron", "LOVELACE", "ADA", Verdict.DIFFERENT_SURNAME),
        ("Jane Doe", "DOE", "JOHN", Verdict.DIFFERENT_GIVEN_NAMES),
    ],
)
def test_names_compare_as_icao_writes_them(
    display: str, surname: str, given: str, verdict: Verdict
) -> None:
    found = compare(display, surname, given)
    assert found is not None and found.verdict is verdict, found


def test_nothing_to_compare_is_none() -> None:
    assert compare("", "DOE", "JANE") is None
    assert compare("Jane Doe", "", "") is None


def test_birth_date_against_the_subject() -> None:
    same = Facts(today=TODAY, mrz=zone(), subject_birth_date=BIRTH)
    assert signal(same, "subject_birth_date_mismatch").outcome is Outcome.PASSED
    other = Facts(today=TODAY, mrz=zone(), subject_birth_date=date(1815, 12, 10))
    found = signal(other, "subject_birth_date_mismatch")
    assert found.outcome is Outcome.FIRED
    assert found.detail == (
        "The birth date of the subject, 1815-12-10, differs from the zone's, 1990-12-10."
    )
    # A birth date that fails its check digit is not compared: that signal says it already.
    broken = Facts(
        today=TODAY, mrz=zone(broken=frozenset({"birth_date"})), subject_birth_date=BIRTH
    )
    assert signal(broken, "subject_birth_date_mismatch").outcome is Outcome.NOT_APPLICABLE


def test_fields_derived_from_the_zone_are_not_compared_with_it() -> None:
    facts = Facts(
        today=TODAY,
        mrz=zone(),
        declared_number="C01X00T47",
        derived=frozenset({"id_number", "expiry_date", "issuing_country"}),
        declared_country="NGA",
    )
    for code in ("mrz_number_mismatch", "mrz_expiry_mismatch", "mrz_country_mismatch"):
        found = signal(facts, code)
        assert found.outcome is Outcome.NOT_APPLICABLE
        assert "taken from the zone" in found.detail


def test_an_ambiguous_number_is_unread_not_forged() -> None:
    read = dataclasses.replace(zone(), ambiguous={"document_number": ("C01X0OT47",)})
    assert not read.valid
    facts = Facts(today=TODAY, mrz=read, declared_number="OTHER0001")
    number = signal(facts, "mrz_number_mismatch")
    assert number.outcome is Outcome.NOT_APPLICABLE
    assert "could not be read with certainty" in number.detail
    digits = signal(facts, "mrz_check_digits")
    assert digits.outcome is Outcome.NOT_APPLICABLE
    assert digits.detail.startswith("The document number in the machine-readable zone could")


def test_a_check_digit_failing_on_an_unsure_reading_is_not_evidence() -> None:
    broken = zone(broken=frozenset({"expiry_date"}))
    unsure = dataclasses.replace(broken, confidence={"expiry_date": 0.4, "document_number": 1})
    assert signal(Facts(today=TODAY, mrz=unsure), "mrz_check_digits").outcome is (
        Outcome.NOT_APPLICABLE
    )
    sure = dataclasses.replace(broken, confidence={"expiry_date": 0.99})
    assert signal(Facts(today=TODAY, mrz=sure), "mrz_check_digits").outcome is Outcome.FIRED
    # Not measured (a PDF's text layer): what it says is what the document prints.
    assert signal(Facts(today=TODAY, mrz=broken), "mrz_check_digits").outcome is Outcome.FIRED


def test_unsure_names_are_not_compared() -> None:
    unsure = dataclasses.replace(zone(), confidence={"names": 0.3})
    facts = Facts(today=TODAY, mrz=unsure, subject_name="Grace Hopper")
    assert signal(facts, "subject_name_mismatch").outcome is Outcome.NOT_APPLICABLE


def test_a_passport_without_a_zone_is_not_assessed() -> None:
    found = assess(Facts(today=TODAY, zone_expected=True))
    assert found.score is None and found.status == NOT_ASSESSED
    assert found.reason and "No machine-readable zone" in found.reason
    assert found.signals  # still listed, each saying why it could not be evaluated
    # A bank statement carries no zone: assessed on what there is.
    statement = assess(Facts(today=TODAY))
    assert statement.score == 100 and statement.status == "assessed"


def test_every_message_is_a_sentence() -> None:
    cases = [
        Facts(today=TODAY),
        Facts(
            today=TODAY,
            mrz=zone(broken=frozenset({"expiry_date", "birth_date"})),
            declared_number="X1",
            declared_expiry=date(2020, 1, 1),
            declared_country="FR",
            subject_name="Grace Hopper",
            subject_birth_date=date(1906, 12, 9),
            traces=[{"kind": "image", "exif_software": "GIMP"}, {"kind": "pdf"}],
            same_file_elsewhere=2,
            same_number_elsewhere=1,
            declared_type="utility_bill",
            classified_type="passport",
            type_agrees=False,
        ),
        Facts(today=TODAY, mrz=zone(), declared_number="C01X00T47", subject_name="Ada Lovelace"),
    ]
    for facts in cases:
        for found in evaluate(facts):
            text = found.detail
            assert re.fullmatch(r"[A-Z].*[.]", text), text
            assert "_" not in text and "MRZ says" not in text, text
            assert found.weight == RULES[found.code].weight
            assert found.as_dict()["message"] == text
