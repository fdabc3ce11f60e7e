from __future__ import annotations

from collections import Counter

from kycvault.domain.catalog import BUILTIN_CATALOG, BUILTIN_TYPES
from kycvault.domain.types import FileRole

SILA_28 = {
    "tax_1040",
    "vtl_birth_certificate",
    "doc_name_change",
    "vtl_divorce",
    "id_drivers_permit",
    "tax_w2",
    "doc_lease",
    "vtl_marriage",
    "id_military_dependent",
    "id_military",
    "doc_mortgage",
    "id_nyc_id",
    "other_doc",
    "other_id",
    "id_passport",
    "doc_paystub",
    "doc_green_card",
    "doc_ssa",
    "doc_ss_card",
    "id_state",
    "id_drivers_license",
    "tax_1095",
    "tax_1099",
    "doc_tuition",
    "doc_uo_benefits",
    "id_passport_card",
    "doc_utility",
    "tax_W4",
}
NCORE = {
    "NATIONAL_ID",
    "PASSPORT",
    "VISA",
    "TRADE_LICENSE",
    "COMMERCIAL_LICENSE",
    "INCORPORATION_CERT",
    "INCUMBENCY_CERT",
    "MEMORANDUM_ARTICLES",
    "BANK_STATEMENT",
    "ADDITIONAL",
}
ARGYLE = {"paystubs", "W-2", "1099", "proof-of-identity", "proof-of-address", "miscellaneous"}
CYNOPSIS = {"NATIONAL_ID", "PASSPORT", "DRIVING_LICENSE", "OTHERS"}


def _aliases(dialect: str) -> set[str]:
    return {t.aliases[dialect] for t in BUILTIN_TYPES if dialect in t.aliases}


def test_every_vendor_type_has_exactly_one_entry() -> None:
    # Sila lists bank_statement beside the 28 in its examples: the list is versioned.
    assert _aliases("sila") == SILA_28 | {"bank_statement"}
    assert _aliases("ncore") == NCORE
    assert _aliases("argyle") == ARGYLE
    assert _aliases("cynopsis") == CYNOPSIS
    for dialect in ("sila", "ncore", "argyle", "cynopsis"):
        counts = Counter(t.aliases[dialect] for t in BUILTIN_TYPES if dialect in t.aliases)
        assert max(counts.values()) == 1, dialect


def test_no_two_entries_claim_the_same_folded_name() -> None:
    owners: dict[str, str] = {}
    for doc_type in BUILTIN_TYPES:
        for key in {doc_type.name, *doc_type.aliases.values()}:
            folded = key.casefold()
            assert owners.setdefault(folded, doc_type.name) == doc_type.name, key


def test_resolve_by_name_alias_and_case() -> None:
    assert BUILTIN_CATALOG.resolve("passport").name == "passport"  # type: ignore[union-attr]
    assert BUILTIN_CATALOG.resolve("id_passport").name == "passport"  # type: ignore[union-attr]
    assert BUILTIN_CATALOG.resolve("PASSPORT").name == "passport"  # type: ignore[union-attr]
    assert BUILTIN_CATALOG.resolve("tax_w4").name == "tax_w4"  # type: ignore[union-attr]
    assert BUILTIN_CATALOG.resolve("W-2").name == "tax_w2"  # type: ignore[union-attr]
    assert BUILTIN_CATALOG.resolve("no-such-type") is None
    assert BUILTIN_CATALOG.by_alias("cynopsis", "DRIVING_LICENSE").name == "drivers_license"  # type: ignore[union-attr]
    assert BUILTIN_CATALOG.by_label("financial statement").name == "financial_statement"  # type: ignore[union-attr]


def test_roles_follow_the_ncore_pairs() -> None:
    passport = BUILTIN_CATALOG.get("passport")
    national_id = BUILTIN_CATALOG.get("national_id")
    statement = BUILTIN_CATALOG.get("bank_statement")
    assert passport and national_id and statement
    assert passport.roles == (FileRole.PAGE1, FileRole.PAGE2)
    assert national_id.roles == (FileRole.FRONT, FileRole.BACK)
    assert statement.roles == ()
    assert statement.allows_role(None)
    assert not statement.allows_role(FileRole.FRONT)
    assert not passport.allows_role(FileRole.FRONT)
