"""A real headless Chromium driven by Selenium, for the console tests.

Debian's ``chromium`` and ``chromium-driver`` (``apt-get install -y chromium chromium-driver``; ``.ci/run``
installs them). When they are missing the tests skip with that reason, or fail under
``CANDOR_REQUIRE_SERVICES=1``. Chrome's own background traffic (updates, sync, field trials) is switched
off, and the performance log records every request the page makes, so a test can assert that nothing
went anywhere but the proxy.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.services import _missing

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
NETWORK_SCHEMES = frozenset(("http", "https", "ws", "wss", "ftp"))
LOCAL_SCHEMES = frozenset(("chrome", "chrome-untrusted", "data", "blob", "about"))
SCREENSHOTS = Path(os.environ.get("CANDOR_SCREENSHOTS", Path(__file__).parent / "screenshots"))


def require_chromium() -> None:
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        _missing(f"headless browser tests need {CHROMIUM} and {CHROMEDRIVER}: "
                 "apt-get update && apt-get install -y chromium chromium-driver")
    try:
        import selenium  # noqa: F401
    except ImportError:
        _missing("headless browser tests need selenium: pip install -e '.[test]'")


@contextmanager
def chromium(downloads: Path, width: int = 1366, height: int = 900) -> Iterator[Any]:
    """A fresh headless Chromium (own profile directory, downloads into ``downloads``)."""
    require_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = Path(tempfile.mkdtemp(prefix="candor-chromium-"))
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-default-apps", "--disable-extensions", "--disable-domain-reliability",
                "--disable-client-side-phishing-detection", "--metrics-recording-only", "--no-default-browser-check",
                "--disable-features=Translate,OptimizationHints,MediaRouter,AutofillServerCommunication",
                "--disable-dev-shm-usage", f"--user-data-dir={profile}", f"--window-size={width},{height}",
                "--lang=en-US"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    opts.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                           "download.prompt_for_download": False,
                                           "intl.accept_languages": "en-US,en"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    try:
        driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


class NetworkLog:
    """Every URL the browser requested, read from the performance log as it is drained."""

    def __init__(self) -> None:
        self.urls: list[str] = []

    def drain(self, driver: Any) -> list[str]:
        for entry in driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message.get("method") == "Network.requestWillBeSent":
                self.urls.append(message["params"]["request"]["url"])
        return self.urls

    def foreign(self, allowed_netloc: str) -> list[str]:
        """Requests that left the browser for any host but ``allowed_netloc``. Only network schemes count:
        ``chrome://`` pages (the start-up tab), ``data:``, ``blob:`` and ``about:`` never reach a host."""
        return [u for u in self.urls if (urlsplit(u).scheme in NETWORK_SCHEMES and urlsplit(u).netloc != allowed_netloc)
                or urlsplit(u).scheme not in NETWORK_SCHEMES | LOCAL_SCHEMES]


def screenshot(driver: Any, name: str) -> Path:
    """The whole page, not only the window: the window is made as tall as the page for the shot."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    size = driver.get_window_size()
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(size["width"], min(max(height + 120, size["height"]), 8000))
    try:
        driver.save_screenshot(str(path))
    finally:
        driver.set_window_size(size["width"], size["height"])
    return path
