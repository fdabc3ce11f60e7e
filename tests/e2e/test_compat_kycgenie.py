"""KYC Genie's documents API under /compat/kycgenie with plain HTTP, walking the seed page
("Documents API Reference") section by section: its curl examples on v1 and v2, the document
classification table, the error table, then each limit and bad input."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest

from tests.e2e.kycgenie_support import (
    CREATED_AT,
    DOCUMENT_FIELDS,
    DOWNLOAD_FIELDS,
    EXPIRES_AT,
    IN_USE,
    NOT_FOUND,
    PREFIX,
    SAMPLES,
    TOO_LARGE,
    TYPE_NOT_ALLOWED,
    entity,
    response_of,
)
from tests.helpers import PDF_BYTES, MiB, Part, Server, multipart, zeros

# Every answer is checked against the OpenAPI documents (tests/spec_conformance.py).
pytestmark = pytest.mark.usefixtures("responses_conform")

VERSIONS = ["v1", "v2"]
STATEMENT = PDF_BYTES + b"% financial statement\n"


@pytest.fixture
def account(server: Server) -> dict[str, Any]:
    return server.create_tenant()


@pytest.fixture
def kg(server: Server, account: dict[str, Any]) -> Iterator[httpx2.Client]:
    with server.client(account["api_key"]) as client:
        yield client


@pytest.fixture
def acme(server: Server, account: dict[str, Any]) -> dict[str, Any]:
    return entity(server, account["api_key"])


def _upload(
    kg: httpx2.Client,
    url: str,
    name: str = "financial_statement.pdf",
    data: bytes = STATEMENT,
    document_type: str | None = "Financial Statement",
    headers: dict[str, str] | None = None,
) -> httpx2.Response:
    """``curl -F "file=@name" -F "document_type=…"``."""
    form = {"document_type": document_type} if document_type is not None else {}
    response: httpx2.Response = kg.post(
        url, files={"file": (name, data, "application/pdf")}, data=form, headers=headers
    )
    return response


def _made(response: httpx2.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _library(kg: httpx2.Client) -> list[str]:
    listed = kg.get(f"{PREFIX}/api/v1/documents/", params={"limit": 1000}).json()
    return [d["id"] for d in listed["documents"]]


# ------------------------------------------------------------------ the seed's curl examples

HOST = "https://api.kycgenie.com"
SEED_DOCUMENT = "550e8400-e29b-41d4-a716-446655440000"
SEED_ENTITY = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"
# Every curl example of the seed page, as written there, in its order.
SEED_CURL_TEXT = r"""
curl -X POST https://api.kycgenie.com/api/v1/documents/upload/ \
-H "Authorization: Bearer YOUR_API_KEY" \
-F "file=@financial_statement.pdf" \
-F "document_type=Financial Statement"

curl -X POST https://api.kycgenie.com/api/v2/documents/upload/ \
-H "Authorization: Bearer YOUR_API_KEY" \
-F "file=@financial_statement.pdf" \
-F "document_type=Financial Statement"

curl https://api.kycgenie.com/api/v1/documents/ \
-H "Authorization: Bearer YOUR_API_KEY"

curl https://api.kycgenie.com/api/v2/documents/ \
-H "Authorization: Bearer YOUR_API_KEY"

curl https://api.kycgenie.com/api/v1/documents/550e8400-e29b-41d4-a716-446655440000/ \
-H "Authorization: Bearer YOUR_API_KEY"

curl https://api.kycgenie.com/api/v2/documents/550e8400-e29b-41d4-a716-446655440000/ \
-H "Authorization: Bearer YOUR_API_KEY"

curl -X DELETE https://api.kycgenie.com/api/v1/documents/550e8400-e29b-41d4-a716-446655440000/ \
-H "Authorization: Bearer YOUR_API_KEY"

curl -X DELETE https://api.kycgenie.com/api/v2/documents/550e8400-e29b-41d4-a716-446655440000/ \
-H "Authorization: Bearer YOUR_API_KEY"

curl https://api.kycgenie.com/api/v1/documents/550e8400-e29b-41d4-a716-446655440000/download/ \
-H "Authorization: Bearer YOUR_API_KEY"

curl https://api.kycgenie.com/api/v2/documents/550e8400-e29b-41d4-a716-446655440000/download/ \
-H "Authorization: Bearer YOUR_API_KEY"

curl -X POST https://api.kycgenie.com/api/v1/entities/a1b2c3d4-e5f6-7890-abcd-ef1234567890/documents/upload/ \
-H "Authorization: Bearer YOUR_API_KEY" \
-F "file=@bank_statement.pdf" \
-F "document_type=Bank Statement"

curl -X POST https://api.kycgenie.com/api/v2/entities/a1b2c3d4-e5f6-7890-abcd-ef1234567890/documents/ \
-H "Authorization: Bearer YOUR_API_KEY" \
-F "file=@bank_statement.pdf" \
-F "document_type=Bank Statement"

curl https://api.kycgenie.com/api/v1/entities/a1b2c3d4-e5f6-7890-abcd-ef1234567890/documents/ \
-H "Authorization: Bearer YOUR_API_KEY"

curl https://api.kycgenie.com/api/v2/entities/a1b2c3d4-e5f6-7890-abcd-ef1234567890/documents/ \
-H "Authorization: Bearer YOUR_API_KEY"

curl -X DELETE https://api.kycgenie.com/api/v1/entities/a1b2c3d4-e5f6-7890-abcd-ef1234567890/documents/550e8400-e29b-41d4-a716-446655440000/ \
-H "Authorization: Bearer YOUR_API_KEY"

curl -X DELETE https://api.kycgenie.com/api/v2/entities/a1b2c3d4-e5f6-7890-abcd-ef1234567890/documents/550e8400-e29b-41d4-a716-446655440000/ \
-H "Authorization: Bearer YOUR_API_KEY"

curl https://api.kycgenie.com/api/v1/entities/a1b2c3d4-e5f6-7890-abcd-ef1234567890/documents/550e8400-e29b-41d4-a716-446655440000/download/ \
-H "Authorization: Bearer YOUR_API_KEY"

curl https://api.kycgenie.com/api/v2/entities/a1b2c3d4-e5f6-7890-abcd-ef1234567890/documents/550e8400-e29b-41d4-a716-446655440000/download/ \
-H "Authorization: Bearer YOUR_API_KEY"
"""  # noqa: E501
SEED_CURLS = list(
    zip(
        [201, 201, 200, 200, 200, 200, 204, 204, 200, 200, 201, 201, 200, 200, 204, 204, 200, 200],
        SEED_CURL_TEXT.strip().split("\n\n"),
        strict=True,
    )
)  # the status each answers


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
@pytest.mark.server_process  # curl dials the server's URL
@pytest.mark.parametrize(("status", "command"), SEED_CURLS, ids=[f"curl-{n}" for n in range(18)])
def test_the_seeds_curl_examples(
    server: Server,
    account: dict[str, Any],
    kg: httpx2.Client,
    acme: dict[str, Any],
    tmp_path: Path,
    status: int,
    command: str,
) -> None:
    """Run as written, against this server, with the seed's ids replaced by real ones: a
    document of the entity where the path names one, else of the library."""
    for name in ("financial_statement.pdf", "bank_statement.pdf"):
        (tmp_path / name).write_bytes(STATEMENT)
    owner = f"/api/v2/entities/{acme['id']}/documents/" if "/entities/" in command else None
    doc = _made(_upload(kg, PREFIX + (owner or "/api/v2/documents/upload/")))
    script = (
        command.replace(HOST, server.url + PREFIX)
        .replace("YOUR_API_KEY", account["api_key"])
        .replace(SEED_DOCUMENT, doc["id"])
        .replace(SEED_ENTITY, acme["id"])
    )
    done = subprocess.run(
        ["bash", "-c", f"{script} -s -o answer.json -w '%{{http_code}}'"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.stdout == str(status), done.stderr
    if status == 204:
        assert (tmp_path / "answer.json").read_bytes() == b""
        return
    answer = json.loads((tmp_path / "answer.json").read_text())
    if "/download/" in command:
        assert httpx2.get(answer["download_url"]).content == STATEMENT
    elif status == 201:
        assert answer["classification"] == ("entity_private" if owner else "tenant_private")


# ------------------------------------------------------------------ tenant documents


@pytest.mark.parametrize("version", VERSIONS)
def test_upload_tenant_document(kg: httpx2.Client, version: str) -> None:
    body = _made(_upload(kg, f"{PREFIX}/api/{version}/documents/upload/"))
    assert set(body) == DOCUMENT_FIELDS
    assert body["name"] == "financial_statement.pdf"
    assert body["size"] == len(STATEMENT)
    assert body["content_type"] == "application/pdf"
    assert body["document_type_name"] == "Financial Statement"
    assert body["classification"] == "tenant_private"
    assert body["uploaded_by_email"] is None
    assert CREATED_AT.match(body["created_at"]), body["created_at"]
    assert body["expiry_date"] is None
    native = kg.get(f"/v1/documents/{body['id']}").json()
    assert (native["type"], native["classification"]) == ("financial_statement", "tenant_private")


def test_list_tenant_documents_v1(kg: httpx2.Client, acme: dict[str, Any]) -> None:
    made = [
        _made(_upload(kg, f"{PREFIX}/api/v1/documents/upload/", document_type=label))
        for label in ("Financial Statement", "Bank Statement", "Financial Statement")
    ]
    _made(_upload(kg, f"{PREFIX}/api/v1/entities/{acme['id']}/documents/upload/"))
    listed = kg.get(f"{PREFIX}/api/v1/documents/").json()
    assert set(listed) == {"count", "documents"}
    assert listed["count"] == 3  # the library only: the entity's document is not in it
    assert [d["id"] for d in listed["documents"]] == [m["id"] for m in reversed(made)]
    assert listed["documents"][0] == made[2]

    statements = kg.get(
        f"{PREFIX}/api/v1/documents/", params={"document_type": "Financial Statement"}
    ).json()
    assert [d["id"] for d in statements["documents"]] == [made[2]["id"], made[0]["id"]]
    limited = kg.get(f"{PREFIX}/api/v1/documents/", params={"limit": 2}).json()
    assert limited["count"] == 3
    assert [d["id"] for d in limited["documents"]] == [made[2]["id"], made[1]["id"]]
    nothing = kg.get(f"{PREFIX}/api/v1/documents/", params={"document_type": "Tax Return"})
    assert nothing.json() == {"count": 0, "documents": []}


def test_list_tenant_documents_v2_cursor_pages(kg: httpx2.Client) -> None:
    made = [_made(_upload(kg, f"{PREFIX}/api/v2/documents/upload/"))["id"] for _ in range(5)]
    newest_first = list(reversed(made))
    url = f"{PREFIX}/api/v2/documents/"
    everything = kg.get(url).json()
    assert set(everything) == {"has_more", "next_cursor", "prev_cursor", "results"}
    assert [d["id"] for d in everything["results"]] == newest_first
    assert (everything["has_more"], everything["next_cursor"]) == (False, None)

    first = kg.get(url, params={"page_size": 2}).json()
    assert [d["id"] for d in first["results"]] == newest_first[:2]
    assert first["has_more"] is True and first["prev_cursor"] is None
    second = kg.get(url, params={"page_size": 2, "after": first["next_cursor"]}).json()
    assert [d["id"] for d in second["results"]] == newest_first[2:4]
    third = kg.get(url, params={"page_size": 2, "after": second["next_cursor"]}).json()
    assert [d["id"] for d in third["results"]] == newest_first[4:]
    assert (third["has_more"], third["next_cursor"]) == (False, None)
    back = kg.get(url, params={"page_size": 2, "before": third["prev_cursor"]}).json()
    assert [d["id"] for d in back["results"]] == newest_first[2:4]


@pytest.mark.parametrize("version", VERSIONS)
def test_get_tenant_document(kg: httpx2.Client, version: str) -> None:
    made = _made(_upload(kg, f"{PREFIX}/api/{version}/documents/upload/"))
    got = kg.get(f"{PREFIX}/api/{version}/documents/{made['id']}/")
    assert got.status_code == 200
    assert got.json() == made


@pytest.mark.parametrize("version", VERSIONS)
def test_delete_tenant_document(kg: httpx2.Client, version: str) -> None:
    made = _made(_upload(kg, f"{PREFIX}/api/{version}/documents/upload/"))
    url = f"{PREFIX}/api/{version}/documents/{made['id']}/"
    deleted = kg.delete(url)
    assert deleted.status_code == 204
    assert deleted.content == b""
    gone = kg.get(url)
    assert gone.status_code == 404
    assert gone.json()["detail"] == "Not found."
    assert made["id"] not in _library(kg)
    assert kg.get(f"/v1/documents/{made['id']}").status_code == 404


@pytest.mark.parametrize("version", VERSIONS)
def test_download_url_serves_the_file_once(server: Server, kg: httpx2.Client, version: str) -> None:
    made = _made(_upload(kg, f"{PREFIX}/api/{version}/documents/upload/"))
    before = datetime.now(UTC)
    got = kg.get(f"{PREFIX}/api/{version}/documents/{made['id']}/download/")
    assert got.status_code == 200, got.text
    link = got.json()
    assert set(link) == DOWNLOAD_FIELDS
    assert link["download_url"].startswith(f"{server.url}{PREFIX}/api/{version}/files/dl_")
    assert link["download_url"].endswith("/")
    assert EXPIRES_AT.match(link["expires_at"]), link["expires_at"]
    expires = datetime.fromisoformat(link["expires_at"])
    assert before + timedelta(minutes=14) < expires <= datetime.now(UTC) + timedelta(minutes=15)
    assert (link["filename"], link["content_type"], link["size"]) == (
        "financial_statement.pdf",
        "application/pdf",
        len(STATEMENT),
    )
    with server.client(None, timeout=30) as anonymous:  # "fetch directly, no auth required"
        assert anonymous.head(link["download_url"]).status_code == 200  # HEAD keeps it
        first = anonymous.get(link["download_url"])
        assert first.status_code == 200
        assert hashlib.sha256(first.content).digest() == hashlib.sha256(STATEMENT).digest()
        assert first.headers["content-type"] == "application/pdf"
        again = anonymous.get(link["download_url"])
        assert again.status_code == 410
        assert anonymous.get(link["download_url"].replace("/dl_", "/dl_x")).status_code == 404


# ------------------------------------------------------------------ entity documents


def test_upload_entity_document_v1_and_v2(kg: httpx2.Client, acme: dict[str, Any]) -> None:
    """v2 POSTs to /documents/ directly (no /upload/ suffix)."""
    for url in (
        f"{PREFIX}/api/v1/entities/{acme['id']}/documents/upload/",
        f"{PREFIX}/api/v2/entities/{acme['id']}/documents/",
    ):
        body = _made(_upload(kg, url, "bank_statement.pdf", document_type="Bank Statement"))
        assert set(body) == DOCUMENT_FIELDS
        assert body["classification"] == "entity_private"
        assert body["name"] == "bank_statement.pdf"
        assert body["document_type_name"] == "Bank Statement"
        native = kg.get(f"/v1/documents/{body['id']}").json()
        assert (native["subject_id"], native["type"]) == (acme["id"], "bank_statement")


def test_list_entity_documents(kg: httpx2.Client, acme: dict[str, Any]) -> None:
    upload_url = f"{PREFIX}/api/v1/entities/{acme['id']}/documents/upload/"
    made = [
        _made(_upload(kg, upload_url, f"d{n}.pdf", document_type=label))
        for n, label in enumerate(("Bank Statement", "Board Minutes", "Bank Statement"))
    ]
    v1 = kg.get(f"{PREFIX}/api/v1/entities/{acme['id']}/documents/").json()
    assert set(v1) == {"count", "entity_id", "entity_name", "documents"}
    assert (v1["count"], v1["entity_id"], v1["entity_name"]) == (3, acme["id"], "Acme Corp Ltd")
    assert [d["id"] for d in v1["documents"]] == [m["id"] for m in reversed(made)]
    v2 = kg.get(f"{PREFIX}/api/v2/entities/{acme['id']}/documents/").json()
    assert set(v2) == {"count", "entity_id", "entity_name", "results"}
    assert v2["results"] == v1["documents"]

    banks = kg.get(
        f"{PREFIX}/api/v1/entities/{acme['id']}/documents/",
        params={"document_type": "Bank Statement", "limit": 1},
    ).json()
    assert banks["count"] == 2
    assert [d["id"] for d in banks["documents"]] == [made[2]["id"]]


@pytest.mark.parametrize("version", VERSIONS)
def test_delete_entity_document(kg: httpx2.Client, acme: dict[str, Any], version: str) -> None:
    kept, made = (
        _made(_upload(kg, f"{PREFIX}/api/v2/entities/{acme['id']}/documents/")) for _ in range(2)
    )
    url = f"{PREFIX}/api/{version}/entities/{acme['id']}/documents/{made['id']}/"
    deleted = kg.delete(url)
    assert (deleted.status_code, deleted.content) == (204, b"")
    listed = kg.get(f"{PREFIX}/api/v1/entities/{acme['id']}/documents/").json()
    assert [d["id"] for d in listed["documents"]] == [kept["id"]]
    assert kg.delete(url).status_code == 404


@pytest.mark.parametrize("version", VERSIONS)
def test_entity_download_url(
    server: Server, kg: httpx2.Client, acme: dict[str, Any], version: str
) -> None:
    made = _made(_upload(kg, f"{PREFIX}/api/v2/entities/{acme['id']}/documents/"))
    url = f"{PREFIX}/api/{version}/entities/{acme['id']}/documents/{made['id']}/download/"
    link = kg.get(url).json()
    assert set(link) == DOWNLOAD_FIELDS
    assert f"/api/{version}/files/dl_" in link["download_url"]
    with server.client(None, timeout=30) as anonymous:
        assert anonymous.get(link["download_url"]).content == STATEMENT
        assert anonymous.get(link["download_url"]).status_code == 410


def test_entity_paths_only_reach_that_entitys_documents(
    server: Server, account: dict[str, Any], kg: httpx2.Client, acme: dict[str, Any]
) -> None:
    other = entity(server, account["api_key"], "Other Ltd")
    theirs = _made(_upload(kg, f"{PREFIX}/api/v2/entities/{other['id']}/documents/"))
    library = _made(_upload(kg, f"{PREFIX}/api/v2/documents/upload/"))
    for doc in (theirs, library):
        base = f"{PREFIX}/api/v1/entities/{acme['id']}/documents/{doc['id']}/"
        for response in (kg.get(f"{base}download/"), kg.delete(base)):
            assert (response.status_code, response.json()) == (404, NOT_FOUND)
    for ref in ("7b3f8c1e-0000-4000-8000-000000000000", "not-a-uuid"):
        listed = kg.get(f"{PREFIX}/api/v1/entities/{ref}/documents/")
        assert (listed.status_code, listed.json()) == (404, NOT_FOUND)
        upload = _upload(kg, f"{PREFIX}/api/v1/entities/{ref}/documents/upload/")
        assert (upload.status_code, upload.json()) == (404, NOT_FOUND)


# ------------------------------------------------------------------ response documents


def test_response_documents_are_entity_documents_that_cannot_be_deleted(
    kg: httpx2.Client, acme: dict[str, Any]
) -> None:
    response = response_of(kg, acme["id"])
    uploaded = _made(
        _upload(
            kg,
            f"{PREFIX}/api/v1/responses/{response['id']}/documents/upload/",
            "ubo_register.pdf",
            document_type="UBO Register",
        )
    )
    assert uploaded["response_id"] == response["id"]
    doc = uploaded["document"]
    assert set(doc) == DOCUMENT_FIELDS
    assert (doc["classification"], doc["document_type_name"]) == ("entity_private", "UBO Register")
    entity_docs = kg.get(f"{PREFIX}/api/v1/entities/{acme['id']}/documents/").json()
    assert [d["id"] for d in entity_docs["documents"]] == [doc["id"]]

    # "Returns 400 if the document is referenced by a response."
    for url in (
        f"{PREFIX}/api/v1/entities/{acme['id']}/documents/{doc['id']}/",
        f"{PREFIX}/api/v1/documents/{doc['id']}/",
    ):
        refused = kg.delete(url)
        assert (refused.status_code, refused.json()) == (400, IN_USE)
    v2 = kg.delete(f"{PREFIX}/api/v2/documents/{doc['id']}/")
    assert v2.status_code == 400
    assert {k: v2.json()[k] for k in ("error", "code")} == {
        "error": "Cannot delete document.",
        "code": "invalid_request",
    }
    assert v2.json()["details"]["reason"] == IN_USE["details"]["reason"]
    native = kg.delete(f"/v1/documents/{doc['id']}")
    assert (native.status_code, native.json()["code"]) == (409, "document_in_use")

    listed = kg.get(f"{PREFIX}/api/v1/responses/{response['id']}/documents/").json()
    assert listed == {"count": 1, "documents": [uploaded]}
    one = f"{PREFIX}/api/v1/responses/{response['id']}/documents/{uploaded['attachment_id']}/"
    assert kg.get(one).json() == uploaded

    # Once the answer is gone, so is the document it uploaded.
    answer_url = (
        f"{PREFIX}/api/v2/questionnaire-responses/{response['id']}/answers/files/"
        f"{uploaded['attachment_id']}/"
    )
    assert kg.delete(answer_url).status_code == 204
    assert kg.get(f"/v1/documents/{doc['id']}").status_code == 404


def test_deleting_a_response_leaves_its_documents_deletable(
    kg: httpx2.Client, acme: dict[str, Any]
) -> None:
    response = response_of(kg, acme["id"], response_name="Onboarding 2026")
    assert response["response_name"] == "Onboarding 2026"
    assert response["status"] == "PREFILL"
    assert response["subject_entity"] == {
        "id": acme["id"],
        "name": "Acme Corp Ltd",
        "entity_type": "company",
    }
    refused = kg.delete(f"/v1/subjects/{acme['id']}")
    assert (refused.status_code, refused.json()["code"]) == (409, "subject_has_responses")
    url = f"{PREFIX}/api/v2/questionnaire-responses/{response['id']}/answers/7/file/"
    answered = kg.put(url, files={"file": ("register.pdf", STATEMENT, "application/pdf")})
    assert answered.status_code == 201, answered.text
    assert answered.json()["file_question_id"] == 7
    doc_id = answered.json()["document"]["id"]
    response_url = f"{PREFIX}/api/v2/questionnaire-responses/{response['id']}/"
    assert kg.delete(response_url).status_code == 204
    gone = kg.get(response_url)
    assert (gone.status_code, gone.json()["code"]) == (404, "not_found")
    assert kg.delete(f"{PREFIX}/api/v1/documents/{doc_id}/").status_code == 204
    assert kg.delete(f"/v1/subjects/{acme['id']}").status_code == 204


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"questionnaire_id": "ddq-2026"}, 400, "entity_id"),
        ({"questionnaire_id": "ddq-2026", "entity_id": "acme"}, 400, "entity_id"),
        ({"entity_id": "{entity}"}, 400, "questionnaire_id"),
        ({"questionnaire_id": "q", "entity_id": "{entity}", "status": "APPROVED"}, 400, "status"),
        ({"questionnaire_id": "q", "entity_id": "7b3f8c1e-0000-4000-8000-000000000000"}, 404,
         None),
    ],
    ids=["no-entity", "entity-not-a-uuid", "no-questionnaire", "not-an-initial-status",
         "unknown-entity"],
)  # fmt: skip
def test_bad_questionnaire_responses(
    kg: httpx2.Client, acme: dict[str, Any], body: dict[str, str], status: int, field: str | None
) -> None:
    sent = {k: v.replace("{entity}", acme["id"]) for k, v in body.items()}
    response = kg.post(f"{PREFIX}/api/v2/questionnaire-responses/", json=sent)
    assert response.status_code == status, response.text
    if field is not None:
        assert list(response.json()["errors"]) == [field]
    assert kg.delete(f"/v1/subjects/{acme['id']}").status_code == 204  # no response was made


def test_file_answers_need_a_response_of_this_tenant(
    server: Server, kg: httpx2.Client, acme: dict[str, Any]
) -> None:
    response = response_of(kg, acme["id"])
    with server.client(server.create_tenant()["api_key"]) as other:
        for path in (
            f"/api/v2/questionnaire-responses/{response['id']}/",
            f"/api/v2/questionnaire-responses/{response['id']}/answers/files/",
            f"/api/v1/responses/{response['id']}/documents/",
        ):
            assert other.get(PREFIX + path).status_code == 404
        upload = _upload(other, f"{PREFIX}/api/v1/responses/{response['id']}/documents/upload/")
        assert (upload.status_code, upload.json()) == (404, NOT_FOUND)
    bad_question = kg.put(
        f"{PREFIX}/api/v2/questionnaire-responses/{response['id']}/answers/first/file/",
        files={"file": ("a.pdf", PDF_BYTES, "application/pdf")},
    )
    assert (bad_question.status_code, list(bad_question.json()["errors"])) == (400, ["fq_id"])
    unknown = "7b3f8c1e-0000-4000-8000-000000000000"
    for path in (f"answers/files/{unknown}/", f"answers/files/{unknown}/download/"):
        missing = kg.get(f"{PREFIX}/api/v2/questionnaire-responses/{response['id']}/{path}")
        assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
    listed = kg.get(f"{PREFIX}/api/v2/questionnaire-responses/{response['id']}/documents/")
    assert listed.json() == {"count": 0, "results": []}
    assert kg.get(f"{PREFIX}/api/v1/entities/{acme['id']}/documents/").json()["count"] == 0


# ------------------------------------------------------------------ classification table


def test_classification_is_assigned_by_the_upload_endpoint(
    kg: httpx2.Client, acme: dict[str, Any]
) -> None:
    response = response_of(kg, acme["id"])
    library = _made(_upload(kg, f"{PREFIX}/api/v1/documents/upload/"))
    of_entity = _made(_upload(kg, f"{PREFIX}/api/v2/entities/{acme['id']}/documents/"))
    of_response = _made(
        _upload(kg, f"{PREFIX}/api/v1/responses/{response['id']}/documents/upload/")
    )
    assert library["classification"] == "tenant_private"
    assert of_entity["classification"] == "entity_private"
    assert of_response["document"]["classification"] == "entity_private"
    # "… it is not a request parameter."
    sneaky = kg.post(
        f"{PREFIX}/api/v1/documents/upload/",
        files={"file": ("x.pdf", PDF_BYTES, "application/pdf")},
        data={"document_type": "Financial Statement", "classification": "entity_private"},
    )
    assert _made(sneaky)["classification"] == "tenant_private"


# ------------------------------------------------------------------ error table and limits


@pytest.mark.parametrize("version", VERSIONS)
def test_invalid_file_type(kg: httpx2.Client, version: str) -> None:
    response = _upload(kg, f"{PREFIX}/api/{version}/documents/upload/", "setup.exe", b"MZ" * 64)
    assert response.status_code == 400
    body = response.json()
    if version == "v1":
        assert body == TYPE_NOT_ALLOWED
    else:
        assert body["file"] == TYPE_NOT_ALLOWED["file"]
        assert (body["code"], body["errors"]) == ("validation_error", TYPE_NOT_ALLOWED)
    assert _library(kg) == []


@pytest.mark.parametrize(
    ("name", "data"),
    [("scan.tif", SAMPLES["tiff"]), ("page.html", b"<html><body>hi</body></html>")],
    ids=["tif-not-in-kycgenies-list", "html"],
)
def test_extensions_outside_the_list(kg: httpx2.Client, name: str, data: bytes) -> None:
    response = _upload(kg, f"{PREFIX}/api/v1/documents/upload/", name, data)
    assert (response.status_code, response.json()) == (400, TYPE_NOT_ALLOWED)


def test_content_must_match_the_extension(kg: httpx2.Client) -> None:
    response = _upload(kg, f"{PREFIX}/api/v1/documents/upload/", "statement.pdf", SAMPLES["png"])
    assert response.status_code == 400
    assert list(response.json()) == ["file"]
    assert "does not match" in response.json()["file"][0]
    assert _library(kg) == []


@pytest.mark.parametrize("extension", list(SAMPLES))
def test_each_allowed_extension_is_accepted(kg: httpx2.Client, extension: str) -> None:
    name = f"document.{extension}"
    body = _made(_upload(kg, f"{PREFIX}/api/v2/documents/upload/", name, SAMPLES[extension]))
    assert (body["name"], body["size"]) == (name, len(SAMPLES[extension]))


def _sized_upload(kg: httpx2.Client, size: int) -> httpx2.Response:
    parts = [
        Part("document_type", b"Financial Statement"),
        Part("file", zeros(size, MiB), "big.pdf", "application/pdf", size=size),
    ]
    content_type, body, length = multipart(parts)
    response: httpx2.Response = kg.post(
        f"{PREFIX}/api/v1/documents/upload/",
        content=body,
        headers={"Content-Type": content_type, "Content-Length": str(length)},
    )
    return response


def test_file_too_large(kg: httpx2.Client) -> None:
    """10 MB (10 MiB) is the most a file may hold."""
    refused = _sized_upload(kg, 10 * MiB + 1)
    assert (refused.status_code, refused.json()) == (400, TOO_LARGE)
    assert _library(kg) == []
    assert _made(_sized_upload(kg, 10 * MiB))["size"] == 10 * MiB


@pytest.mark.parametrize("version", VERSIONS)
def test_not_found(kg: httpx2.Client, version: str) -> None:
    for path in (
        "documents/7b3f8c1e-0000-4000-8000-000000000000/",
        "documents/not-a-uuid/download/",
        "entities/7b3f8c1e-0000-4000-8000-000000000000/documents/",
    ):
        response = kg.get(f"{PREFIX}/api/{version}/{path}")
        assert response.status_code == 404
        if version == "v1":
            assert response.json() == NOT_FOUND
        else:
            assert response.json()["detail"] == "Not found."
            assert response.json()["code"] == "not_found"
    gone = kg.get(f"{PREFIX}/api/{version}/responses/x/documents/")
    assert gone.status_code == 404


def test_another_tenants_documents_are_not_found(
    server: Server, kg: httpx2.Client, acme: dict[str, Any]
) -> None:
    mine = _made(_upload(kg, f"{PREFIX}/api/v1/documents/upload/"))
    with server.client(server.create_tenant()["api_key"]) as other:
        for response in (
            other.get(f"{PREFIX}/api/v1/documents/{mine['id']}/"),
            other.get(f"{PREFIX}/api/v1/documents/{mine['id']}/download/"),
            other.delete(f"{PREFIX}/api/v1/documents/{mine['id']}/"),
            other.get(f"{PREFIX}/api/v1/entities/{acme['id']}/documents/"),
        ):
            assert (response.status_code, response.json()) == (404, NOT_FOUND)
        assert other.get(f"{PREFIX}/api/v1/documents/").json() == {"count": 0, "documents": []}
    assert kg.get(f"{PREFIX}/api/v1/documents/{mine['id']}/").status_code == 200


@pytest.mark.parametrize(
    ("form", "files", "field"),
    [
        ({}, {"file": ("a.pdf", PDF_BYTES, "application/pdf")}, "document_type"),
        ({"document_type": "Financial Statement"}, None, "file"),
        ({"document_type": "x" * 201}, {"file": ("a.pdf", PDF_BYTES, "application/pdf")},
         "document_type"),
    ],
    ids=["no-type", "no-file", "type-too-long"],
)  # fmt: skip
def test_missing_or_bad_fields(
    kg: httpx2.Client, form: dict[str, str], files: dict[str, Any] | None, field: str
) -> None:
    url = f"{PREFIX}/api/v1/documents/upload/"
    if files is None:
        content_type, body, _ = multipart([Part(k, v.encode()) for k, v in form.items()])
        response = kg.post(url, content=b"".join(body), headers={"Content-Type": content_type})
    else:
        response = kg.post(url, data=form, files=files)
    assert response.status_code == 400, response.text
    assert list(response.json()) == [field]
    assert _library(kg) == []


def test_two_files_in_one_upload(kg: httpx2.Client) -> None:
    parts = [
        Part("document_type", b"Financial Statement"),
        Part("file", PDF_BYTES, "a.pdf", "application/pdf"),
        Part("file", PDF_BYTES, "b.pdf", "application/pdf"),
    ]
    content_type, body, _ = multipart(parts)
    response = kg.post(
        f"{PREFIX}/api/v1/documents/upload/",
        content=b"".join(body),
        headers={"Content-Type": content_type},
    )
    assert response.status_code == 400
    assert list(response.json()) == ["file"]
    assert _library(kg) == []


@pytest.mark.parametrize(
    ("version", "params", "field"),
    [
        ("v1", {"limit": 1001}, "limit"),
        ("v1", {"limit": 0}, "limit"),
        ("v2", {"page_size": 101}, "page_size"),
        ("v2", {"after": "forged.cursor"}, "after"),
        ("v2", {"after": "a.b", "before": "a.b"}, "before"),
    ],
)
def test_bad_list_parameters(
    kg: httpx2.Client, version: str, params: dict[str, Any], field: str
) -> None:
    response = kg.get(f"{PREFIX}/api/{version}/documents/", params=params)
    assert response.status_code == 400
    body = response.json()
    errors = body if version == "v1" else body["errors"]
    assert list(errors) == [field]
    if version == "v2":
        assert body["code"] == "validation_error"


def test_limits_up_to_a_thousand(kg: httpx2.Client) -> None:
    assert kg.get(f"{PREFIX}/api/v1/documents/", params={"limit": 1000}).status_code == 200


def test_authentication(server: Server, account: dict[str, Any]) -> None:
    with server.client(None, timeout=30) as anonymous:
        v1 = anonymous.get(f"{PREFIX}/api/v1/documents/")
        assert v1.status_code == 401
        assert set(v1.json()) == {"detail", "code"}
        v2 = anonymous.get(
            f"{PREFIX}/api/v2/documents/", headers={"Authorization": "Bearer kycg_not_a_key"}
        )
        assert (v2.status_code, v2.json()["code"]) == (401, "authentication_failed")
        assert v2.json()["request_id"] == v2.headers["x-request-id"]


# ------------------------------------------------------------------ document types, idempotency


def test_document_type_is_a_free_label(kg: httpx2.Client) -> None:
    """Known labels map onto the catalog (in any case); unknown ones become tenant types."""
    url = f"{PREFIX}/api/v1/documents/upload/"
    bank = _made(_upload(kg, url, document_type="bank statement"))
    assert bank["document_type_name"] == "Bank Statement"
    minutes = _made(_upload(kg, url, document_type="Board Minutes"))
    assert minutes["document_type_name"] == "Board Minutes"
    again = _made(_upload(kg, url, document_type="board minutes"))
    assert again["document_type_name"] == "Board Minutes"
    custom = kg.get("/v1/document-types/board_minutes").json()
    assert (custom["label"], custom["builtin"]) == ("Board Minutes", False)
    # A label whose slug a built-in type already uses gets a name of its own.
    passport = _made(_upload(kg, url, document_type="Passport!"))
    assert passport["document_type_name"] == "Passport!"
    assert kg.get(f"/v1/documents/{passport['id']}").json()["type"] == "passport_2"


@pytest.mark.parametrize("version", VERSIONS)
def test_idempotency_key_replays_the_upload(kg: httpx2.Client, version: str) -> None:
    url = f"{PREFIX}/api/{version}/documents/upload/"
    key = {"Idempotency-Key": "3f0e2a4c-6b1d-4e8f-9a2b-c3d4e5f60718"}
    first = _made(_upload(kg, url, headers=key))
    retry = _upload(kg, url, headers=key)
    assert retry.status_code == 201
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.json() == first
    assert _library(kg) == [first["id"]]
    other = _upload(kg, url, document_type="Bank Statement", headers=key)
    assert other.status_code == 422
    delete_key = {"Idempotency-Key": "delete-once"}
    doc_url = f"{PREFIX}/api/{version}/documents/{first['id']}/"
    assert kg.delete(doc_url, headers=delete_key).status_code == 204
    replayed = kg.delete(doc_url, headers=delete_key)
    assert (replayed.status_code, replayed.headers["idempotent-replayed"]) == (204, "true")
