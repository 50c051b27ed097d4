"""The web UI in a real Firefox (Debian's ``firefox-esr``) against a real cao-server, tmux and mock agents.

Playwright cannot drive a stock Firefox and there is no geckodriver here, so the test speaks WebDriver
BiDi to Firefox's built-in Remote Agent itself (tests/e2e_web/bidi.py). ``CAO_FIREFOX`` overrides the
browser's path; without it the test is skipped, unless ``CAO_REQUIRE_BROWSER=1`` (set by scripts/test).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from cao.client import ApiClient
from tests.conftest import ServerProcess, retry_until
from tests.e2e_web.bidi import ENTER, BiDi
from tests.helpers import launch

pytestmark = pytest.mark.web

FIREFOX = os.environ.get("CAO_FIREFOX", "/usr/bin/firefox-esr")
# A quiet, private profile: no first-run pages, telemetry, updates or background connections.
PREFS = {
    "browser.shell.checkDefaultBrowser": False,
    "browser.startup.homepage_override.mstone": "ignore",
    "browser.startup.page": 0,
    "browser.aboutwelcome.enabled": False,
    "datareporting.policy.dataSubmissionEnabled": False,
    "datareporting.healthreport.uploadEnabled": False,
    "toolkit.telemetry.enabled": False,
    "toolkit.telemetry.unified": False,
    "app.update.auto": False,
    "app.update.enabled": False,
    "app.normandy.enabled": False,
    "extensions.update.enabled": False,
    "browser.safebrowsing.malware.enabled": False,
    "browser.safebrowsing.phishing.enabled": False,
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
    "browser.newtabpage.enabled": False,
    "layout.css.prefers-color-scheme.content-override": 1,  # light, like the Chromium tier
}


@pytest.fixture
def firefox(tmp_path: Path, server: ServerProcess) -> Iterator[BiDi]:
    """A headless Firefox on a fresh profile, driven over WebDriver BiDi; killed (its whole group) after."""
    if not os.access(FIREFOX, os.X_OK):
        missing = f"{FIREFOX} is missing (apt-get install firefox-esr; scripts/test does it for this tier)"
        if os.environ.get("CAO_REQUIRE_BROWSER") == "1":
            pytest.fail(missing)
        pytest.skip(missing)
    profile = tmp_path / "firefox-profile"
    profile.mkdir()
    (profile / "user.js").write_text("".join(f"user_pref({_js(k)}, {_js(v)});\n" for k, v in PREFS.items()))
    log = tmp_path / "firefox.log"
    with open(log, "wb") as out:  # a file, not a pipe: Firefox never blocks on a reader
        process = subprocess.Popen(
            [FIREFOX, "--headless", "--no-remote", "--remote-debugging-port", "0", "--profile", str(profile),
             "--window-size", "1280,800", "about:blank"],
            stdout=out, stderr=out, start_new_session=True, env={**os.environ, "MOZ_CRASHREPORTER_DISABLE": "1"})
    try:
        def endpoint() -> str | None:
            if process.poll() is not None:
                raise AssertionError(f"firefox exited: {log.read_text(errors='replace')}")
            found = re.search(r"WebDriver BiDi listening on (ws://\S+)", log.read_text(errors="replace"))
            return found and f"{found.group(1).rstrip('/')}/session"

        browser = BiDi(retry_until(endpoint, 60, interval=0.1, message="Firefox's Remote Agent listens"))
        try:
            browser.set_viewport(1280, 800)
            yield browser
        finally:
            browser.close()
    finally:
        _kill_group(process)


def _js(value: object) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else repr(value).replace("'", '"')


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to Firefox's process group, then SIGKILL to whatever of it is left (content processes too)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(10)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)


def login(browser: BiDi, server: ServerProcess) -> None:
    """Sign in the way `cao ui` does: the one-time URL sets the HttpOnly cookie, then the page goes live."""
    browser.navigate(server.client.request("POST", "/auth/login-url")["url"])
    wait_for(browser, "document.querySelector('#live')?.dataset.state === 'live'", "the page is signed in and live")
    assert browser.evaluate("document.cookie") == ""  # HttpOnly: the page's JavaScript never sees it


def wait_for(browser: BiDi, expression: str, message: str, timeout: float = 20) -> object:
    return retry_until(lambda: browser.evaluate(expression), timeout, interval=0.1, message=message)


def text(selector: str) -> str:
    return f"document.querySelector({selector!r})?.textContent ?? ''"


def test_firefox_signs_in_lists_a_session_and_types_into_its_terminal(
        firefox: BiDi, server: ServerProcess, api: ApiClient, workdir: Path, tmp_path: Path) -> None:
    shots = Path(os.environ.get("CAO_WEB_SCREENSHOTS") or tmp_path / "screenshots") / "firefox"
    shots.mkdir(parents=True, exist_ok=True)
    login(firefox, server)
    terminal = launch(api, workdir, session="infirefox")
    row = f'[data-session="cao-infirefox"] [data-terminal="{terminal["id"]}"]'
    wait_for(firefox, f"{text(row)}.includes('developer')", "the dashboard lists the session (by the event stream)")
    wait_for(firefox, f"{text(row + ' .badge')} === 'idle'", "its status badge shows idle")
    firefox.screenshot(shots / "sessions.png", full_page=True)

    firefox.navigate(f"{server.settings.api_url}/#/t/{terminal['id']}")
    rows = "#screen .xterm-rows"
    wait_for(firefox, f"{text(rows)}.includes('? for shortcuts')", "xterm.js shows the agent's screen")
    wait_for(firefox, "document.querySelector('#ws-state')?.dataset.state === 'open'", "the WebSocket is open")
    firefox.evaluate("document.querySelector('#screen textarea').focus()")  # xterm.js's input element
    firefox.type("typed in firefox" + ENTER)
    wait_for(firefox, f"{text(rows)}.includes('Mock reply to: typed in firefox')", "the agent replied on screen")
    retry_until(lambda: api.get(f"/terminals/{terminal['id']}")["status"] == "completed", 20,
                message="the server saw the turn typed in Firefox")
    wait_for(firefox, f"{text('#last-reply')}.includes('Mock reply to: typed in firefox')", "the last reply shows")
    firefox.screenshot(shots / "terminal.png")

    firefox.navigate(f"{server.settings.api_url}/#/")
    wait_for(firefox, f"{text(row + ' .badge')} === 'completed'", "the badge shows the finished turn")
    firefox.set_viewport(390, 844)  # a phone: one column, nothing wider than the screen
    wait_for(firefox, "document.documentElement.scrollWidth <= 390", "the page fits a 390-px screen")
    firefox.screenshot(shots / "sessions-phone.png", full_page=True)
    assert firefox.errors() == []


def test_in_firefox_a_page_of_another_origin_cannot_open_the_terminal_websocket(
        firefox: BiDi, server: ServerProcess, api: ApiClient, workdir: Path, tmp_path: Path) -> None:
    import functools
    import http.server
    import threading

    terminal = launch(api, workdir, session="foreignff")
    login(firefox, server)  # Firefox holds the cookie, and would send it to 127.0.0.1 on any port
    ws_url = f"ws://127.0.0.1:{server.settings.api_port}/terminals/{terminal['id']}/ws"
    attempt = f"""new Promise((done) => {{
        const ws = new WebSocket({ws_url!r});
        ws.onopen = () => {{ ws.close(); done('opened'); }};
        ws.onclose = (e) => done('closed ' + e.code);
    }})"""
    assert firefox.evaluate(attempt) == "opened"  # the UI's own origin may (the test can fail)
    site = tmp_path / "other-site"
    site.mkdir()
    (site / "index.html").write_text("<!doctype html><title>another site</title>")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    other = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=other.serve_forever, daemon=True).start()
    try:
        firefox.navigate(f"http://127.0.0.1:{other.server_address[1]}/index.html")
        assert firefox.evaluate(attempt) == "closed 1006"  # refused in the handshake (403)
    finally:
        other.shutdown()
