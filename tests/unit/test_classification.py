"""Classification from content: the MRZ's document code, then the phrases a kind of document
prints (two at least, no ties), and whether a declared type agrees with the type found."""

from __future__ import annotations

import random
from datetime import date

import pytest

from kycvault.domain.catalog import BUILTIN_CATALOG
from kycvault.domain.classification import KEYWORDS, agrees, classify
from kycvault.domain.mrz import Layout, MrzResult, parse
from tests.samples import mrz_lines, random_person

TODAY = date(2026, 5, 1)


def zone(layout: Layout, *, seed: int = 1, **overrides: object) -> MrzResult:
    person = random_person(random.Random(seed), layout, **overrides)
    result = parse(mrz_lines(person), today=TODAY)
    assert result is not None
    return result


@pytest.mark.parametrize(
    ("layout", "code", "kind"),
    [
        (Layout.TD3, "P<", "passport"),
        (Layout.MRVA, "V<", "visa"),
        (Layout.MRVB, "V<", "visa"),
        (Layout.TD1, "ID", "national_id"),
        (Layout.TD2, "I<", "national_id"),
        (Layout.TD1, "AC", "national_id"),
        (Layout.TD1, "C1", "national_id"),
    ],
)
def test_the_zone_s_document_code_decides(layout: Layout, code: str, kind: str) -> None:
    found = classify("", zone(layout, document_code=code))
    assert found is not None
    assert found.type == kind
    assert found.evidence == (f"MRZ {layout.value}",)
    assert found.confidence == 0.97


def test_a_zone_failing_its_checks_is_less_sure() -> None:
    broken = zone(Layout.TD3, broken=frozenset({"document_number"}))
    assert not broken.valid
    found = classify("", broken)
    assert found is not None
    assert (found.type, found.confidence) == ("passport", 0.8)


def test_the_zone_wins_over_phrases() -> None:
    text = "Bank statement. Opening balance 10.00, closing balance 12.00, IBAN DE00"
    found = classify(text, zone(Layout.TD3))
    assert found is not None
    assert found.type == "passport"


def test_an_unknown_document_code_falls_back_to_phrases() -> None:
    text = "Opening balance 10.00\nClosing balance 12.00"
    found = classify(text, zone(Layout.TD3, document_code="X<"))
    assert found is not None
    assert found.type == "bank_statement"


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        (
            "bank_statement",
            "ACME BANK - Statement of account\nStatement period 1 Mar - 31 Mar\n"
            "Opening balance 1,024.00   Closing balance 980.10\nIBAN GB00 ACME 0000",
        ),
        (
            "utility_bill",
            "City Power & Light\nElectricity 312 kWh\nMeter reading 04512\n"
            "Billing period March\nAmount due: 71.20",
        ),
        (
            "paystub",
            "EARNINGS STATEMENT\nPay period 03/01-03/15  Pay date 03/20\n"
            "Gross pay 2,500.00  Net pay 1,910.00  Deductions 590.00",
        ),
        (
            "tax_w2",
            "Form W-2 Wage and Tax Statement 2025\nb Employer identification number (EIN)",
        ),
        (
            "tax_1099",
            "Form 1099-NEC Nonemployee Compensation\nPAYER\u2019S TIN 12-3456789",
        ),
        (
            "trade_license",
            "DEPARTMENT OF ECONOMIC DEVELOPMENT\nTrade Licence\nLicence Number 771234\n"
            "Licensed activities: general trading",
        ),
        (
            "incorporation_certificate",
            "CERTIFICATE OF INCORPORATION OF A PRIVATE LIMITED COMPANY\n"
            "Company Number 01234567\nincorporated under the Companies Act 2006",
        ),
    ],
)
def test_phrases_decide_other_documents(kind: str, text: str) -> None:
    found = classify(text, None)
    assert found is not None
    assert found.type == kind
    assert len(found.evidence) >= 2
    assert set(found.evidence) <= set(KEYWORDS[kind])
    assert 0.4 < found.confidence <= 0.95


def test_confidence_grows_with_each_phrase_and_stops_at_095() -> None:
    two = classify("gross pay 1 net pay 2", None)
    three = classify("gross pay 1 net pay 2 pay period 3", None)
    everything = classify(" / ".join(KEYWORDS["paystub"]), None)
    assert two is not None and three is not None and everything is not None
    assert two.confidence == pytest.approx(0.64)
    assert three.confidence == pytest.approx(0.76)
    assert everything.confidence == 0.95
    assert everything.as_dict()["confidence"] == 0.95


def test_phrases_wrapped_across_lines_or_spaced_unevenly_still_count() -> None:
    found = classify("Opening\nbalance 10.00     Closing  \t balance 12.00", None)
    assert found is not None
    assert found.type == "bank_statement"
    assert found.evidence == ("opening balance", "closing balance")


def test_typographic_apostrophes_read_as_plain_ones() -> None:
    found = classify("DRIVER\u2019S LICENSE\nLicence No 0123", None)
    assert found is not None
    assert found.type == "drivers_license"
    assert found.evidence == ("driver's license", "licence no")


def test_phrases_match_whole_words_only() -> None:
    # "ibanez" is not "iban", "bicycle" not "bic", "netpayment" not "net pay".
    assert classify("Mr Ibanez rode his bicycle; netpayments grosspay", None) is None


def test_a_single_phrase_says_nothing() -> None:
    assert classify("Your opening balance was 10.00", None) is None


def test_no_phrases_say_nothing() -> None:
    assert classify("", None) is None
    assert classify("Lorem ipsum dolor sit amet", None) is None


def test_two_types_equally_likely_give_none() -> None:
    # Two bank-statement phrases and two paystub phrases.
    text = "Opening balance 1. Closing balance 2. Gross pay 3. Net pay 4."
    assert classify(text, None) is None
    # One more paystub phrase breaks the tie.
    found = classify(text + " Pay period 5.", None)
    assert found is not None
    assert found.type == "paystub"


def test_as_dict_rounds_and_lists() -> None:
    found = classify("gross pay net pay pay period", None)
    assert found is not None
    assert found.as_dict() == {
        "type": "paystub",
        "confidence": 0.76,
        "evidence": ["gross pay", "net pay", "pay period"],
    }


def test_the_same_type_agrees() -> None:
    assert agrees("passport", "passport")
    assert agrees("bank_statement", "bank_statement")


def test_a_different_type_disagrees() -> None:
    assert not agrees("passport", "bank_statement")
    assert not agrees("utility_bill", "passport")
    assert not agrees("national_id", "passport")
    assert not agrees("drivers_license", "national_id")  # an ID card sent as a licence


@pytest.mark.parametrize("found", ["passport", "national_id", "drivers_license", "visa"])
def test_identity_umbrellas_cover_identity_documents(found: str) -> None:
    assert agrees("proof_of_identity", found)
    assert agrees("other_id", found)
    assert not agrees("proof_of_address", found)


@pytest.mark.parametrize("found", ["utility_bill", "bank_statement", "lease"])
def test_the_address_umbrella_covers_address_documents(found: str) -> None:
    assert agrees("proof_of_address", found)
    assert not agrees("proof_of_identity", found)


def test_umbrellas_do_not_cover_everything() -> None:
    assert not agrees("proof_of_address", "paystub")
    assert not agrees("proof_of_identity", "tax_w2")


@pytest.mark.parametrize("found", ["passport", "bank_statement", "tax_1099", "national_id"])
def test_other_document_claims_nothing_to_disagree_with(found: str) -> None:
    assert agrees("other_document", found)


def test_an_umbrella_found_is_not_a_declared_specific_type() -> None:
    # Only the declared side is an umbrella; the reverse says nothing about the document.
    assert not agrees("passport", "proof_of_identity")


@pytest.mark.parametrize(
    ("declared", "found"),
    [
        ("green_card", "national_id"),  # a permanent resident card's zone starts C1
        ("passport_card", "national_id"),
        ("state_id", "national_id"),
        ("drivers_permit", "drivers_license"),
        ("mortgage", "utility_bill"),
        ("memorandum_articles", "incorporation_certificate"),
        ("incumbency_certificate", "incorporation_certificate"),
        ("commercial_license", "trade_license"),
    ],
)
def test_types_the_content_cannot_tell_apart_agree(declared: str, found: str) -> None:
    assert BUILTIN_CATALOG.get(declared) is not None
    assert agrees(declared, found)
    assert not agrees(found, "passport")


def test_a_tenant_s_own_type_claims_nothing_to_disagree_with() -> None:
    assert BUILTIN_CATALOG.get("acme_onboarding_pack") is None
    assert agrees("acme_onboarding_pack", "passport")
    assert agrees("acme_onboarding_pack", "bank_statement")


def test_every_type_classification_can_find_is_in_the_catalog() -> None:
    found_types = {*KEYWORDS, "passport", "visa", "national_id"}
    assert all(BUILTIN_CATALOG.get(name) is not None for name in found_types)
