"""What processing found in a document (``DocumentOut.extracted``), described for the OpenAPI
document: the response keeps the stored members as they are (a document not read yet has
none), so these models give its schema and are not used to serialise it."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, Field

from kycvault.api.body_specs import standalone_schema


class MrzOut(BaseModel):
    """A machine-readable zone as read (ICAO 9303). Dates are None where the digits are
    no date."""

    layout: str = Field(description="TD1, TD2, TD3, MRV-A or MRV-B")
    document_code: str = Field(description="P passport, I/A/C identity card, V visa, …")
    issuing_state: str
    surname: str
    given_names: str
    document_number: str
    nationality: str
    birth_date: date | None
    sex: str | None
    expiry_date: date | None
    optional_data: str
    checks: dict[str, bool] = Field(description="each check digit of the layout: passed?")
    confidence: dict[str, float] = Field(
        default={},
        description="per field, how sure the reading is (0-1); absent where not measured (a "
        "PDF's text layer)",
    )
    ambiguous: dict[str, list[str]] = Field(
        default={},
        description="fields whose other readings (listed) also pass their check digits: not "
        "known, and not compared",
    )
    valid: bool = Field(description="every check digit passed and no field is ambiguous")


class ContentClassificationOut(BaseModel):
    """The type the content shows, against the declared one."""

    type: str = Field(description="a document type name")
    confidence: float = Field(ge=0, le=1)
    evidence: list[str]
    declared: str = Field(description="the document's type when it was classified")
    agrees: bool
    applied: bool = Field(description="the classification replaced the declared type")


class ExtractedOut(BaseModel):
    """What processing found; empty until a file has been read."""

    pages: int = Field(default=0, description="pages read, over every file")
    characters: int = Field(default=0, description="characters of text read")
    sources: list[str] = Field(default=[], description="text_layer, ocr or text")
    mrz: MrzOut | None = None
    classification: ContentClassificationOut | None = None
    derived: dict[str, str] = Field(
        default={},
        description="fields filled from the zone (id_number, issuing_country, expiry_date, "
        "subject_birth_date) with the value filled; not compared with the zone again",
    )


EXTRACTED_SCHEMA: dict[str, Any] = standalone_schema(
    ExtractedOut.model_json_schema(mode="serialization")
)
