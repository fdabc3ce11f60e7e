"""End-to-end tests of document types: /v1/document-types, and the vendor type names and
aliases a document may be created with."""

from __future__ import annotations

import httpx2
import pytest

from tests.e2e.documents_support import new_doc
from tests.e2e.problem_support import problem

# Every answer is checked against the OpenAPI documents (tests/spec_conformance.py).
pytestmark = pytest.mark.usefixtures("responses_conform")

# The vendors' own type names, from reference/vendor-apis.md.
SILA_TYPES = [
    "tax_1040", "vtl_birth_certificate", "doc_name_change", "vtl_divorce", "id_drivers_permit",
    "tax_w2", "doc_lease", "vtl_marriage", "id_military_dependent", "id_military",
    "doc_mortgage", "id_nyc_id", "other_doc", "other_id", "id_passport", "doc_paystub",
    "doc_green_card", "doc_ssa", "doc_ss_card", "id_state", "id_drivers_license", "tax_1095",
    "tax_1099", "doc_tuition", "doc_uo_benefits", "id_passport_card", "doc_utility", "tax_W4",
]  # fmt: skip
NCORE_TYPES = [
    "NATIONAL_ID", "PASSPORT", "VISA", "TRADE_LICENSE", "COMMERCIAL_LICENSE",
    "INCORPORATION_CERT", "INCUMBENCY_CERT", "MEMORANDUM_ARTICLES", "BANK_STATEMENT",
    "ADDITIONAL",
]  # fmt: skip
ARGYLE_TYPES = ["paystubs", "W-2", "1099", "proof-of-identity", "proof-of-address", "miscellaneous"]
CYNOPSIS_TYPES = ["NATIONAL_ID", "PASSPORT", "DRIVING_LICENSE", "OTHERS"]
DIALECTS = {
    "sila": SILA_TYPES,
    "ncore": NCORE_TYPES,
    "argyle": ARGYLE_TYPES,
    "cynopsis": CYNOPSIS_TYPES,
}


# --- type names on create ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("passport", "passport"),
        ("PASSPORT", "passport"),
        ("id_passport", "passport"),
        ("Id_Passport", "passport"),
        ("DRIVING_LICENSE", "drivers_license"),
        ("id_drivers_license", "drivers_license"),
        ("NATIONAL_ID", "national_id"),
        ("INCORPORATION_CERT", "incorporation_certificate"),
        ("proof-of-address", "proof_of_address"),
        ("W-2", "tax_w2"),
        ("tax_W4", "tax_w4"),
        ("paystubs", "paystub"),
        ("OTHERS", "other_document"),
        ("ADDITIONAL", "other_document"),
        ("miscellaneous", "other_document"),
        ("other_doc", "other_document"),
    ],
)
def test_type_by_name_or_vendor_alias(client: httpx2.Client, given: str, stored: str) -> None:
    doc = new_doc(client, type=given)
    assert doc["type"] == stored
    assert client.get(f"/v1/documents/{doc['id']}").json()["type"] == stored


# --- document types ----------------------------------------------------------------------


def test_document_types_cover_every_vendor_type(client: httpx2.Client) -> None:
    response = client.get("/v1/document-types")
    assert response.status_code == 200
    types = response.json()["data"]
    names = [t["name"] for t in types]
    assert len(names) == len(set(names))
    for entry in types:
        assert set(entry) == {"name", "label", "category", "roles", "aliases", "builtin"}
        assert entry["builtin"] is True
        assert entry["label"]
        assert entry["category"] in {"identity", "address", "financial", "corporate", "other"}
        assert set(entry["roles"]) <= {"FRONT", "BACK", "PAGE1", "PAGE2"}

    for dialect, vendor_names in DIALECTS.items():
        claimed = [t["aliases"][dialect] for t in types if dialect in t["aliases"]]
        assert len(claimed) == len(set(claimed)), f"{dialect} alias used twice"
        for vendor_name in vendor_names:
            owners = [t["name"] for t in types if t["aliases"].get(dialect) == vendor_name]
            assert len(owners) == 1, f"{dialect} {vendor_name}: {owners}"
    assert len(SILA_TYPES) == 28
    sila = {t["aliases"]["sila"] for t in types if "sila" in t["aliases"]}
    assert set(SILA_TYPES) <= sila

    by_name = {t["name"]: t for t in types}
    assert by_name["passport"]["roles"] == ["PAGE1", "PAGE2"]
    assert by_name["passport"]["aliases"] == {
        "ncore": "PASSPORT",
        "sila": "id_passport",
        "cynopsis": "PASSPORT",
    }
    assert by_name["national_id"]["roles"] == ["FRONT", "BACK"]
    assert by_name["visa"]["roles"] == ["FRONT"]
    assert by_name["bank_statement"]["roles"] == []


@pytest.mark.parametrize("category", ["identity", "address", "financial", "corporate", "other"])
def test_document_types_category_filter(client: httpx2.Client, category: str) -> None:
    everything = client.get("/v1/document-types").json()["data"]
    response = client.get("/v1/document-types", params={"category": category})
    assert response.status_code == 200
    filtered = response.json()["data"]
    assert filtered
    assert all(t["category"] == category for t in filtered)
    assert filtered == [t for t in everything if t["category"] == category]


def test_document_types_bad_category(client: httpx2.Client) -> None:
    body = problem(
        client.get("/v1/document-types", params={"category": "spells"}), 400, "validation_error"
    )
    assert body["errors"][0]["field"] == "category"


@pytest.mark.parametrize(
    ("ref", "name"),
    [
        ("passport", "passport"),
        ("PASSPORT", "passport"),
        ("id_passport", "passport"),
        ("DRIVING_LICENSE", "drivers_license"),
        ("proof-of-identity", "proof_of_identity"),
        ("MEMORANDUM_ARTICLES", "memorandum_articles"),
        ("OTHERS", "other_document"),
    ],
)
def test_document_type_by_name_or_alias(client: httpx2.Client, ref: str, name: str) -> None:
    response = client.get(f"/v1/document-types/{ref}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["name"] == name
    listed = {t["name"]: t for t in client.get("/v1/document-types").json()["data"]}
    assert body == listed[name]


def test_unknown_document_type_is_404(client: httpx2.Client) -> None:
    problem(client.get("/v1/document-types/hovercraft"), 404, "document_type_not_found")
