"""The built-in document-type catalog.

One canonical entry per kind of document, merged across the five vendors whose APIs kycvault
speaks. Each entry names the roles its files may take and, per dialect, the vendor's own name
for it (``aliases``), so a passport uploaded through nCore as ``PASSPORT`` is listed through Sila
as ``id_passport`` and through Cynopsis as ``PASSPORT``. Sila's 28 short names (and
``bank_statement``, which its examples use), nCore's identification types, Argyle's six and
Cynopsis' four all resolve to exactly one entry.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from kycvault.domain.types import Category, FileRole

_CARD = (FileRole.FRONT, FileRole.BACK)
_BOOK = (FileRole.PAGE1, FileRole.PAGE2)


@dataclass(frozen=True, slots=True)
class DocumentType:
    """A kind of document: its short ``name``, a human ``label`` and the file roles it allows.

    ``roles`` empty means the type's files carry no role (nCore's "not applicable").
    """

    name: str
    label: str
    category: Category
    roles: tuple[FileRole, ...] = ()
    aliases: Mapping[str, str] = field(default_factory=dict)
    builtin: bool = True

    def allows_role(self, role: FileRole | None) -> bool:
        if role is None:
            return True
        return role in self.roles

    def alias(self, dialect: str) -> str | None:
        return self.aliases.get(dialect)


def _t(
    name: str,
    label: str,
    category: Category,
    roles: tuple[FileRole, ...] = (),
    **aliases: str,
) -> DocumentType:
    return DocumentType(name, label, category, roles, MappingProxyType(dict(aliases)))


_I, _A, _F, _C, _O = (
    Category.IDENTITY,
    Category.ADDRESS,
    Category.FINANCIAL,
    Category.CORPORATE,
    Category.OTHER,
)

BUILTIN_TYPES: tuple[DocumentType, ...] = (
    # identity
    _t(
        "passport", "Passport", _I, _BOOK, ncore="PASSPORT", sila="id_passport", cynopsis="PASSPORT"
    ),
    _t("passport_card", "US Passport Card", _I, _CARD, sila="id_passport_card"),
    _t("national_id", "National ID card", _I, _CARD, ncore="NATIONAL_ID", cynopsis="NATIONAL_ID"),
    _t(
        "drivers_license",
        "State-issued driver's license",
        _I,
        _CARD,
        sila="id_drivers_license",
        cynopsis="DRIVING_LICENSE",
    ),
    _t("drivers_permit", "Driver's permit", _I, _CARD, sila="id_drivers_permit"),
    _t("state_id", "State ID card", _I, _CARD, sila="id_state"),
    _t("nyc_id", "NYC ID Card", _I, _CARD, sila="id_nyc_id"),
    _t("military_id", "Military ID", _I, _CARD, sila="id_military"),
    _t(
        "military_dependent_id",
        "Military Dependent's ID Card",
        _I,
        _CARD,
        sila="id_military_dependent",
    ),
    _t("green_card", "Permanent Resident Card (or Green Card)", _I, _CARD, sila="doc_green_card"),
    _t("social_security_card", "Social Security Card", _I, _CARD, sila="doc_ss_card"),
    _t("visa", "Visa", _I, (FileRole.FRONT,), ncore="VISA"),
    _t("other_id", "Other ID", _I, _CARD, sila="other_id"),
    _t("proof_of_identity", "Proof of identity", _I, _CARD, argyle="proof-of-identity"),
    # address
    _t("utility_bill", "Utility bill", _A, sila="doc_utility"),
    _t("lease", "Lease agreement", _A, sila="doc_lease"),
    _t("mortgage", "Mortgage agreement", _A, sila="doc_mortgage"),
    _t("proof_of_address", "Proof of address", _A, argyle="proof-of-address"),
    # financial
    _t("bank_statement", "Bank Statement", _F, ncore="BANK_STATEMENT", sila="bank_statement"),
    _t("financial_statement", "Financial Statement", _F),
    _t("paystub", "Pay Stub Documentation", _F, sila="doc_paystub", argyle="paystubs"),
    _t("tax_w2", "Form W-2 (wage and tax statement)", _F, sila="tax_w2", argyle="W-2"),
    _t("tax_1099", "Form 1099", _F, sila="tax_1099", argyle="1099"),
    _t("tax_1040", "Form 1040 (individual income tax return)", _F, sila="tax_1040"),
    _t("tax_1095", "Form 1095 (health coverage)", _F, sila="tax_1095"),
    _t("tax_w4", "Form W-4 (withholding certificate)", _F, sila="tax_W4"),
    _t("tuition_statement", "Tuition Statement", _F, sila="doc_tuition"),
    _t("unemployment_benefits", "Unemployment Benefits Letter", _F, sila="doc_uo_benefits"),
    _t(
        "ssa_document",
        "Social Security Administration documentation (includes 4029)",
        _F,
        sila="doc_ssa",
    ),
    # corporate
    _t("trade_license", "Trade licence", _C, ncore="TRADE_LICENSE"),
    _t("commercial_license", "Commercial licence", _C, ncore="COMMERCIAL_LICENSE"),
    _t("incorporation_certificate", "Certificate of incorporation", _C, ncore="INCORPORATION_CERT"),
    _t("incumbency_certificate", "Certificate of incumbency", _C, ncore="INCUMBENCY_CERT"),
    _t(
        "memorandum_articles",
        "Memorandum and articles of association",
        _C,
        ncore="MEMORANDUM_ARTICLES",
    ),
    # other
    _t("birth_certificate", "Birth certificate", _O, sila="vtl_birth_certificate"),
    _t("name_change", "Court Order for Name Change", _O, sila="doc_name_change"),
    _t("divorce_decree", "Divorce decree", _O, sila="vtl_divorce"),
    _t("marriage_certificate", "Marriage certificate", _O, sila="vtl_marriage"),
    _t(
        "other_document",
        "Other Document",
        _O,
        _CARD,  # optional: a card-like document's two sides (Cynopsis sends front and back)
        sila="other_doc",
        cynopsis="OTHERS",
        ncore="ADDITIONAL",
        argyle="miscellaneous",
    ),
)


class Catalog:
    """Lookup over a set of document types: by name, by any dialect's alias, or by label.

    Names and aliases are matched case-insensitively; a unit test guarantees that no two
    entries claim the same folded name.
    """

    def __init__(self, types: Iterable[DocumentType]) -> None:
        self._types: dict[str, DocumentType] = {}
        self._keys: dict[str, DocumentType] = {}
        for doc_type in types:
            self._types[doc_type.name] = doc_type
            self._keys.setdefault(doc_type.name.casefold(), doc_type)
            for alias in doc_type.aliases.values():
                self._keys.setdefault(alias.casefold(), doc_type)

    def __iter__(self) -> Iterator[DocumentType]:
        return iter(self._types.values())

    def __len__(self) -> int:
        return len(self._types)

    def get(self, name: str) -> DocumentType | None:
        """The entry with exactly this canonical name."""
        return self._types.get(name)

    def resolve(self, name_or_alias: str) -> DocumentType | None:
        """The entry named, or aliased by any dialect, by ``name_or_alias``."""
        return self._types.get(name_or_alias) or self._keys.get(name_or_alias.casefold())

    def by_alias(self, dialect: str, alias: str) -> DocumentType | None:
        for doc_type in self._types.values():
            if doc_type.aliases.get(dialect) == alias:
                return doc_type
        return None

    def by_label(self, label: str) -> DocumentType | None:
        folded = label.strip().casefold()
        for doc_type in self._types.values():
            if doc_type.label.casefold() == folded:
                return doc_type
        return None

    def with_types(self, extra: Iterable[DocumentType]) -> Catalog:
        """A catalog of these entries plus ``extra`` (a tenant's custom types)."""
        extra = list(extra)
        # Most tenants have no custom types; this runs on every upload.
        return Catalog([*self._types.values(), *extra]) if extra else self


BUILTIN_CATALOG = Catalog(BUILTIN_TYPES)
