"""The web tier: the UI in a real Chromium (Debian's ``chromium`` package) driven by Playwright.

No browser is downloaded: Playwright starts ``/usr/bin/chromium`` (``CAO_CHROMIUM`` overrides), which
``scripts/test`` installs when this tier is selected. Without it the tier is skipped, unless
``CAO_REQUIRE_BROWSER=1`` (set by scripts/test), where a missing browser is a failure.

Each test gets its own server, tmux socket, CAO_HOME and a fresh browser profile (--user-data-dir);
screenshots go to ``$CAO_WEB_SCREENSHOTS`` (default: the test's tmp dir) as artefacts.
Firefox (``firefox-esr``) is driven over WebDriver BiDi instead: see test_firefox.py and bidi.py.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import ServerProcess

if TYPE_CHECKING:
    from playwright.sync_api import ConsoleMessage, Page

CHROMIUM = os.environ.get("CAO_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _browser_missing() -> str | None:
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} is missing (apt-get install chromium; scripts/test does it for this tier)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is missing (uv sync)"
    return None


@pytest.fixture(scope="module")  # not "session": while Playwright's sync API runs, the main thread has a
def playwright_driver() -> Iterator[object]:  # running event loop, and later tiers' asyncio.run() would fail
    missing = _browser_missing()
    if missing:
        if os.environ.get("CAO_REQUIRE_BROWSER") == "1":
            pytest.fail(missing)
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@pytest.fixture
def page(playwright_driver, tmp_path: Path, server: ServerProcess):
    """A page of a fresh browser profile, not signed in yet (see ``login``)."""
    profile = tmp_path / "chromium-profile"
    context = playwright_driver.chromium.launch_persistent_context(
        str(profile), executable_path=CHROMIUM, headless=True, args=ARGS,
        viewport={"width": 1280, "height": 800}, color_scheme="light")
    context.set_default_timeout(20_000)
    page = context.pages[0] if context.pages else context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(f"{msg.text} ({msg.location.get('url')})")
            if msg.type == "error" and not _expected(msg) else None)
    page.cao_errors = errors
    try:
        yield page
    finally:
        context.close()


def _expected(msg: ConsoleMessage) -> bool:
    """The API's answer "no reply yet" is a 404, which Chromium logs as an error."""
    return "status of 404" in msg.text and "/output?mode=last" in (msg.location.get("url") or "")


@pytest.fixture
def screenshots(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    base = Path(os.environ.get("CAO_WEB_SCREENSHOTS") or tmp_path / "screenshots")
    folder = base / re.sub(r"[^A-Za-z0-9_.-]", "_", request.node.name)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def login(page: Page, server: ServerProcess) -> None:
    """Sign the browser in the way `cao ui` does: the one-time URL sets the HttpOnly cookie."""
    url = server.client.request("POST", "/auth/login-url")["url"]
    page.goto(url)
    page.wait_for_selector("#live[data-state=live]")
