"""Examples of the native API's main bodies, shown in its OpenAPI document on the schema of
the model they are named after (``api.openapi`` puts them there: FastAPI drops every null
member of a model's own examples). tests/e2e/test_openapi.py checks each against its
schema."""

from __future__ import annotations

from typing import Any

SUBJECT_ID = "0d6f3f5e-5a57-4f0c-9a53-6f6f2b1d7c10"
DOCUMENT_ID = "6b1e0f8a-2f8e-4c43-b1a4-7b3c1f7d9e21"
FILE_ID = "c2a8e3d4-91b7-4d0e-8f55-3e2d7a6b1c90"
AT = "2026-03-02T09:15:27.512000Z"
KEY = "kvk_3f9a1c2b7d"

SUBJECT_CREATE: dict[str, Any] = {
    "type": "individual",
    "external_id": "customer-1042",
    "display_name": "Ana Souza",
    "metadata": {"segment": "retail"},
}
SUBJECT_PATCH: dict[str, Any] = {"display_name": "Ana M. Souza"}
SUBJECT: dict[str, Any] = {
    "id": SUBJECT_ID,
    "number": 1042,
    "type": "individual",
    "external_id": "customer-1042",
    "display_name": "Ana Souza",
    "parent_id": None,
    "metadata": {"segment": "retail"},
    "crypto_address": None,
    "birth_date": "1990-08-14",
    "created_at": AT,
    "updated_at": AT,
    "created_by": KEY,
    "updated_by": KEY,
}
DOCUMENT_CREATE: dict[str, Any] = {
    "type": "passport",
    "subject_id": SUBJECT_ID,
    "id_number": "FX1234567",
    "issuing_country": "BRA",
    "expiry_date": "2031-05-19",
    "notify_before_expiry": True,
}
DOCUMENT_PATCH: dict[str, Any] = {"expiry_date": "2031-05-20"}
FILE: dict[str, Any] = {
    "id": FILE_ID,
    "document_id": DOCUMENT_ID,
    "role": "PAGE1",
    "filename": "passport.jpg",
    "content_type": "image/jpeg",
    "size": 482113,
    "sha256": "9f2c4e1b7a0d3c5e8f6a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6a",
    "created_at": AT,
    "created_by": KEY,
}
DOCUMENT: dict[str, Any] = {
    "id": DOCUMENT_ID,
    "number": 311,
    "subject_id": SUBJECT_ID,
    "type": "passport",
    "name": None,
    "id_number": "FX1234567",
    "issuing_country": "BRA",
    "issue_date": None,
    "expiry_date": "2031-05-19",
    "authenticity": None,
    "notify_before_expiry": True,
    "classification": "entity_private",
    "metadata": {},
    "files": [FILE],
    "processing": {"classification": "completed", "ocr": "completed", "authenticity": "completed"},
    "processing_reasons": {},
    "extracted": {
        "pages": 1,
        "characters": 612,
        "sources": ["ocr"],
        "mrz": {
            "layout": "TD3",
            "document_code": "P",
            "issuing_state": "BRA",
            "surname": "SOUZA",
            "given_names": "ANA",
            "document_number": "FX1234567",
            "nationality": "BRA",
            "birth_date": "1990-08-14",
            "sex": "F",
            "expiry_date": "2031-05-19",
            "optional_data": "",
            "checks": {"document_number": True, "birth_date": True, "expiry_date": True},
            "confidence": {"document_number": 0.99, "birth_date": 0.99, "expiry_date": 0.98},
            "ambiguous": {},
            "valid": True,
        },
        "classification": {
            "type": "passport",
            "confidence": 0.97,
            "evidence": ["MRZ TD3"],
            "declared": "passport",
            "agrees": True,
            "applied": False,
        },
    },
    "authenticity_score": 75,
    "authenticity_status": "assessed",
    "authenticity_reason": None,
    "authenticity_signals": [
        {
            "code": "mrz_check_digits",
            "weight": 30,
            "severity": "high",
            "outcome": "passed",
            "fired": False,
            "detail": "Every check digit of the machine-readable zone is correct.",
            "message": "Every check digit of the machine-readable zone is correct.",
        },
        {
            "code": "image_edited",
            "weight": 25,
            "severity": "high",
            "outcome": "fired",
            "fired": True,
            "detail": "An image was saved by Adobe Photoshop 25.0 (Windows).",
            "message": "An image was saved by Adobe Photoshop 25.0 (Windows).",
        },
    ],
    "review": {"status": "pending", "reason_code": None, "reason": None, "by": None, "at": None},
    "created_at": AT,
    "created_by": KEY,
    "updated_at": AT,
    "updated_by": "worker",
}
REVIEW: dict[str, Any] = {"status": "rejected", "reason_code": "expired"}
DOWNLOAD_LINK: dict[str, Any] = {
    "download_url": "https://vault.example.com/v1/downloads/dl_Qm9vdGggdG9rZW4",
    "expires_at": "2026-03-02T09:30:27Z",
    "filename": "passport.jpg",
    "content_type": "image/jpeg",
    "size": 482113,
}
LEGAL_HOLD_CREATE: dict[str, Any] = {
    "subject_id": SUBJECT_ID,
    "reason": "Court order 2026/118: keep everything about this customer",
}

# By the model (the schema's title) they show.
BY_MODEL: dict[str, dict[str, Any]] = {
    "SubjectCreate": SUBJECT_CREATE,
    "SubjectPatch": SUBJECT_PATCH,
    "SubjectOut": SUBJECT,
    "DocumentCreate": DOCUMENT_CREATE,
    "DocumentPatch": DOCUMENT_PATCH,
    "DocumentOut": DOCUMENT,
    "FileOut": FILE,
    "ReviewIn": REVIEW,
    "DownloadLinkOut": DOWNLOAD_LINK,
    "LegalHoldCreate": LEGAL_HOLD_CREATE,
}
