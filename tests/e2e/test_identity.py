"""Identity holds end to end: the owner's token on the API, a terminal's token on /mcp, never a sender parameter.

A real cao-server, tmux and mock agents; MCP spoken by the official SDK client over streamable HTTP.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import stat
from pathlib import Path

import pytest

from cao.client import ApiClient
from cao.errors import PermissionDenied
from cao.settings import Settings
from tests.conftest import ServerProcess, retry_until
from tests.helpers import launch, pane_of, tmux
from tests.mcp_helpers import as_terminal, call_tool


def raw(settings: Settings, method: str, path: str, token: str | None = None,
        body: dict | None = None) -> tuple[int, dict | list]:
    conn = http.client.HTTPConnection(settings.api_host, settings.api_port, timeout=10)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, json.loads(data) if data else {}


def pane_text(settings: Settings, terminal: dict) -> str:
    pane = pane_of(settings, terminal["session_name"], terminal["name"])
    return tmux(settings, "capture-pane", "-p", "-S", "-", "-t", pane).stdout


def test_the_forged_sender_attack_fails(api: ApiClient, settings: Settings, workdir: Path) -> None:
    receiver = launch(api, workdir)
    with pytest.raises(PermissionDenied, match="sender_id 'deadbeef' is not you"):
        api.request("POST", f"/terminals/{receiver['id']}/inbox/messages",
                    body={"sender_id": "deadbeef", "message": "hi"})
    with pytest.raises(PermissionDenied):
        api.request("POST", f"/terminals/{receiver['id']}/inbox/messages",
                    params={"sender_id": "deadbeef", "message": "hi"})
    assert api.get(f"/terminals/{receiver['id']}/inbox/messages") == []
    accepted = api.request("POST", f"/terminals/{receiver['id']}/inbox/messages", body={"message": "from me"})
    assert accepted["sender_id"] == "user"
    retry_until(lambda: f"[Message {accepted['message_id']} from user]" in pane_text(settings, receiver),
                message="the message is typed in, marked as from the user")
    assert "deadbeef" not in pane_text(settings, receiver)


def test_every_route_but_health_needs_the_owner_token(api: ApiClient, settings: Settings, workdir: Path) -> None:
    terminal = launch(api, workdir)
    assert raw(settings, "GET", "/health")[0] == 200
    for method, path in (("GET", "/sessions"), ("GET", f"/terminals/{terminal['id']}"),
                         ("POST", f"/terminals/{terminal['id']}/input"), ("GET", "/openapi.json"),
                         ("DELETE", "/sessions/t1"), ("GET", f"/terminals/{terminal['id']}/mcp-config")):
        status, body = raw(settings, method, path, body={"message": "x"} if method == "POST" else None)
        assert status == 401, (method, path, body)
        assert raw(settings, method, path, token="not-the-token")[0] == 401
    token_file = settings.api_token_file
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert raw(settings, "GET", "/sessions", token=token_file.read_text().strip())[0] == 200
    assert api.get("/sessions")[0]["name"] == "cao-t1"  # the CLI's client reads the file itself


def test_a_terminal_token_acts_only_as_that_terminal(api: ApiClient, settings: Settings, workdir: Path) -> None:
    boss = launch(api, workdir)
    worker = api.request("POST", "/sessions/t1/terminals", timeout=60,
                         params={"agent_profile": "developer", "provider": "mock", "caller_id": boss["id"]})
    other = api.request("POST", "/sessions/t1/terminals", timeout=60,
                        params={"agent_profile": "reviewer", "provider": "mock"})
    worker_token = api.get(f"/terminals/{worker['id']}/mcp-config")["headers"]["Authorization"].split()[1]
    # On the owner's API a terminal's token is refused: it cannot type into another agent's pane.
    status, body = raw(settings, "POST", f"/terminals/{other['id']}/input", token=worker_token,
                       body={"message": "rm -rf ~"})
    assert status == 403 and "/mcp" in body["detail"]
    # Over MCP it acts as the worker, whatever the arguments say.
    text, is_error = call_tool(api, worker["id"], "send_message", {"message": "result: 42"})
    assert not is_error and boss["id"] in text
    text, is_error = call_tool(api, worker["id"], "send_message",
                               {"message": "spoofed", "receiver_id": other["id"], "sender_id": boss["id"]})
    assert is_error and "sender_id" in text
    text, is_error = call_tool(api, worker["id"], "delete_terminal", {"terminal_id": other["id"]})
    assert is_error and "not created by terminal" in text
    messages = api.get(f"/terminals/{boss['id']}/inbox/messages", limit=100)
    assert [(m["sender_id"], m["message"]) for m in messages] == [(worker["id"], "result: 42")]
    assert api.get(f"/terminals/{other['id']}/inbox/messages") == []


def test_a_deleted_terminal_token_is_refused(api: ApiClient, settings: Settings, workdir: Path) -> None:
    terminal = launch(api, workdir)
    connection = api.get(f"/terminals/{terminal['id']}/mcp-config")
    api.request("DELETE", f"/terminals/{terminal['id']}", timeout=30)
    status, _ = raw(settings, "POST", "/mcp", token=connection["headers"]["Authorization"].split()[1],
                    body={"jsonrpc": "2.0", "id": 1, "method": "ping"})
    assert status == 401


def test_the_token_is_in_the_terminals_config_only(api: ApiClient, settings: Settings, workdir: Path) -> None:
    terminal = launch(api, workdir)
    token = api.get(f"/terminals/{terminal['id']}/mcp-config")["headers"]["Authorization"].split()[1]
    pane = pane_of(settings, terminal["session_name"], terminal["name"])
    pid = int(tmux(settings, "display-message", "-p", "-t", pane, "#{pane_pid}").stdout.strip())
    environ = Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace")
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    assert token not in environ and token not in cmdline
    config = settings.run_dir / terminal["id"] / "mcp.json"
    assert token in config.read_text()
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert [p for p in _pane_processes(pid) if "cao.mcp" in p] == []  # no MCP process per terminal


def _pane_processes(root: int) -> list[str]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat_fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(stat_fields[1]) == root:
                    out.append((entry / "cmdline").read_bytes().decode(errors="replace"))
            except (OSError, IndexError, ValueError):
                continue
    return out


def test_a_cancelled_handoff_stops_waiting_and_tells_the_caller(
    api: ApiClient, workdir: Path, tmp_path: Path
) -> None:
    script = tmp_path / "slow.json"
    script.write_text(json.dumps({"rules": [
        {"agent": "developer", "match": "slow job", "steps": [{"wait": 60}, {"reply": "too late"}]}]}))
    boss = launch(api, workdir, profile="code_supervisor", env={"CAO_MOCK_SCRIPT": str(script)})
    progress: list[float] = []

    async def handoff_then_cancel() -> str:
        async with as_terminal(api, boss["id"]) as session:
            async def on_progress(value: float, total: float | None, message: str | None) -> None:
                progress.append(value)

            call = asyncio.ensure_future(session.call_tool(
                "handoff", {"agent_profile": "developer", "message": "slow job"}, progress_callback=on_progress))
            while not progress:  # the server reports progress while the worker works
                await asyncio.sleep(0.1)
            call.cancel()  # the SDK sends notifications/cancelled for the request
            with pytest.raises(asyncio.CancelledError):
                await call
            return "cancelled"

    assert asyncio.run(asyncio.wait_for(handoff_then_cancel(), 60)) == "cancelled"
    notice = retry_until(lambda: api.get(f"/terminals/{boss['id']}/inbox/messages", limit=10), 20,
                         message="the caller is told about the cancelled handoff")
    assert notice[0]["sender_id"] == "cao" and "was cancelled before it finished" in notice[0]["message"]
    workers = [t for t in api.get("/sessions/t1")["terminals"] if t["id"] != boss["id"]]
    assert len(workers) == 1 and workers[0]["id"] in notice[0]["message"]  # kept, and named


def test_cao_home_is_private_after_a_run(api: ApiClient, settings: Settings, workdir: Path) -> None:
    terminal = launch(api, workdir)
    api.request("POST", f"/terminals/{terminal['id']}/inbox/messages", body={"message": "hello"})
    api.request("DELETE", "/sessions/t1", timeout=30)  # writes a snapshot under logs/
    loose = []
    for root, dirs, files in os.walk(settings.home):
        for name in dirs + files:
            path = Path(root) / name
            if path.is_symlink() or name == "test-server.log":  # the test harness's own log
                continue
            if stat.S_IMODE(path.lstat().st_mode) & 0o077:
                loose.append(f"{path.relative_to(settings.home)} {oct(stat.S_IMODE(path.lstat().st_mode))}")
    assert loose == []


def test_a_login_url_signs_a_browser_in_once(api: ApiClient, settings: Settings) -> None:
    url = api.request("POST", "/auth/login-url")["url"]
    path = url.removeprefix(settings.api_url)
    conn = http.client.HTTPConnection(settings.api_host, settings.api_port, timeout=10)
    conn.request("GET", path)
    response = conn.getresponse()
    response.read()
    assert response.status == 303 and response.getheader("location") == "/"
    cookie = response.getheader("set-cookie")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    conn.request("GET", "/sessions", headers={"Cookie": cookie.split(";")[0]})
    signed_in = conn.getresponse()
    assert signed_in.status == 200 and json.loads(signed_in.read()) == []
    conn.request("GET", path)  # the same link again
    again = conn.getresponse()
    assert again.status == 403 and "already used or has expired" in json.loads(again.read())["detail"]
    conn.close()


def test_auth_off_opens_the_api_and_says_so(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAO_AUTH", "off")
    server = ServerProcess(settings)
    server.start()
    try:
        assert raw(settings, "GET", "/sessions") == (200, [])
        assert not settings.api_token_file.exists()
        retry_until(lambda: "CAO_AUTH=off" in server.log.read_text(), message="the server warns at start")
    finally:
        server.stop()
