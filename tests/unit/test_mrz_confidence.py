"""Confidence and ambiguity of MRZ readings: a field whose runner-up characters make another
reading that passes its check digits is reported ambiguous (and the zone not valid); a clear
reading is not."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date

from kycvault.domain.mrz import FORMATS, Layout, MrzResult, parse
from kycvault.domain.mrz_confidence import Cell, probabilities
from kycvault.domain.mrz_correction import best_reading, correct, text_cells
from kycvault.domain.viz import reconcile
from tests.samples import mrz_lines, random_person

TODAY = date(2026, 6, 1)


def _zone(number: str = "TZRB5CLPH", layout: Layout = Layout.TD3) -> list[str]:
    person = replace(random_person(random.Random(11), layout), document_number=number)
    return mrz_lines(person)


def _cells(lines: list[str]) -> list[list[Cell]]:
    """A glyph model sure of every cell: each character at 99, a trace of its look-alike."""
    return [[((ch, 99.0),) for ch in line] for line in lines]


def test_look_alike_swaps_that_cancel_in_the_check_sum_make_the_number_ambiguous() -> None:
    lines = _zone()
    # The swap the check digits cannot see: Z/2 and 5/S change the sum by multiples of ten.
    swapped = [lines[0], "T2RBSCLPH" + lines[1][9:]]
    assert parse(lines, today=TODAY).valid  # type: ignore[union-attr]
    assert parse(swapped, today=TODAY).valid  # type: ignore[union-attr]
    cells = _cells(lines)
    cells[1][1] = (("Z", 70.0), ("2", 30.0))
    cells[1][4] = (("5", 80.0), ("S", 19.0))
    result = correct(cells, FORMATS[Layout.TD3], today=TODAY)
    assert result is not None
    assert result.document_number == "TZRB5CLPH"
    assert result.checks["document_number"]
    assert result.ambiguous == {"document_number": ("T2RBSCLPH",)}
    assert not result.valid
    assert not result.known("document_number")
    assert result.known("birth_date")
    assert result.confidence["document_number"] == 0.7
    assert result.as_dict()["ambiguous"] == {"document_number": ["T2RBSCLPH"]}


def test_a_clear_reading_is_not_ambiguous() -> None:
    lines = _zone()
    cells = _cells(lines)
    # The same look-alikes, but only as faint traces next to a sure reading.
    cells[1][1] = (("Z", 99.0), ("2", 0.5))
    cells[1][4] = (("5", 99.0), ("S", 0.4))
    result = correct(cells, FORMATS[Layout.TD3], today=TODAY)
    assert result is not None
    assert result.ambiguous == {}
    assert result.valid
    assert result.known("document_number")
    assert result.confidence["document_number"] > 0.99
    assert set(result.confidence) >= {"surname", "given_names", "birth_date", "expiry_date"}


def test_a_runner_up_no_other_reading_passes_with_only_lowers_the_confidence() -> None:
    lines = _zone()
    cells = _cells(lines)
    cells[1][1] = (("Z", 60.0), ("2", 40.0))  # alone, the swap fails the check digit
    result = correct(cells, FORMATS[Layout.TD3], today=TODAY)
    assert result is not None
    assert result.valid
    assert result.confidence["document_number"] == 0.6


def test_a_date_whose_digits_could_be_swapped_passing_is_ambiguous() -> None:
    lines = _zone()
    birth = lines[1][13:19]
    cells = _cells(lines)
    # Two digits of the birth date each with a runner-up; the pair found that keeps the
    # check digit passing (the composite check weighs the date alike) is an alternative.
    found = None
    for a in range(6):
        for b in range(a + 1, 6):
            for x in "0123456789":
                for y in "0123456789":
                    trial = list(birth)
                    trial[a], trial[b] = x, y
                    other = [lines[0], lines[1][:13] + "".join(trial) + lines[1][19:]]
                    parsed = parse(other, today=TODAY)
                    if "".join(trial) != birth and parsed is not None and parsed.valid:
                        found = (a, b, x, y, parsed)
                        break
                if found:
                    break
            if found:
                break
        if found:
            break
    assert found is not None
    a, b, x, y, parsed = found
    cells[1][13 + a] = ((birth[a], 55.0), (x, 45.0))
    cells[1][13 + b] = ((birth[b], 55.0), (y, 45.0))
    result = correct(cells, FORMATS[Layout.TD3], today=TODAY)
    assert result is not None
    assert parsed.birth_date is not None
    assert parsed.birth_date.isoformat() in result.ambiguous["birth_date"]
    assert not result.valid


def test_a_state_code_another_existing_state_comes_close_to_is_ambiguous() -> None:
    person = replace(random_person(random.Random(11), Layout.TD3), issuing_state="FRA")
    lines = mrz_lines(person)
    cells = _cells(lines)
    cells[0][4] = (("A", 60.0), ("O", 40.0))  # FRO, the Faroe Islands, exists too
    result = correct(cells, FORMATS[Layout.TD3], today=TODAY)
    assert result is not None
    assert result.ambiguous == {"issuing_state": ("FRO",)}
    assert not result.valid


def test_a_text_layer_is_certain() -> None:
    lines = _zone()
    result = best_reading([text_cells(line) for line in lines], today=TODAY)
    assert result is not None
    assert result.valid
    assert result.ambiguous == {}
    assert result.confidence == {}  # not measured: the text is what the file holds


def test_probabilities_count_look_alikes_for_what_the_position_may_hold() -> None:
    from kycvault.domain.mrz import CharClass

    assert probabilities((("O", 60.0), ("0", 30.0), ("Q", 10.0)), CharClass.NUMERIC) == {"0": 1.0}
    shares = probabilities((("S", 75.0), ("5", 25.0)), CharClass.ALNUM)
    assert shares == {"S": 0.75, "5": 0.25}


def _ambiguous() -> tuple[list[str], MrzResult]:
    lines = _zone()
    cells = _cells(lines)
    cells[1][1] = (("Z", 70.0), ("2", 30.0))
    cells[1][4] = (("5", 80.0), ("S", 20.0))
    result = correct(cells, FORMATS[Layout.TD3], today=TODAY)
    assert result is not None
    assert result.ambiguous == {"document_number": ("T2RBSCLPH",)}
    return lines, result


def test_the_printed_number_agreeing_with_the_reading_settles_it() -> None:
    lines, result = _ambiguous()
    page = "PASSPORT\nDOCUMENT NO\nTZRB5CLPH\n" + "\n".join(lines)
    settled = reconcile(result, page, today=TODAY)
    assert settled.document_number == "TZRB5CLPH"
    assert settled.ambiguous == {}
    assert settled.valid


def test_the_printed_number_agreeing_with_the_alternative_takes_it() -> None:
    _, result = _ambiguous()
    settled = reconcile(result, "DOCUMENT NO T2RBSCLPH", today=TODAY)
    assert settled.document_number == "T2RBSCLPH"
    assert settled.lines[1].startswith("T2RBSCLPH")
    assert settled.valid


def test_the_zone_itself_or_no_printed_number_settles_nothing() -> None:
    lines, result = _ambiguous()
    # The zone's own line holds the number as a word: it is no second witness.
    assert reconcile(result, "\n".join(lines), today=TODAY) == result
    both = "TZRB5CLPH T2RBSCLPH"
    assert reconcile(result, both, today=TODAY) == result
    assert reconcile(result, "T2RB5CLPH", today=TODAY) == result


def test_runner_ups_of_the_fillers_padding_a_field_are_no_reading() -> None:
    person = replace(random_person(random.Random(11), Layout.TD1), optional_data="")
    lines = mrz_lines(person)
    cells = _cells(lines)
    # The card's optional data is empty (fillers to its end): a faint 6 the model saw in one
    # of its fillers (security print crossing it) is no other reading of it.
    assert lines[0][15:30] == "<" * 15
    cells[0][20] = (("<", 60.0), ("6", 40.0))
    result = correct(cells, FORMATS[Layout.TD1], today=TODAY)
    assert result is not None
    assert result.ambiguous == {}
    assert result.valid
    # A runner-up inside what the field holds counts where the composite check passes with
    # it: on a card the composite covers the optional data, so the B/8 swap is refuted.
    person = replace(person, optional_data="AB12")
    lines = mrz_lines(person)
    cells = _cells(lines)
    cells[0][16] = (("B", 60.0), ("8", 40.0))
    result = correct(cells, FORMATS[Layout.TD1], today=TODAY)
    assert result is not None
    assert result.ambiguous == {}
    # Names have no check digit at all: a close runner-up makes them ambiguous.
    first = lines[2][0]
    cells[2][0] = ((first, 60.0), ("Q" if first != "Q" else "O", 40.0))
    result = correct(cells, FORMATS[Layout.TD1], today=TODAY)
    assert result is not None
    assert list(result.ambiguous) == ["surname"]
