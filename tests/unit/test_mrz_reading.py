"""Reading the MRZ off generated document images with the real Tesseract, the way the reader
process does (full-page words, the band, the zone read cell by cell, then the correction);
plus the filler's glyph test on OCR-B's own glyphs."""

from __future__ import annotations

import io
import random
from dataclasses import replace
from datetime import date

import pytest
from PIL import Image, ImageDraw, ImageFont

from kycvault.adapters.reading import mrz_band, mrz_glyphs, tesseract
from kycvault.domain.mrz import Layout, MrzResult
from kycvault.domain.mrz_correction import best_reading
from tests.samples import OCR_B, Degradation, Person, document_image, mrz_lines, random_person

TODAY = date(2026, 6, 1)

pytestmark = pytest.mark.skipif(
    not tesseract.available() or not OCR_B.exists(),
    reason="needs tesseract-ocr and fonts-ocr-b (Debian)",
)


def _read(content: bytes) -> MrzResult | None:
    gray = Image.open(io.BytesIO(content)).convert("L")
    buffer = io.BytesIO()
    gray.save(buffer, "PNG")
    words = tesseract.words(buffer.getvalue(), psm=3, timeout=60)
    band = mrz_band.find_band(words)
    assert band is not None, "no zone found on the page"
    _, cells = mrz_band.read_zone(gray, band, today=TODAY, read=mrz_band.symbol_reader(60))
    assert cells is not None
    # What the worker does with the cells the reader hands over.
    return best_reading(cells, today=TODAY)


def _person(layout: Layout, **changes: object) -> Person:
    person = random_person(random.Random(20), layout)
    # A number without the letter/digit look-alikes that only glyph evidence can settle.
    return replace(person, document_number="X7K4MP2R9", **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize("layout", [Layout.TD3, Layout.TD1, Layout.TD2])
def test_a_clean_document_is_read_exactly(layout: Layout) -> None:
    person = _person(layout)
    result = _read(document_image(person, dpi=300))
    assert result is not None
    assert list(result.lines) == mrz_lines(person)
    assert result.layout is layout
    assert result.valid
    assert result.document_number == "X7K4MP2R9"
    assert result.surname == person.surname
    assert result.given_names == person.given_names
    assert result.birth_date == person.birth_date
    assert result.expiry_date == person.expiry_date


def test_a_tilted_page_is_straightened_and_read() -> None:
    person = _person(Layout.TD3)
    result = _read(document_image(person, dpi=300, degrade=Degradation(rotate=3.0)))
    assert result is not None
    assert list(result.lines) == mrz_lines(person)


def test_a_wrong_check_digit_on_the_image_is_reported_failed() -> None:
    person = _person(Layout.TD3, broken=frozenset({"birth_date"}))
    result = _read(document_image(person, dpi=300))
    assert result is not None
    assert list(result.lines) == mrz_lines(person)
    assert result.checks["birth_date"] is False
    assert result.checks["document_number"] is True
    assert not result.valid


def _glyph(char: str) -> list[list[bool]]:
    font = ImageFont.truetype(str(OCR_B), 40)
    image = Image.new("L", (40, 50), 255)
    ImageDraw.Draw(image).text((5, 2), char, 0, font)
    data = image.tobytes()
    return [[data[r * 40 + c] < 128 for c in range(40)] for r in range(50)]


def test_the_filler_glyph_is_told_from_every_other_character() -> None:
    assert mrz_glyphs.is_filler_glyph(_glyph("<")) is True
    for char in "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789":
        assert mrz_glyphs.is_filler_glyph(_glyph(char)) is False, char
    assert mrz_glyphs.is_filler_glyph([[False] * 10 for _ in range(10)]) is None


@pytest.mark.parametrize(
    ("chars", "expected"),
    [("0OQD", "full"), ("9PRA", "upper"), ("6", "lower"), ("8B", "two"), ("1IS5G<", "none")],
)
def test_counters_of_ocr_b_glyphs(chars: str, expected: str) -> None:
    for char in chars:
        assert mrz_glyphs.counters(_glyph(char)) == expected, char


def test_letter_shapes_tell_the_confused_capitals_apart() -> None:
    assert mrz_glyphs.letter_shape(_glyph("I"), "IL") == "I"
    assert mrz_glyphs.letter_shape(_glyph("L"), "IL") == "L"
    assert mrz_glyphs.letter_shape(_glyph("D"), "DO") == "D"
    assert mrz_glyphs.letter_shape(_glyph("O"), "DO") == "O"


def test_a_page_of_capitals_and_numbers_has_no_zone() -> None:
    font = ImageFont.truetype(str(OCR_B), 28)
    image = Image.new("L", (1400, 500), 255)
    draw = ImageDraw.Draw(image)
    lines = [
        "STATEMENT OF ACCOUNT 2026 05 31",
        "ACCOUNT NUMBER 12345678 SORT CODE 12 34 56",
        "OPENING BALANCE 1024 55 CLOSING BALANCE 998 10",
        "REFERENCE 20260531 0042 7781 TRANSFER TO SAVINGS",
    ]
    for i, text in enumerate(lines):
        draw.text((40, 40 + 100 * i), text, 0, font)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    assert mrz_band.find_band(tesseract.words(buffer.getvalue(), timeout=60)) is None
