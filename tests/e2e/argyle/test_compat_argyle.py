"""Argyle user uploads under /compat/argyle, walking the seed page ("Upload A Document") top
to bottom with plain HTTP: the multipart request, the UserUpload object (every response is
validated against the page's OpenAPI), ``file_url`` and Basic authentication; then the list
with its pagination and filters, and each bad input."""

from __future__ import annotations

import base64
import re
import uuid
from typing import Any

import httpx2
import pytest

from tests.e2e.argyle.support import (
    STAGES_OFF,
    STATUSES,
    UPLOADS,
    argyle_client,
    check_error,
    check_page,
    check_upload,
    contract,
    make_user,
    pages,
    set_processing,
    upload,
    upload_parts,
)
from tests.helpers import PDF_BYTES, Part, Server, image_bytes, post_multipart

# Every answer is checked against the OpenAPI documents (tests/spec_conformance.py).
pytestmark = pytest.mark.usefixtures("responses_conform")

STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
# Argyle's six document types and the catalog type each is.
NATIVE_TYPES = {
    "paystubs": "paystub",
    "W-2": "tax_w2",
    "1099": "tax_1099",
    "proof-of-identity": "proof_of_identity",
    "proof-of-address": "proof_of_address",
    "miscellaneous": "other_document",
}


def _uploads_of(native: httpx2.Client) -> list[dict[str, Any]]:
    listed = native.get("/v1/documents", params={"limit": 100})
    assert listed.status_code == 200, listed.text
    found: list[dict[str, Any]] = listed.json()["data"]
    return found


# ------------------------------------------------------------------ the seed page, in order


def test_the_pages_example_is_a_user_upload() -> None:
    """The contract holds the page's own example (nulls included)."""
    check_upload(contract()["components"]["schemas"]["UserUpload"]["example"])


def test_upload_a_document(
    server: Server, argyle: httpx2.Client, native: httpx2.Client, user: dict[str, Any]
) -> None:
    body = upload(argyle, user["id"], "proof-of-identity", PDF_BYTES, "my_drivers_license.pdf")
    assert uuid.UUID(body["id"])
    assert body["account"] == user["id"]
    assert body["document_type"] == "proof-of-identity"
    assert body["file_name"] == "my_drivers_license.pdf"
    assert body["file_url"] == f"{server.url}{UPLOADS}/{body['id']}/file"
    # Nothing has run yet: the stages wait for a worker, and found nothing so far.
    assert body["processing"] == {"classification": "idle", "ocr": "idle", "authenticity": "idle"}
    assert body["metadata"] == {
        "employment": None,
        "ocr_data": None,
        "ocr_authenticity": None,
        "ocr_authenticity_score": None,
    }
    assert STAMP.match(body["created_at"])
    assert STAMP.match(body["updated_at"])
    # The same document, as the native API sees it.
    doc = native.get(f"/v1/documents/{body['id']}").json()
    assert (doc["subject_id"], doc["type"]) == (user["id"], "proof_of_identity")
    assert doc["files"][0]["filename"] == "my_drivers_license.pdf"


@pytest.mark.parametrize("document_type", list(NATIVE_TYPES))
def test_each_document_type(
    argyle: httpx2.Client, native: httpx2.Client, user: dict[str, Any], document_type: str
) -> None:
    body = upload(argyle, user["id"], document_type, image_bytes(), "scan.png")
    assert body["document_type"] == document_type
    assert native.get(f"/v1/documents/{body['id']}").json()["type"] == NATIVE_TYPES[document_type]


def test_the_user_is_a_subject_id_or_its_external_id(
    argyle: httpx2.Client, native: httpx2.Client
) -> None:
    """Argyle's own user ids work once subjects carry them as ``external_id``."""
    argyle_user_id = str(uuid.uuid4())
    subject = make_user(native, external_id=argyle_user_id)
    body = upload(argyle, argyle_user_id, "paystubs", PDF_BYTES, "march.pdf")
    assert body["account"] == subject["id"]
    listed = check_page(argyle.get(UPLOADS, params={"user": argyle_user_id}).json())
    assert [r["id"] for r in listed["results"]] == [body["id"]]


def test_retrieve_a_user_upload(argyle: httpx2.Client, user: dict[str, Any]) -> None:
    made = upload(argyle, user["id"], "W-2", PDF_BYTES, "w2-2025.pdf")
    response = argyle.get(f"{UPLOADS}/{made['id']}")
    assert response.status_code == 200, response.text
    got = check_upload(response.json())
    stable = ("id", "account", "document_type", "file_url", "file_name", "created_at")
    assert {k: got[k] for k in stable} == {k: made[k] for k in stable}
    assert set(got["processing"].values()) <= set(STATUSES)


def test_processing_shows_stages_switched_off(
    server: Server, tenant: dict[str, Any], argyle: httpx2.Client, user: dict[str, Any]
) -> None:
    """A tenant without OCR permissions, in Argyle's words: every stage ``unauthorized``."""
    set_processing(server, tenant, **STAGES_OFF)
    made = upload(argyle, user["id"], "1099", PDF_BYTES, "1099.pdf")
    assert set(made["processing"].values()) == {"unauthorized"}
    got = check_upload(argyle.get(f"{UPLOADS}/{made['id']}").json())
    assert set(got["processing"].values()) == {"unauthorized"}
    assert got["metadata"]["ocr_data"] is None
    assert got["metadata"]["ocr_authenticity_score"] is None


def test_file_url_redirects_to_the_file_behind_basic_auth(
    server: Server, tenant: dict[str, Any], argyle: httpx2.Client, user: dict[str, Any]
) -> None:
    data = image_bytes("JPEG")
    made = upload(argyle, user["id"], "proof-of-address", data, "bill.jpg")
    # The static URL redirects (to a URL on the same host, so clients keep the credentials).
    hop = argyle.get(made["file_url"])
    assert hop.status_code == 302, hop.text
    target = hop.headers["location"]
    assert target.startswith(f"{server.url}{UPLOADS}/{made['id']}/")
    # A client that follows redirects and sends Basic credentials gets the file.
    with argyle_client(server, tenant) as client:
        followed = client.get(made["file_url"], follow_redirects=True)
    assert followed.status_code == 200, followed.text
    assert followed.content == data
    assert followed.headers["content-type"] == "image/jpeg"
    assert "bill.jpg" in followed.headers["content-disposition"]
    # Ranges and HEAD work on the file.
    ranged = argyle.get(target, headers={"Range": "bytes=0-9"})
    assert (ranged.status_code, ranged.content) == (206, data[:10])
    head = argyle.head(target)
    assert (head.status_code, head.headers["content-length"]) == (200, str(len(data)))
    # Both URLs need the credentials.
    for url in (made["file_url"], target):
        with server.client(None) as nobody:
            anonymous = nobody.get(url)
        body = check_error(anonymous, 401, "unauthenticated")
        assert body["detail"] == "Invalid username/password."
        assert anonymous.headers["www-authenticate"].startswith("Basic ")


def test_authentication_is_basic_api_key_id_and_secret(
    server: Server, tenant: dict[str, Any], argyle: httpx2.Client, user: dict[str, Any]
) -> None:
    made = upload(argyle, user["id"], "paystubs", PDF_BYTES)
    url = f"{server.url}{UPLOADS}/{made['id']}"
    token = base64.b64encode(f"{tenant['key_id']}:{tenant['key_secret']}".encode()).decode()
    with server.client(None) as http:
        assert http.get(url, headers={"Authorization": f"Basic {token}"}).status_code == 200
        wrong = http.get(url, auth=(tenant["key_id"], "not-the-secret"))
        assert check_error(wrong, 401, "unauthenticated")["detail"] == "Invalid username/password."
        assert http.get(url).status_code == 401
        # The native Bearer key works too.
        assert http.get(url, headers={"Authorization": f"Bearer {tenant['api_key']}"}).is_success


def test_another_tenants_upload_is_not_found(
    server: Server, argyle: httpx2.Client, user: dict[str, Any]
) -> None:
    made = upload(argyle, user["id"], "paystubs", PDF_BYTES)
    with argyle_client(server, server.create_tenant()) as stranger:
        for url in (f"{UPLOADS}/{made['id']}", made["file_url"]):
            body = check_error(stranger.get(url), 404, "document_not_found")
            assert body["detail"] == "Not found."
        assert check_page(stranger.get(UPLOADS).json())["results"] == []
        # Nor can its user be named.
        response = post_multipart(stranger, UPLOADS, upload_parts(user["id"], "W-2", PDF_BYTES))
        check_error(response, 400, "subject_not_found")


def test_only_a_subjects_documents_with_a_file_are_uploads(
    argyle: httpx2.Client, native: httpx2.Client, user: dict[str, Any]
) -> None:
    library = native.post("/v1/documents", json={"type": "paystub"}).json()
    empty = native.post("/v1/documents", json={"type": "paystub", "subject_id": user["id"]}).json()
    for doc in (library, empty):
        check_error(argyle.get(f"{UPLOADS}/{doc['id']}"), 404, "document_not_found")
    check_error(argyle.get(f"{UPLOADS}/not-a-uuid"), 404, "document_not_found")
    assert check_page(argyle.get(UPLOADS).json())["results"] == []


def test_a_native_document_shows_its_argyle_type(
    argyle: httpx2.Client, native: httpx2.Client, user: dict[str, Any]
) -> None:
    """Types without an Argyle name show as their category's: identity or address, else
    miscellaneous."""
    shown = {}
    for kind in ("passport", "utility_bill", "bank_statement", "tax_w2"):
        doc = post_multipart(
            native,
            "/v1/documents",
            [
                Part("type", kind.encode()),
                Part("subject_id", user["id"].encode()),
                Part("file", PDF_BYTES, f"{kind}.pdf"),
            ],
        ).json()
        shown[kind] = check_upload(argyle.get(f"{UPLOADS}/{doc['id']}").json())["document_type"]
    assert shown == {
        "passport": "proof-of-identity",
        "utility_bill": "proof-of-address",
        "bank_statement": "miscellaneous",
        "tax_w2": "W-2",
    }
    identity = argyle.get(UPLOADS, params={"document_type": "proof-of-identity"}).json()
    assert [r["file_name"] for r in check_page(identity)["results"]] == ["passport.pdf"]


# ------------------------------------------------------------------ listing


def test_pagination_over_250_uploads(
    server: Server, tenant: dict[str, Any], argyle: httpx2.Client, native: httpx2.Client
) -> None:
    set_processing(server, tenant, **STAGES_OFF)  # no OCR of 250 files
    users = [make_user(native)["id"] for _ in range(3)]
    made = [upload(argyle, users[n % 3], "paystubs", PDF_BYTES, f"{n}.pdf") for n in range(250)]
    newest_first = [m["id"] for m in reversed(made)]

    default = list(pages(argyle))
    assert [len(p["results"]) for p in default] == [10] * 25
    assert [r["id"] for p in default for r in p["results"]] == newest_first
    assert default[0]["previous"] is None
    assert default[-1]["next"] is None
    for page in default[:-1]:
        assert page["next"].startswith(f"{server.url}{UPLOADS}?")

    widest = list(pages(argyle, limit=200))
    assert [len(p["results"]) for p in widest] == [200, 50]
    assert [r["id"] for p in widest for r in p["results"]] == newest_first

    odd = list(pages(argyle, limit=37))
    assert [len(p["results"]) for p in odd] == [37] * 6 + [28]
    assert [r["id"] for p in odd for r in p["results"]] == newest_first
    # ``previous`` leads back to the page before, and keeps the query's other parameters.
    back = argyle.get(odd[2]["previous"])
    assert back.status_code == 200, back.text
    assert check_page(back.json())["results"] == odd[1]["results"]
    assert "limit=37" in odd[2]["previous"]

    mine = list(pages(argyle, user=users[1], limit=30))
    assert [len(p["results"]) for p in mine] == [30, 30, 23]
    assert {r["account"] for p in mine for r in p["results"]} == {users[1]}


def test_every_filter(
    server: Server, tenant: dict[str, Any], argyle: httpx2.Client, native: httpx2.Client
) -> None:
    set_processing(server, tenant, **STAGES_OFF)
    ada, bob = make_user(native)["id"], make_user(native)["id"]
    made = {
        (who, kind): upload(argyle, uid, kind, PDF_BYTES, f"{who}-{kind}.pdf")["id"]
        for who, uid in (("ada", ada), ("bob", bob))
        for kind in ("paystubs", "W-2", "proof-of-address")
    }

    def listed(**params: str) -> set[str]:
        response = argyle.get(UPLOADS, params={"limit": "200", **params})
        assert response.status_code == 200, response.text
        return {r["id"] for r in check_page(response.json())["results"]}

    def of(**where: str) -> set[str]:
        return {
            doc_id
            for (who, kind), doc_id in made.items()
            if where.get("who", who) == who and where.get("kind", kind) == kind
        }

    assert listed() == of()
    assert listed(user="", account="", document_type="") == of()
    assert listed(user=ada) == of(who="ada")
    assert listed(account=bob) == of(who="bob")
    assert listed(account=ada, user=ada) == of(who="ada")
    assert listed(account=ada, user=bob) == set()  # Ada's account holds none of Bob's
    assert listed(document_type="W-2") == of(kind="W-2")
    assert listed(document_type="proof-of-identity") == set()
    assert listed(user=bob, document_type="paystubs") == of(who="bob", kind="paystubs")
    assert listed(account=ada, document_type="proof-of-address") == of(
        who="ada", kind="proof-of-address"
    )


@pytest.mark.parametrize(
    ("params", "field", "code"),
    [
        ({"limit": "0"}, "limit", "validation_error"),
        ({"limit": "201"}, "limit", "validation_error"),
        ({"limit": "ten"}, "limit", "validation_error"),
        ({"document_type": "passport"}, "document_type", "unknown_document_type"),
        ({"document_type": "w-2"}, "document_type", "unknown_document_type"),
        ({"user": str(uuid.uuid4())}, "user", "subject_not_found"),
        ({"account": str(uuid.uuid4())}, "account", "account_not_found"),
        ({"account": "not-a-uuid"}, "account", "account_not_found"),
        ({"cursor": "forged.cursor"}, "cursor", "invalid_cursor"),
    ],
)
def test_listing_bad_input(
    argyle: httpx2.Client, params: dict[str, str], field: str, code: str
) -> None:
    body = check_error(argyle.get(UPLOADS, params=params), 400, code)
    assert isinstance(body[field], list)
    assert body[field]


def test_a_cursor_is_bound_to_its_filters(
    server: Server, tenant: dict[str, Any], argyle: httpx2.Client, user: dict[str, Any]
) -> None:
    set_processing(server, tenant, **STAGES_OFF)
    for _ in range(3):
        upload(argyle, user["id"], "paystubs", PDF_BYTES)
    first = check_page(argyle.get(UPLOADS, params={"limit": 2}).json())
    cursor = first["next"].split("cursor=", 1)[1]
    replayed = argyle.get(UPLOADS, params={"limit": 2, "user": user["id"], "cursor": cursor})
    check_error(replayed, 400, "invalid_cursor")


# ------------------------------------------------------------------ bad uploads


def _nothing_stored(argyle: httpx2.Client, native: httpx2.Client) -> None:
    assert check_page(argyle.get(UPLOADS).json())["results"] == []
    assert _uploads_of(native) == []


def test_upload_without_a_file(
    argyle: httpx2.Client, native: httpx2.Client, user: dict[str, Any]
) -> None:
    parts = [Part("user", user["id"].encode()), Part("document_type", b"paystubs")]
    body = check_error(post_multipart(argyle, UPLOADS, parts), 400, "file_required")
    assert body["upload"] == ["No file was submitted."]
    _nothing_stored(argyle, native)


def test_upload_with_two_files(
    argyle: httpx2.Client, native: httpx2.Client, user: dict[str, Any]
) -> None:
    parts = [*upload_parts(user["id"], "paystubs", PDF_BYTES), Part("upload", PDF_BYTES, "b.pdf")]
    body = check_error(post_multipart(argyle, UPLOADS, parts), 400, "too_many_files")
    assert body["upload"] == ["Max of 1 document per POST request."]
    _nothing_stored(argyle, native)


@pytest.mark.parametrize("document_type", ["passport", "w-2", "PAYSTUBS", "W2", ""])
def test_upload_of_an_unknown_document_type(
    argyle: httpx2.Client, native: httpx2.Client, user: dict[str, Any], document_type: str
) -> None:
    response = post_multipart(argyle, UPLOADS, upload_parts(user["id"], document_type, PDF_BYTES))
    code = "required" if not document_type else "unknown_document_type"
    body = check_error(response, 400, code)
    assert body["document_type"]
    _nothing_stored(argyle, native)


@pytest.mark.parametrize(
    "user_ref", [str(uuid.uuid4()), "not-a-user", ""], ids=["random-uuid", "not-a-user", "empty"]
)
def test_upload_for_an_unknown_user(
    argyle: httpx2.Client, native: httpx2.Client, user_ref: str
) -> None:
    response = post_multipart(argyle, UPLOADS, upload_parts(user_ref, "paystubs", PDF_BYTES))
    body = check_error(response, 400, "required" if not user_ref else "subject_not_found")
    assert body["user"]
    _nothing_stored(argyle, native)


def test_upload_without_fields_or_in_another_part(
    argyle: httpx2.Client, native: httpx2.Client, user: dict[str, Any]
) -> None:
    only_file = post_multipart(argyle, UPLOADS, [Part("upload", PDF_BYTES, "a.pdf")])
    assert check_error(only_file, 400, "required")["user"] == ["This field is required."]
    fields = upload_parts(user["id"], "paystubs", PDF_BYTES)[:2]
    wrong_part = [*fields, Part("file", PDF_BYTES, "a.pdf")]
    assert check_error(post_multipart(argyle, UPLOADS, wrong_part), 400, "unexpected_file")["file"]
    not_multipart = argyle.post(UPLOADS, json={"user": user["id"], "document_type": "W-2"})
    check_error(not_multipart, 415, "unsupported_content_type")
    _nothing_stored(argyle, native)


def test_upload_of_a_file_the_vault_refuses(
    argyle: httpx2.Client, native: httpx2.Client, user: dict[str, Any]
) -> None:
    markup = upload_parts(user["id"], "paystubs", b"<html><body>pay</body></html>", "pay.html")
    assert post_multipart(argyle, UPLOADS, markup).status_code == 415
    mismatch = upload_parts(user["id"], "paystubs", image_bytes(), "stub.pdf")
    check_error(post_multipart(argyle, UPLOADS, mismatch), 422, "content_mismatch")
    _nothing_stored(argyle, native)


def test_an_idempotent_retry_stores_one_upload(
    argyle: httpx2.Client, native: httpx2.Client, user: dict[str, Any]
) -> None:
    argyle.headers["Idempotency-Key"] = str(uuid.uuid4())
    first = post_multipart(argyle, UPLOADS, upload_parts(user["id"], "W-2", PDF_BYTES))
    again = post_multipart(argyle, UPLOADS, upload_parts(user["id"], "W-2", PDF_BYTES))
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.headers["idempotent-replayed"] == "true"
    assert check_upload(again.json())["id"] == check_upload(first.json())["id"]
    assert len(_uploads_of(native)) == 1


def test_the_routes_are_in_the_openapi_document(server: Server) -> None:
    with server.client(None) as anonymous:
        spec = anonymous.get("/compat/argyle/openapi.json").json()
        native = anonymous.get("/openapi.json").json()
    assert not [path for path in native["paths"] if path.startswith("/compat/")]
    post = spec["paths"][UPLOADS]["post"]
    form = post["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert form["required"] == ["user", "document_type", "upload"]
    assert {f"{UPLOADS}/{{upload_id}}", f"{UPLOADS}/{{upload_id}}/file"} <= set(spec["paths"])
