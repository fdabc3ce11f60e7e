"""The shipped OCR-B glyph model: small, and reading a line of the zone rendered in OCR-B
cell by cell, wherever OCR's boxes placed the grid within a fraction of a pitch."""

from __future__ import annotations

import pytest
from PIL import Image, ImageDraw, ImageFont

from kycvault.adapters.reading import mrz_classifier
from kycvault.adapters.reading.tesseract import Box, Symbol
from tests.samples import OCR_B

pytestmark = pytest.mark.skipif(not OCR_B.exists(), reason="needs Debian's fonts-ocr-b")

LINE = "L898902C36UTO7408122F1204159ZE184226B<<<<<10"
PITCH = 34


def _rendered(text: str) -> tuple[Image.Image, list[Symbol]]:
    """The line at 34 pixels a character, and boxes where OCR would put them."""
    probe = ImageFont.truetype(str(OCR_B), 100)
    font = ImageFont.truetype(str(OCR_B), round(100 * PITCH / probe.getlength("<")))
    image = Image.new("L", (PITCH * (len(text) + 6), PITCH * 4), 235)
    draw = ImageDraw.Draw(image)
    left, top = 3 * PITCH, PITCH
    draw.text((left, top), text, 20, font)
    symbols = []
    for i, char in enumerate(text):
        x0, y0, x1, y1 = font.getbbox(char)
        x = left + i * PITCH
        box = Box(round(x + x0), round(top + y0), round(x + x1), round(top + y1))
        symbols.append(Symbol(box, ((char, 95.0),)))
    return image, symbols


def test_the_weights_are_small_and_shipped() -> None:
    assert mrz_classifier.WEIGHTS.stat().st_size < 400 * 1024
    assert mrz_classifier.model() is not None


@pytest.mark.parametrize("slip", [0.0, 0.2, -0.2])
def test_a_rendered_line_is_read_cell_by_cell(slip: float) -> None:
    image, symbols = _rendered(LINE)
    origin = symbols[0].box.center_x + slip * PITCH
    found = mrz_classifier.probabilities(image, symbols, len(LINE), origin, PITCH)
    assert found is not None
    assert found.shape == (len(LINE), len(mrz_classifier.SYMBOLS))
    read = "".join(mrz_classifier.SYMBOLS[int(k)] for k in found.argmax(axis=1))
    assert read == LINE
    cells = [mrz_classifier.candidates(row) for row in found]
    assert all(cell[0][1] > 50 for cell in cells)


def test_a_grid_that_starts_a_cell_early_is_moved_onto_the_zone() -> None:
    # OCR read a mark left of the zone as its first character: the grid starts there.
    image, symbols = _rendered(LINE)
    origin = symbols[0].box.center_x - PITCH
    found = mrz_classifier.probabilities(image, symbols, len(LINE), origin, PITCH)
    assert found is not None
    assert "".join(mrz_classifier.SYMBOLS[int(k)] for k in found.argmax(axis=1)) == LINE
