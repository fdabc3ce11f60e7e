"""The visual inspection zone: labelled values found in a page's OCR text (the zone's own
lines left out), an ambiguous zone reading settled by what the page prints, and the
differences that are evidence (look-alike misreads in the printed text are not)."""

from __future__ import annotations

import dataclasses
import random
from datetime import date

from kycvault.domain.mrz import Layout, MrzResult, parse
from kycvault.domain.viz import Printed, printed, reconcile
from tests.samples import mrz_lines, random_person

TODAY = date(2026, 5, 1)


def zone(number: str = "TZRB5CLPH") -> MrzResult:
    person = random_person(
        random.Random(9),
        Layout.TD3,
        document_number=number,
        surname="LOVELACE",
        birth_date=date(1990, 12, 10),
        expiry_date=date(2031, 8, 12),
    )
    result = parse(mrz_lines(person), today=TODAY)
    assert result is not None
    return result


PAGE = """PASSPORT
DOCUMENT NO
TZRB5CLPH
SURNAME
LOVELACE
DATE OF BIRTH
10 12 1990
DATE OF EXPIRY
12 AUG 2031
P<UTOLOVELACE<<ADA<<<<<<<<<<<<<<<<<<<<<<<<<<<
TZRB5CLPH7UTO9012108F3108120<<<<<<<<<<<<<<08
"""


def test_labelled_values_are_read_and_zone_lines_are_not() -> None:
    seen = printed(PAGE)
    assert seen == Printed("TZRB5CLPH", date(1990, 12, 10), date(2031, 8, 12), "LOVELACE")
    # The number in the zone's line is not the printed one.
    assert printed("\n".join(PAGE.splitlines()[-2:])) == Printed()
    assert not Printed().found
    on_one_line = printed("Passport No. X1234567\nDate of birth: 1990-12-10")
    assert on_one_line.document_number == "X1234567"
    assert on_one_line.birth_date == date(1990, 12, 10)


def test_what_agrees_is_no_disagreement_and_a_misread_is_not_one() -> None:
    assert printed(PAGE).disagreements(zone()) == []
    misread = dataclasses.replace(printed(PAGE), document_number="T2RBSCLPH")
    assert misread.disagreements(zone()) == []
    # Seen from Tesseract on a generated page: 59NM97MG5 printed, S5ONMO7MG5 read.
    assert (
        dataclasses.replace(misread, document_number="S5ONMO7MG5").disagreements(zone("59NM97MG5"))
        == []
    )
    one_digit = dataclasses.replace(printed(PAGE), birth_date=date(1990, 12, 18))
    assert one_digit.disagreements(zone()) == []


def test_a_page_that_prints_otherwise_disagrees() -> None:
    altered = dataclasses.replace(
        printed(PAGE), document_number="XK1234567", birth_date=date(1975, 3, 22)
    )
    assert altered.disagreements(zone()) == [
        "the printed document number is XK1234567, the zone's TZRB5CLPH",
        "the printed birth date is 1975-03-22, the zone's 1990-12-10",
    ]
    renamed = dataclasses.replace(printed(PAGE), surname="HOPPER")
    assert renamed.disagreements(zone()) == ["the printed surname is HOPPER, the zone's LOVELACE"]


def test_an_ambiguous_birth_date_is_settled_by_the_labelled_one() -> None:
    read = zone()
    # Read 901210; suppose 901218 passed its check too: the page prints the tenth.
    ambiguous = dataclasses.replace(read, ambiguous={"birth_date": ("901218",)})
    settled = reconcile(ambiguous, PAGE, today=TODAY)
    assert settled.birth_date == date(1990, 12, 10) and settled.ambiguous == {}
    # Only the zone's lines, or a page printing another date: nothing settled.
    zone_only = "\n".join(PAGE.splitlines()[-2:])
    assert reconcile(ambiguous, zone_only, today=TODAY) == ambiguous
    assert reconcile(ambiguous, PAGE.replace("10 12 1990", "01 02 1970"), today=TODAY) == (
        ambiguous
    )
