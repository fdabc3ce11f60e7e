"""The ICAO 9303 parser: layouts, every check digit (both outcomes), dates, names, and that
it never raises on arbitrary text."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kycvault.domain.mrz import (
    ALPHABET,
    FORMATS,
    Layout,
    check_digit,
    is_state_code,
    layout_for,
    parse,
)
from tests.samples import Person, mrz_lines, random_person

TODAY = date(2026, 6, 1)
# ICAO Doc 9303 part 4, appendix A: the specimen passport of Anna Maria Eriksson.
SPECIMEN_TD3 = [
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
]
# Part 5, appendix A: the specimen TD1 card.
SPECIMEN_TD1 = [
    "I<UTOD231458907<<<<<<<<<<<<<<<",
    "7408122F1204159UTO<<<<<<<<<<<6",
    "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
]


def test_check_digits_of_the_specimen() -> None:
    assert check_digit("L898902C3") == "6"
    assert check_digit("740812") == "2"
    assert check_digit("120415") == "9"
    assert check_digit("ZE184226B<<<<<") == "1"
    assert check_digit("<<<<<<") == "0"


def test_specimen_passport_parses_with_every_check_passing() -> None:
    result = parse(SPECIMEN_TD3, today=TODAY)
    assert result is not None
    assert result.layout is Layout.TD3
    assert result.document_code == "P"
    assert result.issuing_state == "UTO"
    assert result.surname == "ERIKSSON"
    assert result.given_names == "ANNA MARIA"
    assert result.document_number == "L898902C3"
    assert result.nationality == "UTO"
    assert result.birth_date == date(1974, 8, 12)
    assert result.sex == "F"
    assert result.expiry_date == date(2012, 4, 15)
    assert result.optional_data == "ZE184226B"
    assert result.checks == {
        "document_number": True,
        "birth_date": True,
        "expiry_date": True,
        "optional_data": True,
        "composite": True,
    }
    assert result.valid


def test_specimen_card_parses_with_every_check_passing() -> None:
    result = parse(SPECIMEN_TD1, today=TODAY)
    assert result is not None
    assert result.layout is Layout.TD1
    assert (result.document_code, result.document_number) == ("I", "D23145890")
    assert (result.surname, result.given_names) == ("ERIKSSON", "ANNA MARIA")
    assert result.birth_date == date(1974, 8, 12)
    assert result.expiry_date == date(2012, 4, 15)
    assert result.valid


def _person(layout: Layout, seed: int = 3, **changes: object) -> Person:
    return replace(random_person(random.Random(seed), layout), **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize("layout", list(Layout))
def test_every_layout_round_trips(layout: Layout) -> None:
    person = _person(layout, optional_data="123456")
    result = parse(mrz_lines(person), today=TODAY)
    assert result is not None
    assert result.layout is layout
    assert result.document_number == person.document_number
    assert result.birth_date == person.birth_date
    assert result.expiry_date == person.expiry_date
    assert result.optional_data == "123456"
    assert set(result.checks) == {check.name for check in FORMATS[layout].checks}
    assert result.valid


@pytest.mark.parametrize(
    ("layout", "check"),
    [(layout, check.name) for layout in Layout for check in FORMATS[layout].checks],
)
def test_each_wrong_check_digit_fails_alone(layout: Layout, check: str) -> None:
    # The generator's composite is computed over the line as printed, wrong digit included,
    # so a wrong field digit fails that field's check only.
    person = _person(layout, optional_data="4711", broken=frozenset({check}))
    result = parse(mrz_lines(person), today=TODAY)
    assert result is not None
    assert result.checks[check] is False
    assert all(passed for name, passed in result.checks.items() if name != check)
    assert not result.valid


def test_empty_optional_data_may_carry_a_filler_for_its_check_digit() -> None:
    person = _person(Layout.TD3, optional_data="")
    lines = mrz_lines(person)
    assert lines[1][42] == "<"
    result = parse(lines, today=TODAY)
    assert result is not None
    assert result.checks["optional_data"] is True
    assert result.optional_data == ""
    # Optional data present and a filler for its digit: that fails.
    filled = lines[1][:28] + "ABC" + lines[1][31:42] + "<" + lines[1][43]
    failed = parse([lines[0], filled], today=TODAY)
    assert failed is not None
    assert failed.checks["optional_data"] is False


def _td1_long_number(number: str, digit: str) -> list[str]:
    line1 = "I<UTO" + number[:9] + "<" + number[9:] + digit
    line1 = line1.ljust(30, "<")
    line2 = "7408122F1204159UTO<<<<<<<<<<<"
    composite = line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29]
    return [line1, line2 + check_digit(composite), "ERIKSSON<<ANNA<MARIA<<<<<<<<<<"]


def test_td1_long_document_number_continues_into_the_optional_field() -> None:
    number = "D23145890734"
    result = parse(_td1_long_number(number, check_digit(number)), today=TODAY)
    assert result is not None
    assert result.document_number == number
    assert result.checks["document_number"] is True
    assert result.valid


def test_td1_long_document_number_with_a_wrong_check_digit_fails() -> None:
    number = "D23145890734"
    wrong = str((int(check_digit(number)) + 3) % 10)
    result = parse(_td1_long_number(number, wrong), today=TODAY)
    assert result is not None
    assert result.document_number == number
    assert result.checks["document_number"] is False
    assert result.checks["composite"] is True


def test_visas_are_told_apart_from_documents_by_their_code() -> None:
    assert layout_for(["V<" + "<" * 42, "<" * 44]) is FORMATS[Layout.MRVA]
    assert layout_for(["P<" + "<" * 42, "<" * 44]) is FORMATS[Layout.TD3]
    assert layout_for(["V<" + "<" * 34, "<" * 36]) is FORMATS[Layout.MRVB]
    assert layout_for(["I<" + "<" * 34, "<" * 36]) is FORMATS[Layout.TD2]
    assert layout_for(["<" * 30] * 3) is FORMATS[Layout.TD1]
    assert layout_for(["<" * 30] * 2) is None
    assert layout_for(["<" * 44, "<" * 36]) is None


def test_dates_take_the_century_the_field_allows() -> None:
    person = _person(Layout.TD3, birth_date=date(2001, 2, 3), expiry_date=date(2031, 2, 3))
    result = parse(mrz_lines(person), today=TODAY)
    assert result is not None
    assert result.birth_date == date(2001, 2, 3)
    assert result.expiry_date == date(2031, 2, 3)
    # A birth year after this one belongs to the last century.
    older = _person(Layout.TD3, birth_date=date(1960, 2, 3))
    parsed = parse(mrz_lines(older), today=TODAY)
    assert parsed is not None
    assert parsed.birth_date == date(1960, 2, 3)


def test_digits_that_are_no_date_and_an_unknown_sex_read_as_none() -> None:
    lines = list(SPECIMEN_TD3)
    lines[1] = lines[1][:13] + "741332" + lines[1][19] + "<" + lines[1][21:]
    result = parse(lines, today=TODAY)
    assert result is not None
    assert result.birth_date is None
    assert result.sex is None


def test_text_outside_the_alphabet_or_of_no_layout_is_no_zone() -> None:
    assert parse(["P<UTO" + "é" * 39, "<" * 44], today=TODAY) is None
    assert parse(["P<UTO", "L898902C3"], today=TODAY) is None
    assert parse([], today=TODAY) is None
    # Lower case and surrounding spaces are forgiven.
    result = parse([f"  {SPECIMEN_TD3[0].lower()} ", SPECIMEN_TD3[1]], today=TODAY)
    assert result is not None
    assert result.valid


def test_state_codes_include_icao_additions() -> None:
    assert is_state_code("UTO")
    assert is_state_code("D<<")
    assert is_state_code("FRA")
    assert not is_state_code("QQQ")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=50), max_size=4))
def test_parse_never_raises_on_arbitrary_text(lines: list[str]) -> None:
    result = parse(lines, today=TODAY)
    assert result is None or result.layout in Layout


_ZONE_TEXT = st.sampled_from([(3, 30), (2, 36), (2, 44)]).flatmap(
    lambda shape: st.lists(
        st.text(alphabet=sorted(ALPHABET), min_size=shape[1], max_size=shape[1]),
        min_size=shape[0],
        max_size=shape[0],
    )
)


@settings(max_examples=300, deadline=None)
@given(_ZONE_TEXT)
def test_parse_never_raises_on_zones_of_random_characters(lines: list[str]) -> None:
    result = parse(lines, today=TODAY)
    assert result is not None
    assert set(result.checks) >= {"document_number", "birth_date", "expiry_date"}
    assert result.as_dict()["valid"] == result.valid


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=0, max_value=2**32), st.sampled_from(list(Layout)))
def test_generated_zones_round_trip(seed: int, layout: Layout) -> None:
    person = random_person(random.Random(seed), layout)
    result = parse(mrz_lines(person), today=TODAY)
    assert result is not None
    assert result.valid
    assert result.layout is layout
    assert result.document_number == person.document_number
    assert result.issuing_state == person.issuing_state.replace("<", "")
    assert result.nationality == person.nationality.replace("<", "")
    assert result.surname == person.surname
    assert result.given_names == person.given_names
    assert result.birth_date == person.birth_date
    assert result.expiry_date == person.expiry_date
    assert result.sex == person.sex
    assert result.optional_data == person.optional_data


_ZONE_SHAPE = st.sampled_from([(3, 30), (2, 36), (2, 44)])


@settings(max_examples=200, deadline=None)
@given(
    _ZONE_SHAPE.flatmap(
        lambda shape: st.lists(
            st.text(min_size=shape[1], max_size=shape[1]), min_size=shape[0], max_size=shape[0]
        )
    )
)
def test_parse_never_raises_on_zone_shaped_text_of_any_characters(lines: list[str]) -> None:
    # Lines of a layout's exact width, of any characters (upper-casing some changes their
    # length, others are digits outside ASCII): a zone of the alphabet or None, never an error.
    result = parse(lines, today=TODAY)
    if result is not None:
        assert all(set(line) <= ALPHABET for line in result.lines)


def _with_digits(lines: list[str], digits: dict[tuple[int, int], str]) -> list[str]:
    chars = [list(line) for line in lines]
    for (line, position), digit in digits.items():
        chars[line][position] = digit
    return ["".join(line) for line in chars]


def _corrected(lines: list[str]) -> list[str]:
    """The zone with every check digit made right (the composite last: it covers the others)."""
    fmt = layout_for(lines)
    assert fmt is not None
    for check in sorted(fmt.checks, key=lambda c: c.name == "composite"):
        data = "".join(lines[s.line][s.start : s.end] for s in check.over)
        lines = _with_digits(lines, {(check.digit.line, check.digit.start): check_digit(data)})
    return lines


@settings(max_examples=200, deadline=None)
@given(_ZONE_TEXT, st.data())
def test_check_digits_decide_validity(lines: list[str], data: st.DataObject) -> None:
    # Any zone whose check digits are computed is valid; then any one check digit replaced by
    # another digit fails that check and the zone.
    lines = _corrected(lines)
    result = parse(lines, today=TODAY)
    assert result is not None
    assert result.valid, result.checks
    check = data.draw(st.sampled_from(FORMATS[result.layout].checks))
    position = (check.digit.line, check.digit.start)
    right = lines[position[0]][position[1]]
    wrong = data.draw(st.sampled_from([d for d in "0123456789" if d != right]))
    broken = parse(_with_digits(lines, {position: wrong}), today=TODAY)
    assert broken is not None
    assert broken.checks[check.name] is False
    assert not broken.valid
