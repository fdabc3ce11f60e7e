"""OCR correction of machine-readable zones: character classes, the filler, look-alikes
repaired by check digits only when the check digit decides, and wrong check digits that
stay failed."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date

import pytest

from kycvault.domain.mrz import FORMATS, CharClass, Layout, parse
from kycvault.domain.mrz_correction import (
    Cell,
    best_reading,
    correct,
    shape_classes,
    text_cells,
)
from tests.samples import Person, mrz_lines, random_person

TODAY = date(2026, 6, 1)
SPECIMEN = [
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
]


def _cells(lines: list[str]) -> list[list[Cell]]:
    """What a confident OCR of ``lines`` gives: each character at 99."""
    return [[((ch, 99.0),) for ch in line] for line in lines]


def _read(cells: list[list[Cell]], layout: Layout = Layout.TD3) -> list[str]:
    result = correct(cells, FORMATS[layout], today=TODAY)
    assert result is not None
    return list(result.lines)


def _person(layout: Layout, **changes: object) -> Person:
    return replace(random_person(random.Random(5), layout), **changes)  # type: ignore[arg-type]


def test_a_confident_reading_of_a_valid_zone_is_kept() -> None:
    assert _read(_cells(SPECIMEN)) == SPECIMEN


def test_fillers_read_as_letters_are_fillers_when_ocr_offered_the_filler() -> None:
    cells = _cells(SPECIMEN)
    # The general model reads runs of fillers as K and X, with the filler as its runner-up.
    for i in (30, 31, 33, 36):
        cells[0][i] = (("K", 80.0), ("<", 60.0))
    cells[0][40] = (("X", 90.0), ("<", 40.0))
    assert _read(cells) == SPECIMEN


def test_a_dropped_filler_leaves_an_empty_cell_that_is_a_filler() -> None:
    cells = _cells(SPECIMEN)
    cells[0][28] = ()
    cells[1][40] = ()
    assert _read(cells) == SPECIMEN


def test_a_lone_letter_between_fillers_without_the_filler_offered_stays() -> None:
    # No evidence from OCR that it is a filler: the name keeps the letter.
    cells = _cells(SPECIMEN)
    cells[0][30] = (("K", 80.0), ("X", 60.0))
    assert _read(cells)[0][30] == "K"


def test_letters_in_digit_positions_and_digits_in_letter_positions_follow_the_class() -> None:
    cells = _cells(SPECIMEN)
    cells[1][15] = (("O", 97.0),)  # birth date 740812: its 0 read as O
    cells[1][26] = (("S", 97.0),)  # expiry date 120415: its 5 read as S
    cells[0][5] = (("3", 90.0),)  # ERIKSSON: its E read as 3
    cells[0][11] = (("0", 90.0),)  # and its O read as 0
    assert _read(cells) == SPECIMEN


@pytest.mark.parametrize(("position", "misread"), [(1, "B"), (5, "O"), (6, "Z"), (8, "S")])
def test_a_look_alike_the_check_digit_decides_is_repaired(position: int, misread: str) -> None:
    # L898902C3: the document number allows letters and digits, so only its check digit
    # (6) can tell 8 from B, 0 from O, 2 from Z, 3 from S; OCR offered the right one second.
    cells = _cells(SPECIMEN)
    truth = SPECIMEN[1][position]
    cells[1][position] = ((misread, 92.0), (truth, 80.0))
    result = correct(cells, FORMATS[Layout.TD3], today=TODAY)
    assert result is not None
    assert list(result.lines) == SPECIMEN
    assert result.valid


def test_a_repair_the_check_digit_leaves_open_is_not_made() -> None:
    # L898902C3 read as LB98902C3: 8 -> B shifts the check sum by 9. OCR offers 8 for that
    # cell, and G for the 9 at position 4, which shifts the sum by 21: either change makes
    # the check pass, at the same cost. The check digit cannot say which, so neither is
    # made and the check is reported failed.
    cells = _cells(SPECIMEN)
    cells[1][1] = (("B", 90.0), ("8", 70.0))
    cells[1][4] = (("9", 90.0), ("G", 70.0))
    result = correct(cells, FORMATS[Layout.TD3], today=TODAY)
    assert result is not None
    assert result.document_number == "LB98902C3"
    assert result.checks["document_number"] is False


def test_the_cheaper_of_two_repairs_is_made_when_it_is_clearly_cheaper() -> None:
    cells = _cells(SPECIMEN)
    cells[1][1] = (("B", 90.0), ("8", 85.0))
    cells[1][4] = (("9", 90.0), ("G", 30.0))
    result = correct(cells, FORMATS[Layout.TD3], today=TODAY)
    assert result is not None
    assert result.document_number == "L898902C3"
    assert result.checks["document_number"]
    # The dearer reading passes too, and OCR found it likely enough to be reported.
    assert result.ambiguous == {"document_number": ("LB98G02C3",)}


def _broken_cells(person: Person) -> tuple[list[str], list[list[Cell]]]:
    lines = mrz_lines(person)
    return lines, _cells(lines)


@pytest.mark.parametrize(
    ("layout", "check"),
    [
        (layout, check.name)
        for layout in (Layout.TD1, Layout.TD2, Layout.TD3, Layout.MRVA, Layout.MRVB)
        for check in FORMATS[layout].checks
    ],
)
def test_a_wrong_check_digit_read_with_confidence_stays_failed(layout: Layout, check: str) -> None:
    person = _person(layout, optional_data="8080", broken=frozenset({check}))
    lines, cells = _broken_cells(person)
    digit = next(c.digit for c in FORMATS[layout].checks if c.name == check)
    # OCR even offers the digit that would make the check pass: the printed digit was read
    # at 99, so it is what the document says.
    right = str((int(lines[digit.line][digit.start]) - 1) % 10)
    cells[digit.line][digit.start] = ((lines[digit.line][digit.start], 99.0), (right, 60.0))
    result = best_reading(cells, today=TODAY)
    assert result is not None
    assert result.checks[check] is False
    assert list(result.lines) == lines


@pytest.mark.parametrize("layout", [Layout.TD1, Layout.TD2, Layout.TD3])
def test_a_wrong_check_digit_is_not_passed_by_changing_the_data(layout: Layout) -> None:
    # Every data cell of the document number offers its look-alikes (what OCR of OCR-B
    # does): some change would make the wrong digit pass, but the composite, computed over
    # the number as printed, disagrees, so the number stays as read and its check fails.
    person = _person(layout, document_number="0O8B5S2Z1", broken=frozenset({"document_number"}))
    lines, cells = _broken_cells(person)
    span = FORMATS[layout].field("document_number").span
    swap = {"0": "O", "O": "0", "8": "B", "B": "8", "5": "S", "S": "5", "2": "Z", "Z": "2"}
    swap |= {"1": "I"}
    for i in range(span.start, span.end):
        ch = lines[span.line][i]
        cells[span.line][i] = ((ch, 90.0), (swap[ch], 75.0))
    result = best_reading(cells, today=TODAY)
    assert result is not None
    assert result.document_number == "0O8B5S2Z1"
    assert result.checks["document_number"] is False


def test_state_codes_outside_the_list_take_an_offered_alternative_inside_it() -> None:
    cells = _cells(SPECIMEN)
    cells[0][4] = (("D", 90.0), ("O", 70.0))  # UTD is no state; UTO is ICAO's specimen
    assert _read(cells)[0][2:5] == "UTO"


def test_a_state_code_two_offered_readings_could_make_stays_as_read() -> None:
    # SPN is no state; J for the S makes JPN, E for the P makes SEN, at about the same cost.
    cells = _cells(SPECIMEN)
    cells[1][10] = (("S", 90.0), ("J", 70.0))
    cells[1][11] = (("P", 90.0), ("E", 65.0))
    cells[1][12] = (("N", 99.0),)
    result = correct(cells, FORMATS[Layout.TD3], today=TODAY)
    assert result is not None
    assert result.nationality == "SPN"
    cells[1][11] = (("P", 90.0), ("E", 20.0))  # now JPN is much the likelier
    result = correct(cells, FORMATS[Layout.TD3], today=TODAY)
    assert result is not None
    assert result.nationality == "JPN"


def test_the_document_code_names_the_layout() -> None:
    visa = _person(Layout.MRVB)
    card = _person(Layout.TD2)
    visa_result = best_reading(_cells(mrz_lines(visa)), today=TODAY)
    card_result = best_reading(_cells(mrz_lines(card)), today=TODAY)
    assert visa_result is not None
    assert card_result is not None
    assert visa_result.layout is Layout.MRVB
    assert card_result.layout is Layout.TD2


def test_a_card_with_a_failing_check_is_not_read_as_a_visa() -> None:
    # MRV-B has no composite; a TD2 card whose number check fails must not turn into a
    # visa whose fewer checks all pass.
    card = _person(Layout.TD2, broken=frozenset({"document_number"}))
    result = best_reading(_cells(mrz_lines(card)), today=TODAY)
    assert result is not None
    assert result.layout is Layout.TD2
    assert result.checks["document_number"] is False


def test_shape_classes_are_what_every_layout_of_the_shape_agrees_on() -> None:
    classes = shape_classes(2, 44)  # TD3 and MRV-A
    assert classes[1][13] is CharClass.NUMERIC  # birth date
    assert classes[0][7] is CharClass.ALPHA  # names
    assert classes[1][0] is CharClass.ALNUM  # document number
    assert classes[1][42] is None  # TD3's optional-data check digit, MRV-A's optional data
    assert len(shape_classes(3, 30)) == 3


def test_text_cells_of_a_text_layer_give_the_parsed_zone() -> None:
    for layout in Layout:
        lines = mrz_lines(_person(layout))
        result = best_reading([text_cells(line) for line in lines], today=TODAY)
        assert result == parse(lines, today=TODAY)


def test_cells_of_the_wrong_shape_are_no_zone() -> None:
    assert correct(_cells(SPECIMEN)[:1], FORMATS[Layout.TD3], today=TODAY) is None
    assert best_reading([], today=TODAY) is None
