"""The web UI in a real Chromium against a real cao-server, tmux and mock agents."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from cao.client import ApiClient
from tests.conftest import ServerProcess, retry_until
from tests.e2e_web.conftest import login
from tests.helpers import launch, write_script

pytestmark = pytest.mark.web


def test_login_then_a_session_from_the_cli_appears_and_its_status_changes_live(
        page: Page, server: ServerProcess, api: ApiClient, workdir: Path, screenshots: Path) -> None:
    login(page, server)
    expect(page.locator("#sessions")).to_contain_text("No sessions yet")
    subprocess.run([sys.executable, "-m", "cao", "launch", "--agents", "developer", "--provider", "mock",
                    "--session-name", "fromcli", "--headless", "--working-directory", str(workdir)],
                   check=True, capture_output=True, timeout=60)
    card = page.locator('[data-session="cao-fromcli"]')
    expect(card).to_be_visible()
    terminal = api.get("/sessions/cao-fromcli")["terminals"][0]
    row = card.locator(f'[data-terminal="{terminal["id"]}"]')
    expect(row).to_contain_text("developer")
    expect(row.locator(".badge")).to_have_text("idle")
    page.screenshot(path=str(screenshots / "sessions.png"), full_page=True)
    api.request("POST", f"/terminals/{terminal['id']}/input", body={"message": "hello from the test"})
    expect(row).to_have_attribute("data-status", "completed")  # by the event stream: the page never reloads
    expect(row.locator(".badge")).to_have_text("completed")
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
    page.set_viewport_size({"width": 390, "height": 844})  # a phone: one column, nothing wider than the screen
    expect(row.locator(".badge")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(screenshots / "sessions-phone.png"), full_page=True)
    assert not page.cao_errors


def test_type_into_the_terminal_and_the_agent_replies(page: Page, server: ServerProcess, api: ApiClient,
                                                      workdir: Path, screenshots: Path) -> None:
    terminal = launch(api, workdir, session="typing")
    login(page, server)
    page.goto(f"{server.settings.api_url}/#/t/{terminal['id']}")
    rows = page.locator("#screen .xterm-rows")
    expect(rows).to_contain_text("? for shortcuts")
    expect(page.locator("#ws-state")).to_have_attribute("data-state", "open")
    page.locator("#screen").click()
    page.keyboard.type("typed in the browser")
    page.keyboard.press("Enter")
    expect(rows).to_contain_text("Mock reply to: typed in the browser")
    retry_until(lambda: api.get(f"/terminals/{terminal['id']}")["status"] == "completed", 20,
                message="the server saw the turn the browser typed")
    expect(page.locator("#last-reply")).to_contain_text("Mock reply to: typed in the browser")
    page.keyboard.press("F6")  # the keyboard's way out of the terminal
    expect(page.locator("#message")).to_be_focused()
    page.screenshot(path=str(screenshots / "terminal.png"))
    page.emulate_media(color_scheme="dark")
    page.screenshot(path=str(screenshots / "terminal-dark.png"))
    page.goto(f"{server.settings.api_url}/#/")  # leaving the page closes the view, not the agent
    retry_until(lambda: not [s for s in _tmux_sessions(server) if s.startswith("cao_view_")], 10,
                message="the viewer's tmux session is gone")
    assert api.get(f"/terminals/{terminal['id']}")["status"] == "completed"
    assert not page.cao_errors


def _tmux_sessions(server: ServerProcess) -> list[str]:
    out = subprocess.run(["tmux", "-L", server.settings.tmux_socket or "", "list-sessions", "-F", "#{session_name}"],
                         capture_output=True, text=True).stdout
    return out.split()


def test_answer_a_waiting_dialog_from_the_page(page: Page, server: ServerProcess, api: ApiClient,
                                               workdir: Path, tmp_path: Path, screenshots: Path) -> None:
    script = write_script(tmp_path / "ask.json", [{"match": "^delete", "steps": [
        {"ask_permission": "rm -rf build"}, {"reply": "permission {{permission}}"}]}])
    terminal = launch(api, workdir, session="dialog", env={"CAO_MOCK_SCRIPT": str(script)})
    login(page, server)
    page.goto(f"{server.settings.api_url}/#/t/{terminal['id']}")
    expect(page.locator("#screen .xterm-rows")).to_contain_text("? for shortcuts")
    api.request("POST", f"/terminals/{terminal['id']}/input", body={"message": "delete the build dir"})
    dialog = page.locator("#dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("#screen .xterm-rows")).to_contain_text("Do you want to proceed?")
    page.screenshot(path=str(screenshots / "dialog.png"))
    dialog.locator('[data-key="1"]').click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#last-reply")).to_contain_text("permission granted")
    assert not page.cao_errors


def test_launch_a_session_from_the_form_and_message_it(page: Page, server: ServerProcess, api: ApiClient,
                                                       workdir: Path, screenshots: Path) -> None:
    login(page, server)
    page.locator("details.card summary").click()
    page.locator("select[name=agent_profile]").select_option("developer")
    page.locator("select[name=provider]").select_option("mock")
    page.locator("input[name=working_directory]").fill(str(workdir))
    page.locator("input[name=session_name]").fill("fromform")
    page.locator("textarea[name=message]").fill("first words")
    page.screenshot(path=str(screenshots / "launch-form.png"))
    page.locator("#launch button[type=submit]").click()
    card = page.locator('[data-session="cao-fromform"]')
    expect(card).to_be_visible()
    terminal_id = api.get("/sessions/cao-fromform")["terminals"][0]["id"]
    retry_until(lambda: "Mock reply to: first words" in api.get(f"/terminals/{terminal_id}/output")["output"], 20,
                message="the first message reached the agent")
    card.locator("a", has_text="Open").first.click()
    page.locator("#message").fill("through the inbox")
    page.locator("#send button[type=submit]").click()
    delivered = page.locator('#inbox li[data-status="delivered"]')
    expect(delivered).to_contain_text("through the inbox")
    page.screenshot(path=str(screenshots / "inbox.png"))
    assert not page.cao_errors


def test_a_flow_run_appears(page: Page, server: ServerProcess, api: ApiClient, workdir: Path,
                            screenshots: Path) -> None:
    api.request("POST", "/flows", body={"name": "morning", "schedule": "30 7 * * *", "agent_profile": "developer",
                                        "provider": "mock", "prompt_template": "Good morning",
                                        "working_directory": str(workdir)})
    login(page, server)
    page.goto(f"{server.settings.api_url}/#/flows")
    flow = page.locator('[data-flow="morning"]')
    expect(flow).to_contain_text("30 7 * * *")
    flow.get_by_role("button", name="Run now").click()
    run = flow.locator(".runs li").first
    expect(run).to_contain_text("manual")
    expect(run.locator("pre.reply")).to_contain_text("Mock reply to: Good morning")  # live: flow.run.finished
    page.screenshot(path=str(screenshots / "flows.png"), full_page=True)
    assert not page.cao_errors


@pytest.mark.timeout(240)
def test_profiles_and_doctor_pages(page: Page, server: ServerProcess, screenshots: Path) -> None:
    login(page, server)
    page.goto(f"{server.settings.api_url}/#/profiles")
    page.locator('[data-profile="developer"]').get_by_role("button", name="Read").click()
    expect(page.locator("#profile")).to_contain_text("System prompt")
    page.locator("details.card summary").click()
    page.locator("#profile-file").set_input_files(files=[{
        "name": "uploaded_helper.md", "mimeType": "text/markdown",
        "buffer": b"---\ndescription: Came in through the page\nprovider: mock\n---\nYou help.\n"}])
    page.locator("#install button[type=submit]").click()
    expect(page.locator("#install-state")).to_have_text("installed uploaded_helper")
    expect(page.locator('[data-profile="uploaded_helper"]')).to_contain_text("Came in through the page")
    page.locator("#profile-url").fill("http://example.invalid/x.md")  # not https: refused, nothing written
    page.locator("#install button[type=submit]").click()
    expect(page.locator(".flash.error")).to_contain_text("https")
    page.cao_errors[:] = [e for e in page.cao_errors if "status of 400" not in e]
    page.screenshot(path=str(screenshots / "profiles.png"), full_page=True)
    page.goto(f"{server.settings.api_url}/#/doctor")
    # GET /agents/providers asks every installed CLI for its version: slow on a loaded machine.
    expect(page.locator('[data-provider="mock"]')).to_be_visible(timeout=180_000)
    expect(page.locator("#doctor")).to_contain_text("tmux")
    page.screenshot(path=str(screenshots / "doctor.png"), full_page=True)
    assert not page.cao_errors


def test_the_page_reconnects_after_a_server_restart_and_catches_up(page: Page, server: ServerProcess,
                                                                  api: ApiClient, workdir: Path) -> None:
    first = launch(api, workdir, session="before")
    login(page, server)
    expect(page.locator(f'[data-terminal="{first["id"]}"]')).to_be_visible()
    server.stop()
    expect(page.locator("#live")).to_have_attribute("data-state", "offline")
    server.start()  # same CAO_HOME and port: it re-adopts the live terminal
    expect(page.locator("#live")).to_have_attribute("data-state", "live", timeout=30_000)
    second = launch(api, workdir, session="after")
    expect(page.locator(f'[data-terminal="{second["id"]}"]')).to_be_visible()
    api.request("POST", f"/terminals/{first['id']}/input", body={"message": "still there"})
    expect(page.locator(f'[data-terminal="{first["id"]}"]')).to_have_attribute("data-status", "completed")
    assert [e for e in page.cao_errors if "ERR_CONNECTION_REFUSED" not in e] == []  # only while it was down


def test_a_page_of_another_origin_cannot_open_the_terminal_websocket(page: Page, server: ServerProcess,
                                                                    api: ApiClient, workdir: Path,
                                                                    tmp_path: Path) -> None:
    import functools
    import http.server
    import threading

    terminal = launch(api, workdir, session="foreign")
    login(page, server)  # the browser holds the cookie, and would send it to 127.0.0.1 on any port
    ws_url = f"ws://127.0.0.1:{server.settings.api_port}/terminals/{terminal['id']}/ws"
    attempt = """(url) => new Promise((done) => {
        const ws = new WebSocket(url);
        ws.onopen = () => { ws.close(); done('opened'); };
        ws.onclose = (e) => done('closed ' + e.code);
    })"""
    assert page.evaluate(attempt, ws_url) == "opened"  # the UI's own origin may (the test can fail)
    site = tmp_path / "other-site"
    site.mkdir()
    (site / "index.html").write_text("<!doctype html><title>another site</title>")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    other = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=other.serve_forever, daemon=True).start()
    try:
        page.goto(f"http://127.0.0.1:{other.server_address[1]}/index.html")
        assert page.evaluate(attempt, ws_url) == "closed 1006"  # refused in the handshake (403)
    finally:
        other.shutdown()
    retry_until(lambda: not [s for s in _tmux_sessions(server) if s.startswith("cao_view_")], 10,
                message="no view is left: the one that opened has ended, the refused one never began")
