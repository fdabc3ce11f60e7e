"""Shared by the KYC Genie tests: the dialect's base URL, sample files of each format KYC
Genie lists, and the seed's error bodies."""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any

import httpx2

from tests.e2e.uploads_support import CSV_BYTES, TEXT_BYTES, docx_bytes
from tests.helpers import PDF_BYTES, Server, image_bytes

PREFIX = "/compat/kycgenie"
DOCUMENT_FIELDS = {
    "id", "name", "size", "content_type", "document_type_name", "classification",
    "uploaded_by_email", "created_at", "expiry_date",
}  # fmt: skip
DOWNLOAD_FIELDS = {"download_url", "expires_at", "filename", "content_type", "size"}
CREATED_AT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
EXPIRES_AT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$")
TYPE_NOT_ALLOWED = {
    "file": [
        "File type not allowed. Allowed types: .pdf, .doc, .docx, .xls, .xlsx, .xlsm, .ppt, "
        ".pptx, .odt, .ods, .odp, .rtf, .txt, .csv, .jpg, .jpeg, .png, .tiff, .heic, .heif, "
        ".webp, .bmp"
    ]
}
TOO_LARGE = {"file": ["File size exceeds maximum allowed size of 10MB"]}
IN_USE: dict[str, Any] = {
    "error": "Cannot delete document.",
    "details": {"reason": "This document is referenced in one or more responses."},
}
NOT_FOUND = {"detail": "Not found."}
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504


def odf_bytes(kind: str) -> bytes:
    """A minimal OpenDocument archive (``text``, ``spreadsheet`` or ``presentation``)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), f"application/vnd.oasis.opendocument.{kind}")
        archive.writestr("content.xml", '<?xml version="1.0"?><office:document-content/>')
    return buffer.getvalue()


def heif_bytes(brand: bytes) -> bytes:
    return b"\0\0\0\x18ftyp" + brand + b"\0\0\0\0mif1heic" + b"\0" * 64


# Each of the 22 extensions KYC Genie lists, with content of that format.
SAMPLES: dict[str, bytes] = {
    "pdf": PDF_BYTES,
    "doc": OLE2,
    "docx": docx_bytes(),
    "xls": OLE2,
    "xlsx": docx_bytes(),
    "xlsm": docx_bytes(),
    "ppt": OLE2,
    "pptx": docx_bytes(),
    "odt": odf_bytes("text"),
    "ods": odf_bytes("spreadsheet"),
    "odp": odf_bytes("presentation"),
    "rtf": b"{\\rtf1\\ansi Board minutes}",
    "txt": TEXT_BYTES,
    "csv": CSV_BYTES,
    "jpg": image_bytes("JPEG"),
    "jpeg": image_bytes("JPEG"),
    "png": image_bytes("PNG"),
    "tiff": image_bytes("TIFF"),
    "heic": heif_bytes(b"heic"),
    "heif": heif_bytes(b"mif1"),
    "webp": image_bytes("WEBP"),
    "bmp": image_bytes("BMP"),
}


def entity(server: Server, api_key: str, name: str = "Acme Corp Ltd") -> dict[str, Any]:
    """An entity (a subject) made through the native API."""
    with server.client(api_key) as native:
        made = native.post("/v1/subjects", json={"type": "company", "display_name": name})
    assert made.status_code == 201, made.text
    body: dict[str, Any] = made.json()
    return body


def response_of(kg: httpx2.Client, entity_id: str, **fields: Any) -> dict[str, Any]:
    """A questionnaire response of the entity, made through v2."""
    made = kg.post(
        f"{PREFIX}/api/v2/questionnaire-responses/",
        json={"questionnaire_id": "ddq-2026", "entity_id": entity_id, **fields},
    )
    assert made.status_code == 201, made.text
    body: dict[str, Any] = made.json()
    return body


def answer_upload(kg: httpx2.Client, response_id: str) -> tuple[str, str]:
    """A PDF uploaded as a file answer of the response: the document it made, and the
    answer's URL (whose DELETE deletes the document)."""
    uploaded = kg.post(
        f"{PREFIX}/api/v1/responses/{response_id}/documents/upload/",
        files={"file": ("register.pdf", PDF_BYTES, "application/pdf")},
        data={"document_type": "UBO Register"},
    )
    assert uploaded.status_code == 201, uploaded.text
    answer = uploaded.json()["attachment_id"]
    url = f"{PREFIX}/api/v2/questionnaire-responses/{response_id}/answers/files/{answer}/"
    return uploaded.json()["document"]["id"], url
