"""The console's document page over HTTP, on each backend pair: what each role sees, the
file content route's headers, the review's decisions and refusals, and an admin's actions
(edit, upload, single-use download, deletion refused under a legal hold, then done), each
a POST that redirects back with a message. The browser's view is test_console_browser.py."""

from __future__ import annotations

import re
from contextlib import AbstractContextManager
from typing import Any

import httpx2

from kycvault.domain.users import Role
from tests.e2e.console_support import console, form_token, make_user
from tests.e2e.holds_support import hold, lift, passport
from tests.e2e.processing_support import upload
from tests.helpers import Part, Server, image_bytes, post_multipart
from tests.samples import text_pdf

_FLASH = re.compile(r'id="flash">\s*<strong>(Done|Refused):</strong>\s*([^<]*)</p>')


def _console(
    server: Server, tenant: dict[str, Any], role: Role
) -> AbstractContextManager[httpx2.Client]:
    """A browser logged in as a new user of ``role``."""
    return console(server, make_user(server, tenant, role).email)


def _page_token(browser: httpx2.Client, doc_id: str) -> str:
    """The CSRF token of the document page's forms."""
    return form_token(browser.get(f"/console/documents/{doc_id}"))


def _post(browser: httpx2.Client, doc_id: str, action: str, **fields: str) -> httpx2.Response:
    token = _page_token(browser, doc_id)
    return browser.post(
        f"/console/documents/{doc_id}/{action}", data={"csrf_token": token, **fields}
    )


def _message(browser: httpx2.Client, response: httpx2.Response) -> tuple[str, str]:
    """Follow the form's redirect; the message the page shows (and shows once)."""
    assert response.status_code == 303, response.text
    page = browser.get(response.headers["location"])
    assert page.status_code == 200
    found = _FLASH.search(page.text)
    assert found is not None, page.text
    assert _FLASH.search(browser.get(response.headers["location"]).text) is None
    return found.group(1), found.group(2).strip()


def test_each_role_sees_what_it_may_and_files_come_sandboxed(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    doc = passport(client)
    file_id = doc["files"][0]["id"]
    content = f"/console/documents/{doc['id']}/files/{file_id}/content"
    with _console(server, tenant, Role.REVIEWER) as reviewer:
        page = reviewer.get(f"/console/documents/{doc['id']}")
        assert page.status_code == 200
        assert 'id="approve"' in page.text and f'src="{content}"' in page.text
        assert f'href="/console/subjects/{doc["subject_id"]}"' in page.text
        assert "Pending review" in page.text
        assert "Save declared fields" not in page.text and "Delete document" not in page.text
        shown = reviewer.get(content)
        assert shown.status_code == 200
        assert shown.headers["content-type"] == "image/png"
        assert shown.headers["content-disposition"].startswith("inline;")
        assert shown.headers["x-content-type-options"] == "nosniff"
        assert "sandbox" in shown.headers["content-security-policy"]
        assert "default-src 'none'" in shown.headers["content-security-policy"]
        assert shown.headers["x-frame-options"] == "SAMEORIGIN"
        assert shown.content[:8] == b"\x89PNG\r\n\x1a\n"
        # The page itself keeps the console's policy.
        assert "script-src 'self'" in page.headers["content-security-policy"]
    with _console(server, tenant, Role.VIEWER) as viewer:
        page = viewer.get(f"/console/documents/{doc['id']}")
        assert page.status_code == 200
        assert 'id="approve"' not in page.text and content not in page.text
        assert viewer.get(content).status_code == 403
        # Forms the page did not offer are refused by the services all the same.
        for action, fields in (
            ("review", {"decision": "approved"}),
            ("edit", {"name": "Someone Else"}),
            ("delete", {}),
            ("download", {"file_id": file_id}),
        ):
            assert _post(viewer, doc["id"], action, **fields).status_code == 403, action
        parts = [
            Part("csrf_token", _page_token(viewer, doc["id"]).encode()),
            Part("file", image_bytes("PNG"), "x.png", "image/png"),
        ]
        url = f"/console/documents/{doc['id']}/files"
        assert post_multipart(viewer, url, parts).status_code == 403
    stored = client.get(f"/v1/documents/{doc['id']}").json()
    assert stored["review"]["status"] == "pending" and stored["name"] == doc["name"]
    assert len(stored["files"]) == 1
    history = client.get(f"/v1/documents/{doc['id']}/history").json()["data"]
    assert "file.read" in {event["action"] for event in history}


def test_a_pdf_is_drawn_page_by_page_in_the_readers_process(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    lines = ["Northwind Bank - Bank Statement", "Closing balance 980.40"]
    pdf = upload(client, "bank_statement", text_pdf(lines), "statement.pdf", "application/pdf")
    base = f"/console/documents/{pdf['id']}/files/{pdf['files'][0]['id']}"
    with _console(server, tenant, Role.REVIEWER) as reviewer:
        page = reviewer.get(f"/console/documents/{pdf['id']}")
        assert f'data-pdf-pages="{base}/pages"' in page.text and "<iframe" not in page.text
        drawn = reviewer.get(f"{base}/pages/1")
        assert drawn.status_code == 200, drawn.text
        assert drawn.headers["content-type"] == "image/png"
        assert drawn.headers["x-page-count"] == "1"
        assert "sandbox" in drawn.headers["content-security-policy"]
        assert drawn.content[:8] == b"\x89PNG\r\n\x1a\n"
        assert reviewer.get(f"{base}/pages/2").status_code == 422
        assert reviewer.get(f"{base}/pages/0").status_code == 404
        # The PDF itself is never typed as one for the browser to open.
        raw = reviewer.get(f"{base}/content")
        assert raw.headers["content-type"] == "application/octet-stream"
    with _console(server, tenant, Role.VIEWER) as viewer:
        assert viewer.get(f"{base}/pages/1").status_code == 403


def test_review_decisions_and_their_refusals(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    doc = passport(client)
    with _console(server, tenant, Role.REVIEWER) as reviewer:
        refused = _post(reviewer, doc["id"], "review", decision="rejected", reason_code="other")
        kind, text = _message(reviewer, refused)
        assert kind == "Refused" and "reason" in text
        done = _post(
            reviewer, doc["id"], "review", decision="rejected", reason_code="expired",
            reason="Expired in March",
        )  # fmt: skip
        assert _message(reviewer, done) == ("Done", "Rejected.")
        page = reviewer.get(f"/console/documents/{doc['id']}").text
        assert "Rejected" in page and "Document expired" in page and "Expired in March" in page
        assert "status=rejected" in page
        # Without the token nothing is decided.
        url = f"/console/documents/{doc['id']}/review"
        assert reviewer.post(url, data={"decision": "approved"}).status_code == 403
    assert client.get(f"/v1/documents/{doc['id']}").json()["review"]["status"] == "rejected"


def test_an_admin_edits_uploads_downloads_and_deletes(
    server: Server, tenant: dict[str, Any], client: httpx2.Client
) -> None:
    doc = passport(client)
    doc_id = doc["id"]
    with _console(server, tenant, Role.ADMIN) as admin:
        bad = _post(admin, doc_id, "edit", name="Ann Lee", expiry_date="31/12/2030")
        assert _message(admin, bad)[0] == "Refused"
        good = _post(admin, doc_id, "edit", name="Ann Lee", issuing_country="NL")
        assert _message(admin, good) == ("Done", "Declared fields saved.")
        stored = client.get(f"/v1/documents/{doc_id}").json()
        assert stored["name"] == "Ann Lee" and stored["issuing_country"] == "NL"

        upload_url = f"/console/documents/{doc_id}/files"
        token = _page_token(admin, doc_id)
        file_part = Part("file", image_bytes("PNG"), "back.png", "image/png")
        forged = post_multipart(admin, upload_url, [file_part])
        assert forged.status_code == 403
        added = post_multipart(admin, upload_url, [Part("csrf_token", token.encode()), file_part])
        assert _message(admin, added) == ("Done", "File added.")
        files = client.get(f"/v1/documents/{doc_id}/files").json()["data"]
        assert len(files) == 2

        link = _post(admin, doc_id, "download", file_id=files[1]["id"])
        assert link.status_code == 303 and link.headers["location"].startswith("/v1/downloads/")
        fetched = admin.get(link.headers["location"])
        assert fetched.status_code == 200 and fetched.content[:4] == b"\x89PNG"
        assert admin.get(link.headers["location"]).status_code == 410

        held = hold(client, document_id=doc_id)
        kind, text = _message(admin, _post(admin, doc_id, "delete"))
        assert kind == "Refused" and "legal hold" in text
        lift(client, held["id"])
        deleted = _post(admin, doc_id, "delete")
        assert deleted.status_code == 303
        assert deleted.headers["location"] == f"/console/subjects/{doc['subject_id']}"
    assert client.get(f"/v1/documents/{doc_id}").status_code == 404
