"""Sila's documents API under /compat/sila, driven by Sila's own Python SDK (silasdk 1.1.3)
with nothing changed but its base URL: upload one document and several, list them with every
filter and page, fetch the bytes back, list the supported types. The apps and users sign with
keys made here; the refusals are in test_compat_sila_auth.py."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import pytest

from tests.e2e.sila.support import (
    BASE,
    RegisteredApp,
    SilaUser,
    assert_failure,
    register_user,
    sha256,
    silasdk,
)
from tests.e2e.uploads_support import Snapshot
from tests.helpers import PDF_BYTES, Server, image_bytes

# The Sila SDK (silasdk) sends its requests with requests, to the server's URL.
pytestmark = pytest.mark.server_process

SILA_TYPES = {
    "tax_1040", "vtl_birth_certificate", "doc_name_change", "vtl_divorce", "id_drivers_permit",
    "tax_w2", "doc_lease", "vtl_marriage", "id_military_dependent", "id_military",
    "doc_mortgage", "id_nyc_id", "other_doc", "other_id", "id_passport", "doc_paystub",
    "doc_green_card", "doc_ssa", "doc_ss_card", "id_state", "id_drivers_license", "tax_1095",
    "tax_1099", "doc_tuition", "doc_uo_benefits", "id_passport_card", "doc_utility", "tax_W4",
    "bank_statement",
}  # fmt: skip
DOCUMENT_KEYS = {
    "user_handle", "document_id", "name", "filename", "hash", "type", "size", "created",
}  # fmt: skip
CREATED = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$")


def _upload(
    app: silasdk.App,
    user: SilaUser,
    data: bytes,
    *,
    filename: str = "logo-geko",
    mime_type: str = "image/png",
    document_type: str = "id_drivers_license",
    **extra: Any,
) -> dict[str, Any]:
    payload = {
        "user_handle": user.handle,
        "filename": filename,
        "hash": sha256(data),
        "mime_type": mime_type,
        "document_type": document_type,
        **extra,
    }
    response: dict[str, Any] = silasdk.Documents.uploadDocument(
        app, payload, data, user.wallet.private_key
    )
    return response


def _uploaded(app: silasdk.App, user: SilaUser, data: bytes, **fields: Any) -> str:
    response = _upload(app, user, data, **fields)
    assert response["success"] is True, response
    document_id: str = response["document_id"]
    return document_id


def _list(app: silasdk.App, user: SilaUser, *args: Any, **filters: Any) -> dict[str, Any]:
    payload = {"user_handle": user.handle, **filters}
    response: dict[str, Any] = silasdk.Documents.listDocuments(
        app, payload, user.wallet.private_key, *args
    )
    return response


# ------------------------------------------------------------------ the SDK's calls


def test_the_sdk_starts_against_the_server(server: Server) -> None:
    # silasdk.App reads five empty messages when it starts; the fixture made one already.
    response = httpx2.get(f"{server.url}{BASE}/getmessage?emptymessage=headerTestMessage")
    assert response.status_code == 200
    assert response.json()["message"] == "header_msg"
    assert set(response.json()["header"]) >= {"created", "app_handle", "user_handle"}
    unknown = httpx2.get(f"{server.url}{BASE}/getmessage?emptymessage=nopeTestMessage")
    assert_failure(unknown, 400, "unknown_message")


def test_upload_one_document(app: silasdk.App, user: SilaUser, native: httpx2.Client) -> None:
    data = image_bytes("PNG")
    payload_reference = "ref-" + user.handle
    response = _upload(
        app, user, data, reference=payload_reference, name="CA license", description="front"
    )
    assert response["success"] is True, response
    assert response["status"] == "SUCCESS"
    assert response["message"] == "File uploaded successfully."
    assert response["reference"] == payload_reference
    assert response["reference_id"]
    assert response["response_time_ms"].isdigit()
    # The same document, as the native API sees it: the user's subject, the catalog type,
    # the file kept under Sila's filename with its mime type's extension.
    doc = native.get(f"/v1/documents/{response['document_id']}").json()
    assert doc["subject_id"] == user.subject["id"]
    assert (doc["type"], doc["name"]) == ("drivers_license", "CA license")
    assert doc["metadata"] == {"description": "front"}
    (stored,) = doc["files"]
    assert (stored["filename"], stored["content_type"]) == ("logo-geko.png", "image/png")
    assert stored["sha256"] == sha256(data)


def test_upload_several_documents(app: silasdk.App, user: SilaUser, native: httpx2.Client) -> None:
    front, statement = image_bytes("JPEG"), PDF_BYTES
    payload = {
        "user_handle": user.handle,
        "file_metadata": {
            "file_1": {
                "filename": "license-front",
                "hash": sha256(front),
                "mime_type": "image/jpeg",
                "document_type": "id_drivers_license",
                "identity_type": "license",
            },
            "file_2": {
                "filename": "march",
                "hash": sha256(statement),
                "mime_type": "application/pdf",
                "document_type": "bank_statement",
                "identity_type": "other",
                "name": "March statement",
            },
        },
    }
    response = silasdk.Documents.uploadDocuments(
        app, payload, {"file_1": front, "file_2": statement}, user.wallet.private_key
    )
    assert response["success"] is True, response
    first, second = response["document_ids"]
    assert response["document_id"] == first
    assert native.get(f"/v1/documents/{first}").json()["type"] == "drivers_license"
    assert native.get(f"/v1/documents/{second}").json()["files"][0]["filename"] == "march.pdf"
    listed = _list(app, user)
    assert listed["status_code"] == 200
    # The SDK hands back the headers as a plain dict; uvicorn sends their names in lower
    # case (HTTP header names are case-insensitive).
    headers = {name.lower(): value for name, value in listed["headers"].items()}
    assert headers["content-type"] == "application/json"
    by_id = {d["document_id"]: d for d in listed["documents"]}
    assert by_id[first]["filename"] == "license-front"
    assert (by_id[second]["name"], by_id[second]["type"]) == ("March statement", "bank_statement")


def test_get_document_bytes(app: silasdk.App, user: SilaUser) -> None:
    data = image_bytes("PNG")
    document_id = _uploaded(app, user, data, filename="passport_2017", document_type="id_passport")
    got = silasdk.Documents.getDocument(
        app, {"user_handle": user.handle, "document_id": document_id}, user.wallet.private_key
    )
    assert got["status_code"] == 200
    assert got["content"] == data
    assert got["headers"]["Content-Type"] == "image/png"
    assert got["headers"]["Content-Length"] == str(len(data))
    assert 'filename="passport_2017.png"' in got["headers"]["Content-Disposition"]


def test_list_documents_shape(app: silasdk.App, user: SilaUser) -> None:
    data = image_bytes("PNG")
    document_id = _uploaded(app, user, data, filename="img_201901022_034923", name="passport")
    listed = _list(app, user)
    assert (listed["success"], listed["status"]) == (True, "SUCCESS")
    assert listed["reference"]
    (doc,) = listed["documents"]
    assert set(doc) == DOCUMENT_KEYS
    assert doc == {
        "user_handle": user.handle,
        "document_id": document_id,
        "name": "passport",
        "filename": "img_201901022_034923",
        "hash": sha256(data),
        "type": "id_drivers_license",
        "size": str(len(data)),
        "created": doc["created"],
    }
    assert CREATED.match(doc["created"])
    assert listed["pagination"] == {
        "returned_count": 1,
        "total_count": 1,
        "current_page": 1,
        "total_pages": 1,
    }


@pytest.fixture
def three(app: silasdk.App, user: SilaUser) -> list[str]:
    """Three documents of one user, uploaded in this order."""
    return [
        _uploaded(app, user, image_bytes("PNG"), filename="b_utility", name="Bill",
                  document_type="doc_utility"),
        _uploaded(app, user, image_bytes("PNG"), filename="a_license", name="Cali",
                  document_type="id_drivers_license"),
        _uploaded(app, user, PDF_BYTES, filename="c_lease", name="Apartment",
                  mime_type="application/pdf", document_type="doc_lease"),
    ]  # fmt: skip


def _ids(listed: dict[str, Any]) -> list[str]:
    assert listed["success"] is True, listed
    return [d["document_id"] for d in listed["documents"]]


def test_list_documents_filters(app: silasdk.App, user: SilaUser, three: list[str]) -> None:
    bill, cali, lease = three
    today = datetime.now(UTC).date()
    assert _ids(_list(app, user)) == [bill, cali, lease]  # by date, ascending by default
    assert _ids(_list(app, user, None, None, "desc")) == [lease, cali, bill]
    assert _ids(_list(app, user, sort_by="name")) == [lease, bill, cali]
    assert _ids(_list(app, user, None, None, "desc", sort_by="name")) == [cali, bill, lease]
    assert _ids(_list(app, user, sort_by="date")) == [bill, cali, lease]
    types = ["id_drivers_license", "doc_lease"]
    assert _ids(_list(app, user, doc_types=types)) == [cali, lease]
    assert _ids(_list(app, user, search="LEAS")) == [lease]  # the filename, any case
    assert _ids(_list(app, user, search="bil")) == [bill]  # the name
    assert _ids(_list(app, user, search="no match")) == []
    day = today.isoformat()
    assert _ids(_list(app, user, start_date=day, end_date=day)) == [bill, cali, lease]
    tomorrow, yesterday = (
        (today + timedelta(days=1)).isoformat(),
        (today - timedelta(days=1)).isoformat(),
    )
    assert _ids(_list(app, user, start_date=tomorrow)) == []
    assert _ids(_list(app, user, end_date=yesterday)) == []
    combined = _list(
        app, user, doc_types=types, search="a", start_date=day, end_date=day, sort_by="name"
    )
    assert _ids(combined) == [lease, cali]


def test_list_documents_pages(app: silasdk.App, user: SilaUser, three: list[str]) -> None:
    first = _list(app, user, 1, 2, "asc")
    assert _ids(first) == three[:2]
    assert first["pagination"] == {
        "returned_count": 2,
        "total_count": 3,
        "current_page": 1,
        "total_pages": 2,
    }
    second = _list(app, user, 2, 2, "asc")
    assert _ids(second) == three[2:]
    assert second["pagination"]["returned_count"] == 1
    assert _ids(_list(app, user, 3, 2)) == []
    assert_failure(_list(app, user, 1, 101), 400, "validation_error")


def test_list_documents_of_one_user_only(
    app: silasdk.App, user: SilaUser, native: httpx2.Client
) -> None:
    other = register_user(native)
    _uploaded(app, other, image_bytes("PNG"))
    mine = _uploaded(app, user, image_bytes("PNG"))
    assert _ids(_list(app, user)) == [mine]


def test_documents_made_natively_are_listed(
    app: silasdk.App, user: SilaUser, native: httpx2.Client
) -> None:
    made = native.post(
        "/v1/documents",
        files={"file": ("id-card.png", image_bytes("PNG"), "image/png")},
        data={"type": "national_id", "subject_id": user.subject["id"]},
    )
    assert made.status_code == 201, made.text
    empty = native.post(
        "/v1/documents", json={"type": "passport", "subject_id": user.subject["id"]}
    )
    assert empty.status_code == 201, empty.text
    (doc,) = _list(app, user)["documents"]  # a document without a file is no Sila document
    # A type Sila has no name for is listed as other_doc.
    assert (doc["document_id"], doc["type"]) == (made.json()["id"], "other_doc")
    assert (doc["name"], doc["filename"]) == ("id-card.png", "id-card")


def test_list_supported_document_types(app: silasdk.App) -> None:
    first = silasdk.Documents.listSupportedDocuments(app)
    assert (first["success"], first["status"]) == (True, "SUCCESS")
    assert first["message"] == "Document type details returned."
    assert first["reference"]
    assert first["pagination"] == {
        "returned_count": 20,
        "total_count": len(SILA_TYPES),
        "current_page": 1,
        "total_pages": 2,
    }
    second = silasdk.Documents.listSupportedDocuments(app, 2)
    listed = first["document_types"] + second["document_types"]
    assert {t["name"] for t in listed} == SILA_TYPES
    by_name = {t["name"]: t for t in listed}
    assert by_name["id_passport"] == {
        "name": "id_passport",
        "label": "Passport",
        "identity_type": "passport",
    }
    assert by_name["id_drivers_license"]["identity_type"] == "license"
    assert by_name["doc_lease"]["identity_type"] == "contract"
    assert by_name["doc_utility"]["identity_type"] == "utility"
    assert by_name["tax_W4"]["identity_type"] == "other"
    one = silasdk.Documents.listSupportedDocuments(app, 1, 1)
    assert len(one["document_types"]) == 1
    assert one["pagination"]["total_pages"] == len(SILA_TYPES)


# ------------------------------------------------------------------ bad input


def test_an_invalid_document_type_is_400(
    server: Server,
    registered: RegisteredApp,
    app: silasdk.App,
    user: SilaUser,
    native: httpx2.Client,
) -> None:
    listed = assert_failure(
        _list(app, user, doc_types=["id_passport", "id_library_card"]), 400,
        "unknown_document_type",
    )  # fmt: skip
    assert set(listed["validation_details"]) == {"doc_types"}
    assert listed["reference"]
    before = Snapshot(server, registered.tenant, native)
    uploaded = assert_failure(
        _upload(app, user, image_bytes("PNG"), document_type="passport"), 400,
        "unknown_document_type",
    )  # fmt: skip
    assert set(uploaded["validation_details"]) == {"document_type"}
    before.assert_unchanged()


def test_the_hash_must_be_the_files_sha256(
    server: Server,
    registered: RegisteredApp,
    app: silasdk.App,
    user: SilaUser,
    native: httpx2.Client,
) -> None:
    before = Snapshot(server, registered.tenant, native)
    data = image_bytes("PNG")
    wrong = _upload(app, user, data, hash=sha256(data + b"!"))
    assert_failure(wrong, 422, "checksum_mismatch")
    several = silasdk.Documents.uploadDocuments(
        app,
        {
            "user_handle": user.handle,
            "file_metadata": {
                f"file_{n}": {
                    "filename": f"page{n}",
                    "hash": sha256(data if n == 1 else b"other"),
                    "mime_type": "image/png",
                    "document_type": "other_doc",
                }
                for n in (1, 2)
            },
        },
        {"file_1": data, "file_2": data},
        user.wallet.private_key,
    )
    assert_failure(several, 422, "checksum_mismatch")  # neither is stored
    before.assert_unchanged()


@pytest.mark.parametrize(
    ("fields", "status", "code"),
    [
        ({"mime_type": "text/html"}, 415, "unsupported_media_type"),
        ({"mime_type": "application/pdf"}, 422, "content_mismatch"),
        ({"hash": "abc"}, 400, "validation_error"),
    ],
    ids=["html", "png-sent-as-pdf", "short-hash"],
)
def test_bad_upload_metadata(
    server: Server,
    registered: RegisteredApp,
    app: silasdk.App,
    user: SilaUser,
    native: httpx2.Client,
    fields: dict[str, str],
    status: int,
    code: str,
) -> None:
    before = Snapshot(server, registered.tenant, native)
    assert_failure(_upload(app, user, image_bytes("PNG"), **fields), status, code)
    before.assert_unchanged()


def test_get_document_of_another_user_or_a_bad_id(
    app: silasdk.App, user: SilaUser, native: httpx2.Client
) -> None:
    other = register_user(native)
    theirs = _uploaded(app, other, image_bytes("PNG"))
    for document_id, status, code in [
        (theirs, 404, "document_not_found"),
        ("279687a0-30c6-463d-85bc-eee9bf395e21", 404, "document_not_found"),
        ("not-an-id", 400, "invalid_id"),
    ]:
        got = silasdk.Documents.getDocument(
            app, {"user_handle": user.handle, "document_id": document_id},
            user.wallet.private_key,
        )  # fmt: skip
        assert_failure(got, status, code)
