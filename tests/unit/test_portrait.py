"""The portrait check: OpenCV's face cascade finds the holder's photo on generated identity
pages of every layout, and finds none where the photo box is empty or on a page of text;
and the ``portrait_missing`` signal built on what it found."""

from __future__ import annotations

import io
import random
from datetime import date

import pytest
from PIL import Image, ImageDraw

from kycvault.adapters.reading import portrait
from kycvault.domain.authenticity import Facts, Outcome, evaluate, portrait_expected
from kycvault.domain.mrz import Layout
from tests.samples import PORTRAIT, document_image, random_person

TODAY = date(2026, 5, 1)


@pytest.mark.parametrize("layout", list(Layout))
def test_the_holders_photo_is_found_and_an_empty_box_is_not(layout: Layout) -> None:
    person = random_person(random.Random(5), layout)
    with_photo = Image.open(io.BytesIO(document_image(person, dpi=250)))
    without = Image.open(io.BytesIO(document_image(person, dpi=250, portrait=False)))
    assert portrait.present(with_photo) is True
    assert portrait.present(without) is False


def test_a_page_of_text_or_a_small_face_is_no_portrait() -> None:
    page = Image.new("L", (1700, 2200), 255)
    draw = ImageDraw.Draw(page)
    for row in range(40):
        draw.text((120, 100 + row * 50), "Statement of account  1,204.11  980.40", fill=0)
    assert portrait.present(page) is False
    # A face a fiftieth of the page's side is a background pattern, not the holder's photo.
    tiny = Image.open(PORTRAIT).resize((34, 40))
    page.paste(tiny.convert("L"), (800, 1000))
    assert portrait.present(page) is False


def _signal(**values: object) -> Outcome:
    facts = Facts(today=TODAY, **values)  # type: ignore[arg-type]
    (found,) = [s for s in evaluate(facts) if s.code == "portrait_missing"]
    return found.outcome


def test_portrait_missing_fires_only_on_identity_pages_looked_at() -> None:
    assert portrait_expected("passport") and portrait_expected("drivers_permit")
    assert not portrait_expected("utility_bill")
    assert _signal(portrait_expected=True, portraits=[False, False]) is Outcome.FIRED
    # An ID card's back shows no face; its front does.
    assert _signal(portrait_expected=True, portraits=[False, True]) is Outcome.PASSED
    assert _signal(portrait_expected=True, portraits=[]) is Outcome.NOT_APPLICABLE
    assert _signal(portrait_expected=False, portraits=[False]) is Outcome.NOT_APPLICABLE
