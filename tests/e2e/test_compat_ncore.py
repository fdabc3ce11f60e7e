"""nCore user identifications under /compat/ncore, walking the seed page ("Manage documents by
APIs") top to bottom with plain HTTP, one test per section, then each limit and bad input."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from tests.helpers import PDF_BYTES, MiB, Part, Server, image_bytes, multipart, zeros

# Every answer is checked against the OpenAPI documents (tests/spec_conformance.py).
pytestmark = pytest.mark.usefixtures("responses_conform")

BASE = "/compat/ncore/users"


@pytest.fixture
def account(server: Server) -> dict[str, Any]:
    return server.create_tenant()


@pytest.fixture
def ncore(server: Server, account: dict[str, Any]) -> Iterator[httpx2.Client]:
    headers = {"apikey": account["api_key"]}
    with server.client(None, headers=headers) as client:
        yield client


@pytest.fixture
def user(server: Server, account: dict[str, Any]) -> dict[str, Any]:
    with server.client(account["api_key"]) as native:
        made = native.post("/v1/subjects", json={"external_id": "ncore-user-1"})
    assert made.status_code == 201, made.text
    body: dict[str, Any] = made.json()
    return body


def _create(ncore: httpx2.Client, user_ref: str, **fields: Any) -> dict[str, Any]:
    body = {"type": "PASSPORT", "number": "132123123", **fields}
    response = ncore.post(f"{BASE}/{user_ref}/identifications", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _upload(
    ncore: httpx2.Client, url: str, files: list[tuple[str, bytes]], kinds: list[str], **extra: str
) -> httpx2.Response:
    parts = [Part("identification_type", extra.get("type", "PASSPORT").encode())]
    parts += [Part("identification_document_type", kind.encode()) for kind in kinds]
    part_name = "files" if len(files) > 1 else "file"
    for name, data in files:
        parts.append(Part(part_name, data, name, None))
    content_type, body, _ = multipart(parts)
    response: httpx2.Response = ncore.put(
        url, content=b"".join(body), headers={"Content-Type": content_type}
    )
    return response


def _error(response: httpx2.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["message"]
    return body


# ------------------------------------------------------------------ the seed page, in order


def test_create_a_user_identification(ncore: httpx2.Client, user: dict[str, Any]) -> None:
    created = _create(ncore, user["id"], expiration_date="2021-09-20T10:10:40.182Z")
    assert created["type"] == "PASSPORT"
    assert created["number"] == "132123123"
    assert created["expiration_date"].startswith("2021-09-20T00:00:00")
    assert created["user_id"] == user["id"]
    assert created["user_type"] == "INDIVIDUAL"
    assert created["files"] == []


def test_get_user_identifications(ncore: httpx2.Client, user: dict[str, Any]) -> None:
    made = [
        _create(ncore, user["id"], type=kind, expiration_date=f"203{n}-01-01")
        for n, kind in enumerate(["PASSPORT", "NATIONAL_ID", "VISA"])
    ]
    listed = ncore.get(f"{BASE}/{user['external_id']}/identifications").json()
    assert [i["id"] for i in listed["data"]] == [m["id"] for m in reversed(made)]
    assert (listed["total_count"], listed["total_pages"]) == (3, 1)
    first = ncore.get(
        f"{BASE}/{user['id']}/identifications",
        params={"page_size": 2, "sort": "expiration_date"},
    ).json()
    assert [i["type"] for i in first["data"]] == ["PASSPORT", "NATIONAL_ID"]
    second = ncore.get(
        f"{BASE}/{user['id']}/identifications",
        params={"page_size": 2, "page": 2, "sort": "expiration_date"},
    ).json()
    assert [i["type"] for i in second["data"]] == ["VISA"]


def test_get_a_specific_user_identification(ncore: httpx2.Client, user: dict[str, Any]) -> None:
    made = _create(ncore, user["id"])
    url = f"{BASE}/{user['external_id']}/identifications/{made['id']}"
    got = ncore.get(url).json()
    assert {k: v for k, v in got.items() if k != "user_id"} == {
        k: v for k, v in made.items() if k != "user_id"
    }


def test_update_a_user_identification(ncore: httpx2.Client, user: dict[str, Any]) -> None:
    made = _create(ncore, user["id"])
    url = f"{BASE}/{user['id']}/identifications/{made['id']}"
    updated = ncore.put(
        url,
        json={
            "number": "X999",
            "expiration_date": "2031-02-03T00:00:00Z",
            "issuance_authority": "ICA",
        },
    )
    assert updated.status_code == 200, updated.text
    body = updated.json()
    assert (body["number"], body["issuance_authority"]) == ("X999", "ICA")
    assert body["expiration_date"].startswith("2031-02-03")
    assert ncore.get(url).json() == body


def test_upload_a_user_identification(
    server: Server, account: dict[str, Any], ncore: httpx2.Client, user: dict[str, Any]
) -> None:
    made = _create(ncore, user["id"])
    url = f"{BASE}/{user['id']}/identifications/{made['id']}/files"
    pages = [("page1.jpg", image_bytes("JPEG")), ("page2.png", image_bytes())]
    response = _upload(ncore, url, pages, ["PASSPORT_PAGE1", "PASSPORT_PAGE2"])
    assert response.status_code == 200, response.text
    stored = response.json()["files"]
    assert [(f["file_name"], f["identification_document_type"]) for f in stored] == [
        ("page1.jpg", "PASSPORT_PAGE1"),
        ("page2.png", "PASSPORT_PAGE2"),
    ]
    assert [f["sha256"] for f in stored] == [hashlib.sha256(d).hexdigest() for _, d in pages]
    # The same passport, as the native API sees it.
    with server.client(account["api_key"]) as native:
        doc = native.get(f"/v1/documents/{made['id']}").json()
    assert doc["type"] == "passport"
    assert [f["role"] for f in doc["files"]] == ["PAGE1", "PAGE2"]


def test_upload_a_single_image(ncore: httpx2.Client, user: dict[str, Any]) -> None:
    made = _create(ncore, user["id"], type="NATIONAL_ID")
    url = f"{BASE}/{user['id']}/identifications/{made['id']}/files"
    response = _upload(
        ncore, url, [("front.png", image_bytes())], ["NATIONAL_ID_FRONT"], type="NATIONAL_ID"
    )
    assert response.status_code == 200, response.text
    (stored,) = response.json()["files"]
    assert stored["identification_document_type"] == "NATIONAL_ID_FRONT"
    statement = _create(ncore, user["id"], type="BANK_STATEMENT")
    plain = _upload(
        ncore,
        f"{BASE}/{user['id']}/identifications/{statement['id']}/files",
        [("march.pdf", PDF_BYTES)],
        ["NOT APPLICABLE"],
        type="BANK_STATEMENT",
    )
    assert plain.status_code == 200, plain.text
    assert plain.json()["files"][0]["identification_document_type"] == "NOT_APPLICABLE"


@pytest.fixture
def stored_file(ncore: httpx2.Client, user: dict[str, Any]) -> dict[str, Any]:
    made = _create(ncore, user["id"])
    url = f"{BASE}/{user['id']}/identifications/{made['id']}/files"
    data = image_bytes()
    response = _upload(ncore, url, [("page1.png", data)], ["PASSPORT_PAGE1"])
    assert response.status_code == 200, response.text
    (stored,) = response.json()["files"]
    return {"url": f"{url}/{stored['id']}", "data": data, "meta": stored}


def test_return_a_file_metadata(ncore: httpx2.Client, stored_file: dict[str, Any]) -> None:
    meta = ncore.get(stored_file["url"])
    assert meta.status_code == 200
    assert meta.json() == stored_file["meta"]
    assert meta.json()["content_type"] == "image/png"


def test_return_a_file(ncore: httpx2.Client, stored_file: dict[str, Any]) -> None:
    browse = ncore.get(stored_file["url"] + ":browse")
    assert browse.status_code == 200
    assert browse.content == stored_file["data"]
    assert browse.headers["content-type"] == "image/png"
    assert browse.headers["content-disposition"].startswith("inline")


def test_download_a_file(ncore: httpx2.Client, stored_file: dict[str, Any]) -> None:
    download = ncore.get(stored_file["url"] + ":download")
    assert download.status_code == 200
    assert download.content == stored_file["data"]
    assert download.headers["content-disposition"].startswith("attachment")
    assert 'filename="page1.png"' in download.headers["content-disposition"]


def test_delete_a_file(ncore: httpx2.Client, stored_file: dict[str, Any]) -> None:
    assert ncore.delete(stored_file["url"]).status_code == 204
    _error(ncore.get(stored_file["url"]), 404, "file_not_found")
    _error(ncore.get(stored_file["url"] + ":download"), 404, "file_not_found")


# ------------------------------------------------------------------ limits and bad input


@pytest.fixture
def passport_files_url(ncore: httpx2.Client, user: dict[str, Any]) -> str:
    made = _create(ncore, user["id"])
    return f"{BASE}/{user['id']}/identifications/{made['id']}/files"


def test_six_files_in_one_request(ncore: httpx2.Client, passport_files_url: str) -> None:
    files = [(f"p{n}.png", image_bytes()) for n in range(6)]
    response = _upload(ncore, passport_files_url, files, ["PASSPORT_PAGE1"] * 6)
    _error(response, 400, "too_many_files")


def test_the_eleventh_file(ncore: httpx2.Client, passport_files_url: str) -> None:
    for _ in range(2):
        files = [(f"p{n}.png", image_bytes()) for n in range(5)]
        assert _upload(ncore, passport_files_url, files, ["PASSPORT_PAGE1"] * 5).status_code == 200
    response = _upload(ncore, passport_files_url, [("p.png", image_bytes())], ["PASSPORT_PAGE2"])
    _error(response, 409, "too_many_files")


@pytest.mark.slow
def test_a_129_mb_file(ncore: httpx2.Client, passport_files_url: str) -> None:
    size = 129 * MiB
    parts = [
        Part("identification_type", b"PASSPORT"),
        Part("identification_document_type", b"PASSPORT_PAGE1"),
        Part("file", zeros(size, MiB), "huge.pdf", "application/pdf", size=size),
    ]
    content_type, body, length = multipart(parts)
    response = ncore.put(
        passport_files_url,
        content=body,
        headers={"Content-Type": content_type, "Content-Length": str(length)},
    )
    _error(response, 413, "file_too_large")


@pytest.mark.parametrize(
    ("name", "data"),
    [("setup.exe", b"MZ\x90\x00" * 64), ("sheet.xlsx", b"PK\x03\x04" * 64)],
    ids=["exe", "xlsx-not-in-ncore-list"],
)
def test_extension_outside_ncores_list(
    ncore: httpx2.Client, passport_files_url: str, name: str, data: bytes
) -> None:
    response = _upload(ncore, passport_files_url, [(name, data)], ["PASSPORT_PAGE1"])
    _error(response, 415, "extension_not_allowed")


@pytest.mark.parametrize(
    ("kind", "document_type", "code"),
    [
        ("PASSPORT", "NATIONAL_ID_FRONT", "document_type_mismatch"),
        ("PASSPORT", "NOT APPLICABLE", "document_type_mismatch"),
        ("NATIONAL_ID", "PASSPORT_PAGE1", "identification_type_mismatch"),
    ],
)
def test_document_type_must_go_with_the_identification(
    ncore: httpx2.Client, passport_files_url: str, kind: str, document_type: str, code: str
) -> None:
    response = _upload(
        ncore, passport_files_url, [("p.png", image_bytes())], [document_type], type=kind
    )
    _error(response, 400, code)
    identification = ncore.get(passport_files_url.removesuffix("/files")).json()
    assert identification["files"] == []


def test_unknown_user(ncore: httpx2.Client) -> None:
    _error(ncore.get(f"{BASE}/nobody/identifications"), 404, "subject_not_found")
    _error(
        ncore.post(f"{BASE}/nobody/identifications", json={"type": "PASSPORT"}),
        404,
        "subject_not_found",
    )


def test_another_tenants_user(server: Server, ncore: httpx2.Client) -> None:
    other = server.create_tenant()
    with server.client(other["api_key"]) as native:
        theirs = native.post("/v1/subjects", json={"external_id": "theirs"}).json()
    for ref in (theirs["id"], "theirs"):
        _error(ncore.get(f"{BASE}/{ref}/identifications"), 404, "subject_not_found")


def test_bad_identification_bodies(ncore: httpx2.Client, user: dict[str, Any]) -> None:
    url = f"{BASE}/{user['id']}/identifications"
    _error(ncore.post(url, json={"type": "LIBRARY_CARD"}), 400, "validation_error")
    _error(
        ncore.post(url, json={"type": "PASSPORT", "expiration_date": "soon"}),
        400,
        "validation_error",
    )
    _error(
        ncore.post(url, content=b"{", headers={"Content-Type": "application/json"}),
        400,
        "validation_error",
    )


def test_bearer_works_and_no_key_is_401(
    server: Server, account: dict[str, Any], user: dict[str, Any]
) -> None:
    url = f"{BASE}/{user['id']}/identifications"
    with server.client(account["api_key"]) as bearer:
        assert bearer.get(url).status_code == 200
    with server.client(None) as anonymous:
        _error(anonymous.get(url), 401, "unauthenticated")
        _error(anonymous.get(url, headers={"apikey": "kvk_x.y"}), 401, "unauthenticated")


def test_user_types_follow_subject_type_and_parent(
    server: Server, account: dict[str, Any], ncore: httpx2.Client
) -> None:
    with server.client(account["api_key"]) as native:
        company = native.post("/v1/subjects", json={"type": "company"}).json()
        members = {
            "BUSINESS": company,
            "SHAREHOLDER_BUSINESS": native.post(
                "/v1/subjects", json={"type": "company", "parent_id": company["id"]}
            ).json(),
            "DIRECTOR": native.post("/v1/subjects", json={"parent_id": company["id"]}).json(),
            "SIGNATURE": native.post(
                "/v1/subjects",
                json={"parent_id": company["id"], "metadata": {"ncore_user_type": "SIGNATURE"}},
            ).json(),
        }
    for expected, subject in members.items():
        assert _create(ncore, subject["id"])["user_type"] == expected


def test_keyed_retries_replay_and_write_once(ncore: httpx2.Client, user: dict[str, Any]) -> None:
    """Idempotency-Key is honoured on nCore's writes: each retry gets the first answer
    back (``Idempotent-Replayed``) and changes nothing more."""
    url = f"{BASE}/{user['id']}/identifications"
    body = {"type": "PASSPORT", "number": "P-1"}
    created = [ncore.post(url, json=body, headers={"Idempotency-Key": "create-1"}) for _ in "ab"]
    assert [r.status_code for r in created] == [201, 201], created[0].text
    assert created[1].headers["idempotent-replayed"] == "true"
    assert created[1].json() == created[0].json()
    assert ncore.get(url).json()["total_count"] == 1

    files_url = f"{url}/{created[0].json()['id']}/files"
    keyed = {"Idempotency-Key": "upload-1"}
    parts = [
        Part("identification_type", b"PASSPORT"),
        Part("identification_document_type", b"PASSPORT_PAGE1"),
        Part("file", image_bytes(), "page1.png", None),
    ]
    uploads = []
    for boundary in ("first-boundary", "second-boundary"):  # a retry's boundary is its own
        content_type, chunks, _ = multipart(parts, boundary)
        headers = {"Content-Type": content_type, **keyed}
        uploads.append(ncore.put(files_url, content=b"".join(chunks), headers=headers))
    assert [r.status_code for r in uploads] == [200, 200], uploads[0].text
    assert uploads[1].headers["idempotent-replayed"] == "true"
    assert len(uploads[1].json()["files"]) == 1
    shown = ncore.get(f"{url}/{created[0].json()['id']}").json()
    assert [f["identification_document_type"] for f in shown["files"]] == ["PASSPORT_PAGE1"]
