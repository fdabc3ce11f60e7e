"""The interactive API docs in a real browser with no way out: headless Chromium (the
system's) resolves no host name but 127.0.0.1, opens ``/docs`` and ``/redoc`` of a
``kycvault serve`` process, and both render the API's operations; the browser's network log
shows that no request left the server's origin."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.browser_support import WebDriver, assert_same_origin, chromium, performance_log
from tests.helpers import Server, server_on

pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

# Every host name fails to resolve (a CDN, a font service), except the server's address.
OFFLINE = "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"
# Rendering the whole API (the native one and the dialects) takes a few seconds.
RENDER_SECONDS = 20


@pytest.fixture(scope="module")
def vault(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with server_on(tmp_path_factory.mktemp("docs-browser"), "embedded") as srv:
        yield srv


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    with chromium(OFFLINE) as driver:
        yield driver


@pytest.fixture
def offline(browser: WebDriver, vault: Server) -> Iterator[WebDriver]:
    """The browser, its logs drained; afterwards, every request it made went to the
    server's origin."""
    performance_log(browser)
    _errors(browser)
    yield browser
    assert_same_origin(performance_log(browser), vault.url)


def _text(element: WebElement) -> str:
    # textContent: the whole rendered text, also of what is scrolled out of view. Swagger
    # UI breaks a long path with zero-width spaces.
    text = str(element.get_attribute("textContent"))
    return text.replace("\u200b", "")


def _errors(driver: WebDriver) -> list[str]:
    """The page's console errors since the last call (a policy violation is one)."""
    entries: list[dict[str, str]] = driver.get_log("browser")  # type: ignore[no-untyped-call]
    return [entry["message"] for entry in entries if entry["level"] == "SEVERE"]


def test_swagger_ui_renders_the_operations_offline(offline: WebDriver, vault: Server) -> None:
    offline.get(vault.url + "/docs")
    WebDriverWait(offline, RENDER_SECONDS).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, ".opblock .opblock-summary-path")
    )
    paths = [
        _text(e) for e in offline.find_elements(By.CSS_SELECTOR, ".opblock .opblock-summary-path")
    ]
    assert "/v1/documents" in paths, paths[:20]
    assert "/v1/subjects" in paths
    listed = offline.find_element(
        By.CSS_SELECTOR, ".opblock-summary-path[data-path='/v1/documents']"
    )
    assert listed.is_displayed()
    assert "kycvault" in offline.find_element(By.CSS_SELECTOR, ".info .title").text
    assert _errors(offline) == []


def test_redoc_renders_the_operations_offline(offline: WebDriver, vault: Server) -> None:
    offline.get(vault.url + "/redoc")
    operations = "[data-section-id^='operation/']"
    WebDriverWait(offline, RENDER_SECONDS).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, operations)
    )
    sections = offline.find_elements(By.CSS_SELECTOR, operations)
    assert len(sections) >= 20
    assert any("/v1/documents" in _text(section) for section in sections)
    assert "kycvault" in offline.find_element(By.TAG_NAME, "h1").text
    # Only ReDoc's logo from its maker's CDN, which the page's policy keeps from loading.
    assert [e for e in _errors(offline) if "cdn.redoc.ly/redoc/logo-mini.svg" not in e] == []
