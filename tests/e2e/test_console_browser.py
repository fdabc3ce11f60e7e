"""The review console in a real browser: headless Chromium (the system's, through its
chromedriver) against a ``kycvault serve`` process with its worker inside.

A passport with a machine-readable zone is uploaded through the API and read by the worker;
a reviewer logs in, finds its subject, opens the document page, sees the zone's fields and
their check digits, approves it and finds the decision in the page's history. A viewer sees
no approve button and is refused (403) when posting the form anyway; a form without its
CSRF token is refused; logging out and an expired login session both lead back to the login
page. Every page is screenshotted into ``KYCVAULT_TEST_ARTIFACTS`` (or a temporary
directory), and the browser's own network log shows that no request left the server's
origin (the console fetches nothing from a CDN).
"""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
import sqlalchemy as sa

from kycvault.adapters.db.console_tables import console_sessions as sessions_table
from kycvault.adapters.db.store import SqlStore
from kycvault.domain.mrz import Layout
from kycvault.services.context import AppContext
from tests.e2e.browser_support import WebDriver, assert_same_origin, chromium, performance_log
from tests.e2e.documents_support import new_subject
from tests.e2e.processing_support import settled, upload
from tests.helpers import WORKER_INSIDE, Server, server_on
from tests.samples import Person, document_image, random_person, text_pdf

pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    given = os.environ.get("KYCVAULT_TEST_ARTIFACTS")
    where = Path(given) / "console" if given else tmp_path_factory.mktemp("screenshots")
    where.mkdir(parents=True, exist_ok=True)
    print(f"\nconsole screenshots: {where}")
    return where


@pytest.fixture(scope="module")
def vault(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with server_on(tmp_path_factory.mktemp("console-browser"), "embedded", **WORKER_INSIDE) as srv:
        yield srv


@pytest.fixture(scope="module")
def tenant(vault: Server) -> dict[str, Any]:
    return vault.create_tenant()


def _user(vault: Server, tenant: dict[str, Any], role: str) -> str:
    email = f"{role}-{uuid.uuid4().hex[:8]}@example.org"
    vault.twin().cli(
        "user", "create", tenant["name"], email, "--role", role, "--password-stdin",
        stdin=PASSWORD + "\n",
    )  # fmt: skip
    return email


@pytest.fixture(scope="module")
def reviewer(vault: Server, tenant: dict[str, Any]) -> str:
    return _user(vault, tenant, "reviewer")


@pytest.fixture(scope="module")
def viewer(vault: Server, tenant: dict[str, Any]) -> str:
    return _user(vault, tenant, "viewer")


@pytest.fixture(scope="module")
def person() -> Person:
    return random_person(random.Random(11), Layout.TD3)


@pytest.fixture(scope="module")
def passport(vault: Server, tenant: dict[str, Any], person: Person) -> dict[str, Any]:
    """A passport of a new subject, uploaded with its declared fields and read."""
    with vault.client(tenant["api_key"]) as client:
        subject = new_subject(
            client, display_name=f"{person.given_names} {person.surname}", type="individual"
        )
        image = document_image(person, dpi=300)
        state = person.issuing_state.replace("<", "") if person.issuing_state != "D<<" else "DEU"
        created = upload(
            client, "passport", image, "passport.png", "image/png", role="PAGE1",
            subject_id=subject["id"], name=f"{person.given_names} {person.surname}",
            id_number=person.document_number, expiry_date=person.expiry_date.isoformat(),
            issuing_country=state,
        )  # fmt: skip
        doc = settled(client, created["id"])
    assert doc["extracted"]["mrz"]["valid"] is True, doc["extracted"]
    return doc


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    with chromium() as driver:
        yield driver


@pytest.fixture
def page(browser: WebDriver, vault: Server) -> Iterator[WebDriver]:
    """The browser with no login, its network log drained; afterwards, every request it made
    went to the server's origin."""
    browser.delete_all_cookies()
    performance_log(browser)
    yield browser
    assert_same_origin(performance_log(browser), vault.url)


def _text(driver: WebDriver) -> str:
    return driver.find_element(By.TAG_NAME, "body").text


def _wait_path(driver: WebDriver, path: str) -> None:
    WebDriverWait(driver, 10).until(lambda d: d.current_url.split("?")[0].endswith(path))


def _log_in(driver: WebDriver, origin: str, email: str, target: str = "/console") -> None:
    driver.get(origin + target)
    _wait_path(driver, "/console/login")
    driver.find_element(By.ID, "email").send_keys(email)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "form[action='/console/login'] button").click()
    WebDriverWait(driver, 10).until(lambda d: "/console/login" not in d.current_url)


def _follow(driver: WebDriver, path: str) -> None:
    """Click the page's link to ``path``."""
    driver.find_element(By.CSS_SELECTOR, f"a[href='{path}']").click()
    _wait_path(driver, path)


def _shot(driver: WebDriver, artifacts: Path, name: str) -> Path:
    path = artifacts / f"{name}.png"
    driver.execute_script("window.scrollTo(0, 0)")
    driver.save_screenshot(str(path))
    return path


def _post(driver: WebDriver, path: str, fields: dict[str, str]) -> int:
    """A form POST the page did not offer, sent from the page with the browser's cookies."""
    script = """
        const [path, fields, done] = arguments;
        fetch(path, {method: "POST", body: new URLSearchParams(fields), redirect: "manual"})
            .then((r) => done(r.type === "opaqueredirect" ? 303 : r.status), () => done(-1));
    """
    return cast(int, driver.execute_async_script(script, path, fields))


def _csrf(driver: WebDriver) -> str:
    field = driver.find_element(By.CSS_SELECTOR, "form[action='/console/logout'] input")
    return cast(str, field.get_attribute("value"))


def test_a_reviewer_finds_reads_and_approves_the_passport(
    page: WebDriver,
    vault: Server,
    reviewer: str,
    passport: dict[str, Any],
    person: Person,
    artifacts: Path,
) -> None:
    origin = vault.url
    page.get(origin + "/console/login")
    _shot(page, artifacts, "login")
    _log_in(page, origin, reviewer)
    # The subjects' search, as a user types it.
    search = page.find_element(By.ID, "q")
    search.send_keys(person.surname)
    search.submit()
    WebDriverWait(page, 10).until(lambda d: "q=" in d.current_url)
    _shot(page, artifacts, "subjects")
    _follow(page, f"/console/subjects/{passport['subject_id']}")
    _shot(page, artifacts, "subject")
    _follow(page, f"/console/documents/{passport['id']}")

    # The scan is shown from the console's own content route, and it loaded.
    scan = page.find_element(By.CSS_SELECTOR, "img.scan")
    WebDriverWait(page, 10).until(
        lambda d: d.execute_script("return arguments[0].naturalWidth", scan) > 0
    )
    page.find_element(By.CSS_SELECTOR, "[data-rotate]").click()
    assert "rotate(90deg)" in (scan.get_attribute("style") or "")
    page.find_element(By.CSS_SELECTOR, "[data-reset]").click()

    table = page.find_element(By.ID, "comparison").text
    assert person.document_number in table
    assert person.surname in table
    assert person.birth_date.isoformat() in table
    rows = page.find_elements(By.CSS_SELECTOR, "#comparison tbody tr")
    checks = {
        row.find_element(By.TAG_NAME, "th").text: row.find_element(By.CSS_SELECTOR, ".digit").text
        for row in rows
    }
    for name in ("Document number", "Date of birth", "Expiry date", "Composite (whole zone)"):
        assert checks[name] == "✓ passed", checks
    assert page.find_elements(By.CSS_SELECTOR, "#comparison tr.mismatch") == []
    assert page.find_element(By.ID, "authenticity-score").text == "100"
    assert page.find_element(By.ID, "review-status").text == "Pending review"
    _shot(page, artifacts, "document")

    page.find_element(By.ID, "approve").click()
    WebDriverWait(page, 10).until(lambda d: d.find_elements(By.ID, "flash"))
    assert "Approved." in page.find_element(By.ID, "flash").text
    assert page.find_element(By.ID, "review-status").text == "Approved"
    history = page.find_element(By.ID, "history").text
    assert "document.reviewed" in history and "status=approved" in history
    _shot(page, artifacts, "document-approved")
    # The flash is shown once.
    page.refresh()
    assert page.find_elements(By.ID, "flash") == []


def test_a_pdf_is_shown_as_its_pages_drawn_by_the_server(
    page: WebDriver, vault: Server, tenant: dict[str, Any], reviewer: str, artifacts: Path
) -> None:
    with vault.client(tenant["api_key"]) as client:
        lines = ["Northwind Bank - Bank Statement", "Statement period 1 Oct 2026 to 31 Oct 2026"]
        pdf = upload(client, "bank_statement", text_pdf(lines), "statement.pdf", "application/pdf")
    target = f"/console/documents/{pdf['id']}"
    pages = f"{vault.url}{target}/files/{pdf['files'][0]['id']}/pages"
    _log_in(page, vault.url, reviewer, target)
    _wait_path(page, target)
    first = page.find_element(By.CSS_SELECTOR, "[data-pdf-pages] img.scan")
    assert first.get_attribute("src") == f"{pages}/1"
    WebDriverWait(page, 20).until(
        lambda d: d.execute_script("return arguments[0].naturalWidth", first) > 0
    )
    assert page.find_elements(By.CSS_SELECTOR, "iframe, embed, object") == []
    assert len(page.find_elements(By.CSS_SELECTOR, "[data-pdf-pages] img")) == 1  # one page
    _shot(page, artifacts, "document-pdf")


def test_a_viewer_has_no_review_and_a_forged_review_is_refused(
    page: WebDriver, vault: Server, viewer: str, passport: dict[str, Any], artifacts: Path
) -> None:
    target = f"/console/documents/{passport['id']}"
    _log_in(page, vault.url, viewer, target)
    _wait_path(page, target)
    assert page.find_elements(By.ID, "approve") == []
    assert page.find_elements(By.CSS_SELECTOR, "form[action$='/review']") == []
    assert page.find_elements(By.CSS_SELECTOR, "img.scan") == []  # no download scope
    assert "Your role does not show the files" in _text(page)
    _shot(page, artifacts, "document-viewer")
    forged = {"csrf_token": _csrf(page), "decision": "rejected", "reason_code": "expired"}
    assert _post(page, target + "/review", forged) == 403
    page.refresh()
    assert page.find_element(By.ID, "review-status").text != "Rejected"


def test_a_form_without_its_token_is_refused(
    page: WebDriver, vault: Server, reviewer: str, passport: dict[str, Any]
) -> None:
    target = f"/console/documents/{passport['id']}"
    _log_in(page, vault.url, reviewer, target)
    _wait_path(page, target)
    assert _post(page, target + "/review", {"decision": "approved"}) == 403
    wrong = {"csrf_token": "x" * 43, "decision": "approved"}
    assert _post(page, target + "/review", wrong) == 403
    assert _post(page, target + "/review", {**wrong, "csrf_token": _csrf(page)}) == 303


def test_logging_out_and_an_expired_session_lead_to_the_login(
    page: WebDriver, vault: Server, reviewer: str, passport: dict[str, Any], artifacts: Path
) -> None:
    target = f"/console/documents/{passport['id']}"
    _log_in(page, vault.url, reviewer, target)
    page.find_element(By.CSS_SELECTOR, "form[action='/console/logout'] button").click()
    _wait_path(page, "/console/login")
    page.get(vault.url + target)
    _wait_path(page, "/console/login")

    _log_in(page, vault.url, reviewer, target)
    _wait_path(page, target)
    _expire_sessions(vault)
    page.refresh()
    _wait_path(page, "/console/login")
    assert "next=%2Fconsole%2Fdocuments" in page.current_url
    _shot(page, artifacts, "expired")


def _expire_sessions(vault: Server) -> None:
    """Every login session of the vault idle for a day (as if the browser had been away)."""
    long_ago = datetime.now(UTC) - timedelta(days=1)

    async def expire(ctx: AppContext) -> None:
        database = cast(SqlStore, ctx.store).database

        def update(conn: sa.Connection) -> None:
            conn.execute(sa.update(sessions_table).values(last_seen_at=long_ago))

        await database.run_sync(update)

    vault.in_context(expire)


def test_an_edited_declared_field_shows_as_a_mismatch(
    page: WebDriver,
    vault: Server,
    tenant: dict[str, Any],
    passport: dict[str, Any],
    artifacts: Path,
) -> None:
    """Runs last: it changes the passport's declared number."""
    target = f"/console/documents/{passport['id']}"
    _log_in(page, vault.url, _user(vault, tenant, "admin"), target)
    _wait_path(page, target)
    number = page.find_element(By.ID, "edit-number")
    number.clear()
    number.send_keys("X0000000")
    page.find_element(By.CSS_SELECTOR, "form.edit button").click()
    WebDriverWait(page, 10).until(lambda d: d.find_elements(By.ID, "flash"))
    assert "Declared fields saved." in page.find_element(By.ID, "flash").text
    mismatched = page.find_elements(By.CSS_SELECTOR, "#comparison tr.mismatch")
    assert [row.find_element(By.TAG_NAME, "th").text for row in mismatched] == ["Document number"]
    assert "⚠ mismatch" in mismatched[0].text  # in words, not only in colour
    _shot(page, artifacts, "document-mismatch")
