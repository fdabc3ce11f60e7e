"""Deciding a document's type from its content.

A machine-readable zone settles it for travel documents (its document code: ``P`` passport,
``V`` visa, ``I``/``A``/``C`` identity card). Other documents are told by the phrases their
kind always prints (a bank statement's "opening balance", a W-2's "wage and tax statement");
a type needs two distinct phrases, and confidence grows with each further one.

Whether a declared type agrees with the one found is decided for the catalog's types only:
a tenant's own type means what the tenant says it means, and no content contradicts it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kycvault.domain.catalog import BUILTIN_CATALOG
from kycvault.domain.mrz import MrzResult

# Per type: phrases its documents print. Matched case-insensitively on word boundaries.
KEYWORDS: dict[str, tuple[str, ...]] = {
    "bank_statement": (
        "bank statement",
        "statement of account",
        "account statement",
        "account number",
        "opening balance",
        "closing balance",
        "sort code",
        "iban",
        "bic",
        "swift",
        "available balance",
        "statement period",
        "transactions",
    ),
    "utility_bill": (
        "electricity",
        "kwh",
        "meter reading",
        "gas usage",
        "water charges",
        "utility",
        "amount due",
        "billing period",
        "service address",
        "account number",
        "due date",
    ),
    "paystub": (
        "pay stub",
        "payslip",
        "pay slip",
        "earnings statement",
        "gross pay",
        "net pay",
        "pay period",
        "pay date",
        "deductions",
        "year to date",
        "ytd",
    ),
    "tax_w2": ("form w-2", "wage and tax statement", "employer identification number"),
    "tax_1099": ("form 1099", "1099-misc", "1099-nec", "1099-int", "payer's tin"),
    "tax_1040": ("form 1040", "individual income tax return", "adjusted gross income"),
    "trade_license": (
        "trade licence",
        "trade license",
        "licence number",
        "license number",
        "licensed activities",
        "commercial activity",
        "department of economic development",
    ),
    "incorporation_certificate": (
        "certificate of incorporation",
        "incorporated under",
        "companies act",
        "company number",
        "registrar of companies",
    ),
    "lease": ("lease agreement", "tenancy agreement", "landlord", "tenant", "monthly rent"),
    "drivers_license": ("driver license", "driver's license", "driving licence", "licence no"),
}
_MRZ_TYPES = {"P": "passport", "V": "visa", "I": "national_id", "A": "national_id"}
_MRZ_TYPES["C"] = "national_id"
# Declared types that are umbrellas over more specific ones the content may reveal.
_COVERS: dict[str, frozenset[str]] = {
    "proof_of_identity": frozenset({"passport", "national_id", "drivers_license", "visa"}),
    "other_id": frozenset({"passport", "national_id", "drivers_license", "visa"}),
    "proof_of_address": frozenset({"utility_bill", "bank_statement", "lease"}),
}
# Declared types the content cannot tell from the type found, because they print the same
# zone or phrases: every identity card with an ICAO zone (I, A or C) reads as
# ``national_id``; a mortgage statement shows a bill's "amount due" and "account number";
# memoranda and incumbency certificates cite the "companies act" and the "company number".
_KIN: dict[str, frozenset[str]] = {
    "national_id": frozenset(
        {
            "passport_card",
            "green_card",
            "state_id",
            "military_id",
            "military_dependent_id",
            "nyc_id",
        }
    ),
    "drivers_license": frozenset({"drivers_permit"}),
    "utility_bill": frozenset({"mortgage"}),
    "bank_statement": frozenset({"mortgage", "financial_statement"}),
    "incorporation_certificate": frozenset({"memorandum_articles", "incumbency_certificate"}),
    "trade_license": frozenset({"commercial_license"}),
}
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})
_SPACE = re.compile(r"\s+")
_PATTERNS = {
    name: [re.compile(rf"(?<![a-z0-9]){re.escape(p)}(?![a-z0-9])") for p in phrases]
    for name, phrases in KEYWORDS.items()
}


@dataclass(frozen=True, slots=True)
class Classification:
    type: str
    confidence: float
    evidence: tuple[str, ...]

    def as_dict(self) -> dict[str, object]:
        return {
            "type": self.type,
            "confidence": round(self.confidence, 2),
            "evidence": list(self.evidence),
        }


def classify(text: str, mrz: MrzResult | None) -> Classification | None:
    """The type the content shows, or None when it shows none clearly."""
    if mrz is not None:
        kind = _MRZ_TYPES.get(mrz.document_code[:1])
        if kind is not None:
            confidence = 0.97 if mrz.valid else 0.8
            return Classification(kind, confidence, (f"MRZ {mrz.layout.value}",))
    # Phrases wrap across lines and PDFs space words unevenly; typographic apostrophes too.
    folded = _SPACE.sub(" ", text.casefold().translate(_APOSTROPHES))
    scored: list[tuple[int, str, tuple[str, ...]]] = []
    for name, patterns in _PATTERNS.items():
        hits = tuple(
            phrase
            for phrase, pattern in zip(KEYWORDS[name], patterns, strict=True)
            if pattern.search(folded)
        )
        if len(hits) >= 2:
            scored.append((len(hits), name, hits))
    if not scored:
        return None
    scored.sort(reverse=True)
    best_hits, name, hits = scored[0]
    if len(scored) > 1 and scored[1][0] == best_hits:
        return None  # two types equally likely: say nothing rather than guess
    return Classification(name, min(0.95, 0.4 + 0.12 * best_hits), hits)


def agrees(declared: str, classified: str) -> bool:
    """Whether the declared type is the one found, an umbrella that includes it, or a type
    the content cannot tell from it; a declared ``other_document``, or a tenant's own type,
    claims nothing to disagree with."""
    if declared in (classified, "other_document") or BUILTIN_CATALOG.get(declared) is None:
        return True
    return classified in _COVERS.get(declared, frozenset()) or declared in _KIN.get(
        classified, frozenset()
    )
