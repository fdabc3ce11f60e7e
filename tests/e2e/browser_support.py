"""Headless Chromium for the browser tests: the system's (Debian's chromium and its
chromedriver; none is downloaded), with its network log on, so that a test can show that no
request left the server's origin.

Without the browser a test skips, unless ``KYCVAULT_REQUIRE_ALL=1`` (then it fails).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.backends import require_all

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import WebDriverException  # noqa: E402
from selenium.webdriver.chromium.webdriver import ChromiumDriver  # noqa: E402

WebDriver = ChromiumDriver

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SIZE = (1280, 800)


def _missing_browser() -> str | None:
    for path in (CHROMIUM, CHROMEDRIVER):
        if not path.exists() and shutil.which(path.name) is None:
            return f"{path.name} is not installed"
    return None


@contextmanager
def chromium(*arguments: str) -> Iterator[WebDriver]:
    """A headless Chromium with a viewport of ``SIZE`` and more command-line ``arguments``;
    quit when the block ends."""
    missing = _missing_browser()
    if missing is not None:
        if require_all():
            pytest.fail(f"a browser is required (KYCVAULT_REQUIRE_ALL=1): {missing}")
        pytest.skip(missing)
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", *arguments):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    service = webdriver.ChromeService(executable_path=str(CHROMEDRIVER))
    try:
        driver = webdriver.Chrome(options=options, service=service)
    except WebDriverException as exc:
        if require_all():
            raise
        pytest.skip(f"chromium did not start: {exc.msg}")
    driver.implicitly_wait(0)
    # The viewport itself at SIZE (the window's size would include the browser's frame).
    metrics = {"width": SIZE[0], "height": SIZE[1], "deviceScaleFactor": 1, "mobile": False}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    try:
        yield driver
    finally:
        driver.quit()


def performance_log(driver: WebDriver) -> list[dict[str, Any]]:
    """The entries logged since the last call (reading the log empties it)."""
    entries: list[dict[str, Any]] = driver.get_log("performance")  # type: ignore[no-untyped-call]
    return entries


def assert_same_origin(entries: list[dict[str, Any]], origin: str) -> None:
    """Every request in the log ``entries`` went to ``origin`` (and there was one). A request
    the page's Content-Security-Policy blocked never left the browser."""
    messages = [json.loads(entry["message"])["message"] for entry in entries]
    blocked = {
        m["params"]["requestId"]
        for m in messages
        if m.get("method") == "Network.loadingFailed" and m["params"].get("blockedReason") == "csp"
    }
    urls = [
        m["params"]["request"]["url"]
        for m in messages
        if m.get("method") == "Network.requestWillBeSent"
        and m["params"]["requestId"] not in blocked
    ]
    assert urls, "the network log is empty"
    # data: and blob: URLs stay in the page.
    local = (origin + "/", "data:", "blob:")
    away = [u for u in urls if not u.startswith(local)]
    assert away == [], f"requests left {origin}: {away}"
