"""Every authenticity signal both ways (fires, does not fire) and when there is nothing to
check it on, and the score they make."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from kycvault.domain.authenticity import (
    WEIGHTS,
    Facts,
    Outcome,
    Signal,
    evaluate,
    score,
)
from kycvault.domain.mrz import Layout, MrzResult, parse
from kycvault.domain.viz import Printed
from tests.samples import mrz_lines, random_person

TODAY = date(2026, 5, 1)
NUMBER = "C01X00T47"
EXPIRY = date(2031, 8, 12)


def zone(**overrides: object) -> MrzResult:
    """A passport zone (NGA, number ``NUMBER``, expiring ``EXPIRY``) with ``overrides``."""
    fields: dict[str, object] = {
        "issuing_state": "NGA",
        "nationality": "NGA",
        "document_number": NUMBER,
        "expiry_date": EXPIRY,
        **overrides,
    }
    person = random_person(random.Random(7), Layout.TD3, **fields)
    result = parse(mrz_lines(person), today=TODAY)
    assert result is not None
    return result


def facts(**values: Any) -> Facts:
    return Facts(today=TODAY, **values)


def signal(found: Facts, code: str) -> Signal:
    (only,) = [s for s in evaluate(found) if s.code == code]
    return only


def fired(found: Facts, code: str) -> bool:
    outcome = signal(found, code).outcome
    assert outcome is not Outcome.NOT_APPLICABLE, f"{code} was not applicable"
    return outcome is Outcome.FIRED


def not_applicable(found: Facts, code: str) -> bool:
    return signal(found, code).outcome is Outcome.NOT_APPLICABLE


def image(**traces: Any) -> dict[str, Any]:
    return {"kind": "image", **traces}


def pdf(**traces: Any) -> dict[str, Any]:
    return {
        "kind": "pdf",
        "pdf_revisions": 1,
        "pdf_signed_updates": 0,
        "pdf_producer": "ACME statements 4.2",
        "pdf_creator": None,
        "pdf_created": "2026-03-31T23:00:00+00:00",
        "pdf_modified": "2026-03-31T23:00:00+00:00",
        **traces,
    }


# The list and its weights


def test_every_signal_is_listed_once_with_its_weight() -> None:
    signals = evaluate(facts())
    assert [s.code for s in signals] == list(WEIGHTS)
    assert all(s.weight == WEIGHTS[s.code] > 0 for s in signals)
    shown = signals[0].as_dict()
    assert set(shown) == {"code", "weight", "severity", "outcome", "fired", "detail", "message"}
    assert shown["weight"] == WEIGHTS["mrz_check_digits"]


def test_with_nothing_to_check_only_the_duplicate_file_check_applies() -> None:
    signals = evaluate(facts())
    applicable = [s.code for s in signals if s.outcome is not Outcome.NOT_APPLICABLE]
    assert applicable == ["duplicate_file"]
    assert all(s.detail for s in signals)
    assert score(signals) == 100


# mrz_check_digits


def test_check_digits_fire_when_one_fails_and_name_it() -> None:
    found = facts(mrz=zone(broken=frozenset({"birth_date"})))
    assert fired(found, "mrz_check_digits")
    assert signal(found, "mrz_check_digits").detail == (
        "The check digit of the birth date in the machine-readable zone is wrong, although "
        "clearly read."
    )


def test_check_digits_pass_when_all_pass() -> None:
    assert not fired(facts(mrz=zone()), "mrz_check_digits")


def test_without_a_zone_the_mrz_signals_do_not_apply() -> None:
    found = facts(declared_number=NUMBER, declared_expiry=EXPIRY, declared_country="NG")
    for code in (
        "mrz_check_digits",
        "mrz_number_mismatch",
        "mrz_expiry_mismatch",
        "mrz_country_mismatch",
    ):
        assert not_applicable(found, code)


# mrz_number_mismatch


def test_number_mismatch_fires_on_another_number() -> None:
    assert fired(facts(mrz=zone(), declared_number="C01X00T48"), "mrz_number_mismatch")


@pytest.mark.parametrize("declared", [NUMBER, "c01x00t47", "C01 X00-T47"])
def test_number_mismatch_does_not_fire_on_the_same_number_however_written(declared: str) -> None:
    assert not fired(facts(mrz=zone(), declared_number=declared), "mrz_number_mismatch")


def test_number_mismatch_needs_a_declared_number() -> None:
    assert not_applicable(facts(mrz=zone()), "mrz_number_mismatch")


def test_a_number_failing_its_own_check_digit_is_not_compared() -> None:
    found = facts(mrz=zone(broken=frozenset({"document_number"})), declared_number="OTHER1234")
    assert not_applicable(found, "mrz_number_mismatch")
    assert fired(found, "mrz_check_digits")  # the doubt is counted once, there


# mrz_expiry_mismatch


def test_expiry_mismatch_fires_on_another_date() -> None:
    found = facts(mrz=zone(), declared_expiry=date(2031, 8, 13))
    assert fired(found, "mrz_expiry_mismatch")
    assert "2031-08-12" in signal(found, "mrz_expiry_mismatch").detail


def test_expiry_mismatch_does_not_fire_on_the_same_date() -> None:
    assert not fired(facts(mrz=zone(), declared_expiry=EXPIRY), "mrz_expiry_mismatch")


def test_expiry_mismatch_needs_a_declared_date() -> None:
    assert not_applicable(facts(mrz=zone()), "mrz_expiry_mismatch")


def test_an_expiry_failing_its_own_check_digit_is_not_compared() -> None:
    found = facts(mrz=zone(broken=frozenset({"expiry_date"})), declared_expiry=date(2029, 1, 1))
    assert not_applicable(found, "mrz_expiry_mismatch")


# mrz_country_mismatch


@pytest.mark.parametrize("declared", ["NG", "ng", "NGA"])
def test_country_matches_in_alpha_2_or_alpha_3(declared: str) -> None:
    assert not fired(facts(mrz=zone(), declared_country=declared), "mrz_country_mismatch")


@pytest.mark.parametrize("declared", ["FR", "FRA", "NE"])
def test_country_mismatch_fires_on_another_country(declared: str) -> None:
    found = facts(mrz=zone(), declared_country=declared)
    assert fired(found, "mrz_country_mismatch")
    assert signal(found, "mrz_country_mismatch").detail.endswith("differs from the zone's, NGA.")


@pytest.mark.parametrize("declared", ["DE", "DEU"])
def test_germany_s_d_is_germany(declared: str) -> None:
    german = zone(issuing_state="D<<", nationality="D<<")
    assert german.issuing_state == "D"
    assert not fired(facts(mrz=german, declared_country=declared), "mrz_country_mismatch")
    assert fired(facts(mrz=german, declared_country="AT"), "mrz_country_mismatch")


@pytest.mark.parametrize("declared", ["XK", "XKX"])
def test_kosovo_s_rks_is_kosovo(declared: str) -> None:
    kosovar = zone(issuing_state="RKS", nationality="RKS")
    assert not fired(facts(mrz=kosovar, declared_country=declared), "mrz_country_mismatch")


def test_country_mismatch_needs_a_declared_country() -> None:
    assert not_applicable(facts(mrz=zone()), "mrz_country_mismatch")


# document_expired


def test_expired_fires_on_a_declared_date_in_the_past() -> None:
    found = facts(declared_expiry=date(2026, 4, 30))
    assert fired(found, "document_expired")
    assert (
        signal(found, "document_expired").detail
        == "The document expired on 2026-04-30 (the date given)."
    )


def test_expired_does_not_fire_on_the_last_valid_day_or_later() -> None:
    assert not fired(facts(declared_expiry=TODAY), "document_expired")
    assert not fired(facts(declared_expiry=EXPIRY), "document_expired")


def test_expired_reads_the_zone_when_nothing_is_declared() -> None:
    assert fired(facts(mrz=zone(expiry_date=date(2025, 1, 31))), "document_expired")
    assert not fired(facts(mrz=zone()), "document_expired")


def test_a_later_declared_date_does_not_renew_an_expired_zone() -> None:
    found = facts(mrz=zone(expiry_date=date(2025, 1, 31)), declared_expiry=EXPIRY)
    assert fired(found, "document_expired")
    assert (
        signal(found, "document_expired").detail == "The document expired on 2025-01-31 (the zone)."
    )


def test_a_zone_expiry_failing_its_check_digit_is_not_an_expiry() -> None:
    misread = zone(expiry_date=date(2025, 1, 31), broken=frozenset({"expiry_date"}))
    assert not_applicable(facts(mrz=misread), "document_expired")


def test_expired_needs_a_date() -> None:
    assert not_applicable(facts(), "document_expired")


# image_edited


@pytest.mark.parametrize(
    "software",
    [
        "Adobe Photoshop 25.0 (Windows)",
        "Adobe Photoshop Lightroom Classic 13.1 (Macintosh)",
        "GIMP 2.10.36",
        "Snapseed 2.0",
        "Canva",
        "paint.net 5.0.12",
    ],
)
def test_image_edited_fires_on_editing_software(software: str) -> None:
    found = facts(traces=[image(exif_software=software)])
    assert fired(found, "image_edited")
    assert signal(found, "image_edited").detail == f"An image was saved by {software}."


def test_image_edited_fires_on_an_editor_in_the_xmp_history() -> None:
    traces = [image(exif_software="Ver.1.00", xmp_tools=["Pixlr X", "Ver.1.00"])]
    assert fired(facts(traces=traces), "image_edited")


@pytest.mark.parametrize(
    "software",
    [
        "Ver.1.00",
        "HDR+ 1.0.540104389zd",
        "iOS 17.4.1",
        "Android UP1A.231005.007",
        "Pixel 8 Pro",
        "S908BXXS3BWK1",
        "Picture Style Editor",  # not an image editor, a camera profile tool
        "CanvasCamera 2.1",  # "canva" only as a whole word
        "Kofax VRS",
        "EPSON Scan",
    ],
)
def test_image_edited_does_not_fire_on_cameras_phones_and_scanners(software: str) -> None:
    found = facts(traces=[image(exif_software=software, xmp_tools=[software])])
    assert not fired(found, "image_edited")


def test_image_edited_looks_at_every_image() -> None:
    traces = [image(exif_software="Ver.1.00"), image(), image(exif_software="GIMP 2.10")]
    assert fired(facts(traces=traces), "image_edited")
    assert not fired(facts(traces=traces[:2]), "image_edited")


def test_image_edited_needs_an_image() -> None:
    # PDFs, text files and office documents carry no image traces.
    traces = [pdf(pdf_producer="Adobe Photoshop 25.0"), {}, {"kind": None}]
    assert not_applicable(facts(traces=traces), "image_edited")
    # An encrypted PDF (nothing read) is still a PDF, not an image.
    assert not_applicable(facts(traces=[{"kind": "pdf", "pdf_encrypted": True}]), "image_edited")


# pdf_edited


def test_pdf_edited_does_not_fire_on_a_single_save_by_ordinary_software() -> None:
    found = facts(traces=[pdf()])
    assert not fired(found, "pdf_edited")
    assert signal(found, "pdf_edited").detail.startswith("Each PDF has one revision")


def test_pdf_edited_fires_on_incremental_updates() -> None:
    found = facts(traces=[pdf(pdf_revisions=3)])
    assert fired(found, "pdf_edited")
    assert signal(found, "pdf_edited").detail == (
        "A PDF shows editing: it was changed 2 time(s) after it was first saved."
    )


def test_updates_that_added_signatures_are_not_edits() -> None:
    assert not fired(facts(traces=[pdf(pdf_revisions=2, pdf_signed_updates=1)]), "pdf_edited")
    assert not fired(facts(traces=[pdf(pdf_revisions=3, pdf_signed_updates=2)]), "pdf_edited")
    found = facts(traces=[pdf(pdf_revisions=3, pdf_signed_updates=1)])
    assert signal(found, "pdf_edited").detail == (
        "A PDF shows editing: it was changed 1 time(s) after it was first saved."
    )


@pytest.mark.parametrize(
    ("producer", "creator"),
    [
        ("Adobe Acrobat Pro (64-bit) 23.8.20458", None),
        ("iLovePDF", "Microsoft Word"),
        ("Skia/PDF m120", "Sejda"),
        ("PDF-XChange Editor 10.2", None),
        ("Foxit PhantomPDF 10.1", None),
        ("Adobe Acrobat Professional 8.1.0", None),
    ],
)
def test_pdf_edited_fires_on_editing_software(producer: str, creator: str | None) -> None:
    found = facts(traces=[pdf(pdf_producer=producer, pdf_creator=creator)])
    assert fired(found, "pdf_edited")
    assert signal(found, "pdf_edited").detail.startswith(
        "A PDF shows editing: it was made or saved with "
    )


@pytest.mark.parametrize(
    ("producer", "creator"),
    [
        ("Microsoft\u00ae Word for Microsoft 365", "Microsoft\u00ae Word for Microsoft 365"),
        ("macOS Version 14.4 (Build 23E214) Quartz PDFContext", "Pages"),
        ("Microsoft: Print To PDF", None),
        ("PDF-XChange Printer 2012", "Scan to PDF"),
        ("Adobe PDF Library 23.8.53", "Acrobat PDFMaker 23 for Word"),
        ("Canon iR-ADV C5535 PDF", None),
        ("iText 7.2.5 (AGPL-version)", "ACME Bank statements"),
    ],
)
def test_pdf_edited_does_not_fire_on_ordinary_producers(producer: str, creator: str | None) -> None:
    assert not fired(facts(traces=[pdf(pdf_producer=producer, pdf_creator=creator)]), "pdf_edited")


def test_pdf_edited_fires_on_an_editor_in_the_xmp_packet() -> None:
    assert fired(facts(traces=[pdf(xmp_tools=["Nitro Pro 13"])]), "pdf_edited")


def test_pdf_edited_fires_on_a_modification_after_creation() -> None:
    later = pdf(pdf_modified="2026-04-01T01:00:00+00:00")
    found = facts(traces=[later])
    assert fired(found, "pdf_edited")
    assert signal(found, "pdf_edited").detail == (
        "A PDF shows editing: it was modified after it was created."
    )


@pytest.mark.parametrize(
    "modified",
    [
        "2026-03-31T23:00:30+00:00",  # saved within the minute it was made
        "2026-03-31T22:00:00+00:00",  # an earlier date says nothing of a later change
        None,
        "not a date",
    ],
)
def test_pdf_edited_does_not_fire_on_dates_that_show_no_later_change(
    modified: str | None,
) -> None:
    assert not fired(facts(traces=[pdf(pdf_modified=modified)]), "pdf_edited")


def test_dates_with_and_without_a_zone_are_compared_without_failing() -> None:
    found = facts(traces=[pdf(pdf_modified="2026-04-02T00:00:00")])
    assert fired(found, "pdf_edited")


def test_pdf_edited_lists_every_reason_once() -> None:
    traces = [
        pdf(pdf_revisions=2, pdf_producer="GIMP 2.10"),
        pdf(pdf_revisions=2, pdf_modified="2026-05-01T00:00:00+00:00"),
    ]
    detail = signal(facts(traces=traces), "pdf_edited").detail
    assert detail == (
        "A PDF shows editing: it was changed 1 time(s) after it was first saved; it was "
        "made or saved with GIMP 2.10; it was modified after it was created."
    )


def test_pdf_edited_needs_a_pdf() -> None:
    assert not_applicable(facts(traces=[image(exif_software="GIMP")]), "pdf_edited")


# duplicate_file, duplicate_document_number


def test_duplicate_file_fires_when_another_subject_has_it() -> None:
    found = facts(same_file_elsewhere=2)
    assert fired(found, "duplicate_file")
    assert "2 other subject(s)" in signal(found, "duplicate_file").detail


def test_duplicate_file_does_not_fire_on_a_file_of_this_subject_only() -> None:
    assert not fired(facts(), "duplicate_file")


@pytest.mark.parametrize(
    "known", [{"declared_number": NUMBER}, {"mrz": None, "declared_number": " x1 "}]
)
def test_duplicate_number_fires_when_another_subject_has_it(known: dict[str, Any]) -> None:
    found = facts(same_number_elsewhere=1, **known)
    assert fired(found, "duplicate_document_number")
    assert "1 other subject(s)" in signal(found, "duplicate_document_number").detail


def test_duplicate_number_reads_the_zone_s_number() -> None:
    assert fired(facts(mrz=zone(), same_number_elsewhere=1), "duplicate_document_number")
    assert not fired(facts(mrz=zone()), "duplicate_document_number")


def test_duplicate_number_needs_a_number() -> None:
    assert not_applicable(facts(same_number_elsewhere=3), "duplicate_document_number")
    assert not_applicable(
        facts(declared_number=" - ", same_number_elsewhere=3), "duplicate_document_number"
    )


# type_mismatch


def test_type_mismatch_fires_when_the_content_shows_another_type() -> None:
    found = facts(declared_type="utility_bill", classified_type="passport", type_agrees=False)
    assert fired(found, "type_mismatch")
    assert signal(found, "type_mismatch").detail == (
        "The document was declared a utility bill, but its content looks like a passport."
    )


def test_type_mismatch_does_not_fire_when_the_types_agree() -> None:
    found = facts(declared_type="proof_of_identity", classified_type="passport", type_agrees=True)
    assert not fired(found, "type_mismatch")


def test_type_mismatch_needs_a_classification() -> None:
    assert not_applicable(facts(declared_type="passport", type_agrees=False), "type_mismatch")


# The score


def test_the_score_loses_each_fired_weight_and_nothing_else() -> None:
    found = facts(
        mrz=zone(),
        declared_number="OTHER0001",  # fires: 25
        declared_expiry=EXPIRY,  # passes
        declared_country="NG",  # passes
        traces=[image(exif_software="GIMP 2.10"), pdf()],  # image fires: 25, pdf passes
        same_file_elsewhere=1,  # fires: 35
    )
    signals = evaluate(found)
    assert {s.code for s in signals if s.outcome is Outcome.FIRED} == {
        "mrz_number_mismatch",
        "image_edited",
        "duplicate_file",
    }
    assert score(signals) == 100 - 25 - 25 - 35 == 15


def test_the_score_never_goes_below_zero() -> None:
    everything = facts(
        mrz=zone(expiry_date=date(2024, 1, 1), broken=frozenset({"optional_data"})),
        declared_number="OTHER0001",
        declared_expiry=date(2024, 1, 2),
        declared_country="FR",
        traces=[image(exif_software="GIMP"), pdf(pdf_revisions=2)],
        same_file_elsewhere=1,
        same_number_elsewhere=1,
        declared_type="utility_bill",
        classified_type="passport",
        type_agrees=False,
        subject_name="Nobody Atall",
        subject_birth_date=date(1900, 1, 1),
        portrait_expected=True,
        portraits=[False],
        printed=Printed(document_number="XK1234567"),
    )
    signals = evaluate(everything)
    assert all(s.outcome is Outcome.FIRED for s in signals)
    assert sum(s.weight for s in signals) > 100
    assert score(signals) == 0


def test_the_score_of_no_signals_is_100() -> None:
    assert score([]) == 100
    na = replace(evaluate(facts())[0], outcome=Outcome.NOT_APPLICABLE, weight=500)
    assert score([na]) == 100
