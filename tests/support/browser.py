"""A real browser for the page tests: Debian's Chromium driven through its ChromeDriver.

``./dev test`` installs the ``chromium`` and ``chromium-driver`` packages when it runs as
root; elsewhere the browser tests skip, naming what is missing. No browser is ever
downloaded (selenium is given both binaries, so its driver manager never runs).

Fixtures: ``browser`` (one headless Chromium per test module, cookies cleared before each
test), ``site`` (the app served over HTTP on the test's services) and ``shot`` (saves a
screenshot of the current page as a test artifact, under ``NEUROSTORE_ARTIFACTS`` or
``var/test-artifacts/screenshots``).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = os.environ.get("NEUROSTORE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = (os.environ.get("NEUROSTORE_CHROMEDRIVER") or shutil.which("chromedriver")
                or "/usr/bin/chromedriver")
ARTIFACTS = Path(os.environ.get("NEUROSTORE_ARTIFACTS")
                 or Path(__file__).resolve().parents[2] / "var" / "test-artifacts")


def _missing() -> list[str]:
    return [path for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]


@pytest.fixture(scope="module")
def _driver() -> Iterator[object]:
    missing = _missing()
    if missing:
        pytest.skip(f"no browser: {', '.join(missing)} missing (as root: apt-get install "
                    "chromium chromium-driver; ./dev test does it)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--window-size=1280,900", "--disable-extensions", "--no-first-run"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


@pytest.fixture
def browser(_driver, site: str):
    """The module's Chromium, signed out (cookies cleared) and on a blank page."""
    _driver.get(f"{site}/static/app.css")
    _driver.delete_all_cookies()
    return _driver


@pytest.fixture
def site(served: str) -> str:
    """Base URL of the pages (the API and the pages share one app)."""
    return served


@pytest.fixture
def shot(browser, request) -> Callable[[str], Path]:
    """``shot(step)`` saves a PNG of the page as ``<test>-<step>.png``; returns its path."""
    folder = ARTIFACTS / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)

    def save(step: str) -> Path:
        path = folder / f"{stem}-{re.sub(r'[^A-Za-z0-9_.-]+', '_', step)}.png"
        browser.save_screenshot(str(path))
        return path

    return save


def sign_in(browser, site: str, token: str) -> None:
    """Sign in through the sign-in form, as a user does."""
    browser.get(f"{site}/signin")
    browser.find_element(By.ID, "token").send_keys(token)
    submit(browser, browser.find_element(By.CSS_SELECTOR, "form.stack button[type=submit]"))


def submit(browser, button) -> None:
    """Click a button that leaves the page, and wait for the next page to load.

    The old page is marked first and the wait is for a loaded page without the mark:
    asking an element of the old page whether it is stale can itself fail while Chromium
    swaps documents ("node does not belong to the document").
    """
    browser.execute_script("window.__leaving = true;")
    button.click()
    WebDriverWait(browser, 20, ignored_exceptions=(WebDriverException,)).until(
        lambda driver: driver.execute_script(
            "return !window.__leaving && document.readyState === 'complete';"))
