"""The real Codex CLI, at each version in scripts/install-real-clis (0.169.0 pinned, 0.171.0 the latest),
driven through cao's REST API against the scripted model server.

Each test has a private HOME whose ~/.codex/config.toml points Codex at ``model.url``, a private
TMPDIR and tmux socket. Synchronisation is cao's own long-poll (``/wait``) or retry-until; the
teardown checks that no Codex process (the TUI or a background daemon, P6) outlives the test.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from cao.client import ApiClient
from cao.settings import Settings
from tests.conftest import ServerProcess, retry_until
from tests.e2e_real.agent_processes import assert_token_only_in_its_config
from tests.e2e_real.conftest import ModelServer, cli_version_fixture
from tests.screens.record_codex import seed_codex_home

pytestmark = pytest.mark.e2e_real

KEY_VAR = "SCRIPTED_MODEL_KEY"
EXACT = "The scripted answer, line one.\nLine two: exact text 42."
codex_version = cli_version_fixture("@openai/codex")  # each version in the table


def _codex_pids(home: Path) -> list[int]:
    """Processes of the codex binary started with this test's HOME."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(b"codex" in part for part in cmdline[:2]) and f"HOME={home}".encode() in environ:
            pids.append(int(entry.name))
    return pids


@pytest.fixture
def codex_home(codex_version: str, real_home: Path, model: ModelServer, settings: Settings,
               monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Codex config and key in place before cao-server starts; no Codex process or /tmp file left after."""
    seed_codex_home(real_home, model.url, key_var=KEY_VAR)
    monkeypatch.setenv(KEY_VAR, "sk-scripted")
    tmp_before = {p.name for p in Path("/tmp").iterdir() if p.name.startswith("codex")}
    yield real_home
    subprocess.run(["tmux", "-L", settings.tmux_socket or "", "kill-server"], capture_output=True, check=False)
    try:
        retry_until(lambda: not _codex_pids(real_home), 15, interval=0.1, message="codex processes exit")
    finally:
        for pid in _codex_pids(real_home):  # only ours: matched by this test's private HOME
            os.kill(pid, signal.SIGKILL)
    leftovers = {p.name for p in Path("/tmp").iterdir() if p.name.startswith("codex")} - tmp_before
    assert not leftovers, f"Codex left files in /tmp: {leftovers}"


@pytest.fixture
def api(codex_home: Path, real_server: ServerProcess) -> ApiClient:
    return real_server.client


def start(api: ApiClient, workdir: Path, session: str = "cx", **params: str) -> dict:
    return api.request("POST", "/sessions", timeout=90, params={
        "provider": "codex", "agent_profile": "developer", "session_name": session,
        "working_directory": str(workdir), **params})


def send(api: ApiClient, terminal_id: str, message: str) -> int:
    return api.request("POST", f"/terminals/{terminal_id}/input", body={"message": message})["turn"]


def wait(api: ApiClient, terminal_id: str, *, turn: int | None = None, status: str = "idle,completed",
         timeout: float = 60) -> dict:
    params: dict = {"status": status, "timeout": timeout}
    if turn is not None:
        params["turn"] = turn
    return api.request("GET", f"/terminals/{terminal_id}/wait", params=params, timeout=timeout + 10)


def test_task_runs_to_completed_with_the_exact_reply(api: ApiClient, model: ModelServer, workdir: Path,
                                                     codex_home: Path, codex_version: str) -> None:
    model.set_rules([{"match": "say hello", "needs_tools": True, "delay": 1.5, "text": EXACT}])
    terminal = start(api, workdir)
    assert terminal["status"] == "idle", terminal
    assert f"OpenAI Codex (v{codex_version})" in api.get(f"/terminals/{terminal['id']}/output")["output"]
    turn = send(api, terminal["id"], "please say hello")
    assert wait(api, terminal["id"], status="processing", timeout=30)["status"] == "processing"
    assert wait(api, terminal["id"], turn=turn)["status"] == "completed"
    assert api.get(f"/terminals/{terminal['id']}/output", mode="last")["output"] == EXACT
    turns = [r for r in model.requests() if r["tools"] and r["text"] == "please say hello"]
    assert turns, model.requests()
    # The profile prompt went in as developer instructions, with the soft tool restriction first;
    # cao's MCP tools are offered (Codex wraps them in the mcp__cao namespace).
    # (The request log keeps only the start of the system text, Codex's own prompt; its session
    # file in the private HOME holds the whole request context.)
    sessions = "".join(p.read_text() for p in (codex_home / ".codex" / "sessions").rglob("*.jsonl"))
    assert "You only have access to these tools: @builtin" in sessions
    assert "You are a software developer in a team of AI agents run by cao" in sessions
    assert "mcp__cao__send_message" in turns[0]["tools"]
    # A second turn: the reply of this turn, not the previous one.
    model.set_rules([{"match": "again", "needs_tools": True, "text": "Second reply."}])
    turn = send(api, terminal["id"], "again please")
    assert wait(api, terminal["id"], turn=turn)["status"] == "completed"
    assert api.get(f"/terminals/{terminal['id']}/output", mode="last")["output"] == "Second reply."


def test_exec_approval_is_waiting_user_answer(api: ApiClient, model: ModelServer, workdir: Path) -> None:
    model.set_rules([
        {"match": "list the root", "needs_tools": True, "tool": "exec_command",
         "args": {"cmd": "ls /", "sandbox_permissions": "require_escalated", "justification": "to see it"}},
        {"on_tool_result": ".", "text": "Listed."}])
    terminal = start(api, workdir)
    turn = send(api, terminal["id"], "list the root please")
    assert wait(api, terminal["id"], turn=turn)["status"] == "waiting_user_answer"
    api.request("POST", f"/terminals/{terminal['id']}/key", params={"key": "Enter"})  # 1. Yes, proceed
    retry_until(lambda: api.get(f"/terminals/{terminal['id']}")["status"] == "completed", 30,
                interval=0.1, message="the approved command ran and the turn completed")
    assert api.get(f"/terminals/{terminal['id']}/output", mode="last")["output"] == "Listed."


def test_api_error_is_error(api: ApiClient, model: ModelServer, workdir: Path) -> None:
    model.set_rules([{"match": "break", "error": 400, "message": "scripted bad request"}])
    terminal = start(api, workdir)
    turn = send(api, terminal["id"], "break now")
    assert wait(api, terminal["id"], turn=turn)["status"] == "error"


def test_exit_sets_exit_reason(api: ApiClient, workdir: Path) -> None:
    terminal = start(api, workdir, yolo="true")
    api.request("POST", f"/terminals/{terminal['id']}/exit")
    gone = retry_until(lambda: (t := api.get(f"/terminals/{terminal['id']}"))["exit_reason"] and t, 30,
                       interval=0.1, message="codex exits on /exit")
    assert "exited" in gone["exit_reason"]


def test_send_message_through_cao_mcp_reaches_the_other_inbox(
    api: ApiClient, model: ModelServer, workdir: Path
) -> None:
    sender = start(api, workdir)
    receiver = api.request("POST", "/sessions/cx/terminals", timeout=60,
                           params={"provider": "mock", "agent_profile": "reviewer"})
    model.set_rules([
        {"match": "tell the reviewer", "needs_tools": True, "tool": "send_message",
         "args": {"receiver_id": receiver["id"], "message": "hello from codex"}},
        {"on_tool_result": "queued", "text": "Sent: {{tool_result}}"}])
    turn = send(api, sender["id"], "tell the reviewer")
    assert wait(api, sender["id"], turn=turn)["status"] == "completed"
    inbox = retry_until(lambda: api.get(f"/terminals/{receiver['id']}/inbox/messages"), 20,
                        message="message in the receiver's inbox")
    assert inbox[0]["message"] == "hello from codex"
    assert inbox[0]["sender_id"] == sender["id"]  # CAO_TERMINAL_ID reached cao's MCP server
    reply = api.get(f"/terminals/{sender['id']}/output", mode="last")["output"]
    assert reply.startswith("Sent: Message ") and reply.endswith(f"queued for terminal {receiver['id']}.")


def test_reaches_cao_mcp_over_http_with_its_token(api: ApiClient, model: ModelServer, workdir: Path,
                                                  settings: Settings) -> None:
    """Codex talks to cao-server's ``/mcp`` itself (no stdio bridge); its token is only in the 0600 headers
    file its ``http_headers_helper`` reads, and cao records the sender from that token."""
    codex = start(api, workdir)
    assert codex["status"] == "idle", codex  # cao saw Codex's tools/list on /mcp
    assert_token_only_in_its_config(api, settings, codex, "cao-mcp-headers.json")
    receiver = api.request("POST", "/sessions/cx/terminals", timeout=60,
                           params={"provider": "mock", "agent_profile": "reviewer"})
    model.set_rules([
        {"match": "tell the reviewer", "needs_tools": True, "tool": "send_message",
         "args": {"receiver_id": receiver["id"], "message": "hello over http"}},
        {"on_tool_result": "queued", "text": "Sent: {{tool_result}}"}])
    turn = send(api, codex["id"], "tell the reviewer")
    assert wait(api, codex["id"], turn=turn)["status"] == "completed"
    inbox = retry_until(lambda: api.get(f"/terminals/{receiver['id']}/inbox/messages"), 20,
                        message="message in the receiver's inbox")
    assert [(m["sender_id"], m["message"]) for m in inbox] == [(codex["id"], "hello over http")]

