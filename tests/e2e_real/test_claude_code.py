"""The real Claude Code, at each version in scripts/install-real-clis (2.1.197 pinned, 2.1.332 the latest),
run by cao-server against the scripted model server, through cao's REST API.

The private HOME is seeded the way a returning user's machine looks (onboarding done, the API key
approved, the project trusted), so no first-run dialog appears; the model is cao's scripted server.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from cao.client import ApiClient
from cao.settings import Settings
from tests.conftest import ServerProcess, retry_until
from tests.e2e_real.agent_processes import assert_token_only_in_its_config
from tests.e2e_real.conftest import ModelServer, cli_version_fixture
from tests.helpers import last_reply

pytestmark = pytest.mark.e2e_real
KEY = "sk-ant-fake-key-0123456789abcdef"
TURN_TIMEOUT = 60
claude_version = cli_version_fixture("@anthropic-ai/claude-code")  # each version in the table


@pytest.fixture
def claude_env(claude_version: str, real_home: Path, model: ModelServer, workdir: Path, settings: Settings,
               monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Seed ~/.claude.json like a returning user's, and point Claude Code at the scripted model server.

    Torn down after cao-server: ends the test's tmux server and checks that nothing started with this
    HOME (Claude Code, its MCP servers, tool processes) outlives it (P6/P15).
    """
    state: dict = {"hasCompletedOnboarding": True, "theme": "dark", "numStartups": 5,
             "customApiKeyResponses": {"approved": [KEY[-20:]], "rejected": []},
             "projects": {str(workdir): {"hasTrustDialogAccepted": True}}}
    (real_home / ".claude.json").write_text(json.dumps(state))
    monkeypatch.setenv("ANTHROPIC_BASE_URL", model.url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    yield real_home
    subprocess.run(["tmux", "-L", settings.tmux_socket or "", "kill-server"], capture_output=True, check=False)
    _check_no_leftovers(real_home, ignore={os.getpid(), model.process.pid})


@pytest.fixture
def api(claude_env: Path, real_server: ServerProcess) -> ApiClient:
    """cao-server, started after the environment above is set (fixture order matters)."""
    return real_server.client


def _check_no_leftovers(home: Path, ignore: set[int]) -> None:
    def survivors() -> list[int]:
        found = []
        for pid in (int(p) for p in os.listdir("/proc") if p.isdigit()):
            try:
                env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            except OSError:
                continue
            if f"HOME={home}".encode() in env and pid not in ignore:
                found.append(pid)
        return found

    try:
        retry_until(lambda: not survivors(), 10, 0.1, message="the agent's processes end with its tmux server")
    except AssertionError:
        left = survivors()
        details = [Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")[:120] for pid in left]
        for pid in left:  # our own test's processes (their HOME is this test's private HOME)
            subprocess.run(["kill", "-9", str(pid)], check=False, capture_output=True)
        raise AssertionError(f"processes left behind: {details}") from None


def launch(api: ApiClient, workdir: Path, *, session: str = "cc", yolo: bool = False) -> dict:
    return api.request("POST", "/sessions", timeout=90,
                       params={"agent_profile": "developer", "provider": "claude_code", "session_name": session,
                               "working_directory": str(workdir), "yolo": str(yolo).lower()})


def send(api: ApiClient, terminal_id: str, message: str) -> dict:
    turn = api.request("POST", f"/terminals/{terminal_id}/input", body={"message": message})["turn"]
    return api.request("GET", f"/terminals/{terminal_id}/wait", params={"turn": turn, "timeout": TURN_TIMEOUT},
                       timeout=TURN_TIMEOUT + 10)


def choose(api: ApiClient, terminal_id: str, label: str) -> None:
    """Pick the option ``label`` in the open dialog as a person does: arrow up to it, then Enter (2.1.332
    numbers no options and ignores keys for a moment after a dialog opens, so press until it is taken)."""
    def taken() -> bool:
        if api.get(f"/terminals/{terminal_id}")["status"] != "waiting_user_answer":
            return True
        tail = api.get(f"/terminals/{terminal_id}/output", mode="full")["output"].splitlines()[-12:]
        on_it = any(re.match(rf"\s*❯ (?:\d+\. )?{re.escape(label)}", row) for row in tail)
        api.request("POST", f"/terminals/{terminal_id}/key", params={"key": "Enter" if on_it else "Up"})
        return False
    retry_until(taken, 30, 0.3, message=f"the dialog takes {label!r}")


def test_launch_task_reply_and_exit(api: ApiClient, model: ModelServer, workdir: Path) -> None:
    reply = "The build is green.\nAll 12 tests passed.\n\n- nothing else to do"
    model.set_rules([{"match": "how is the build", "delay": 1.5, "text": reply}])
    terminal = launch(api, workdir)
    assert terminal["provider"] == "claude_code" and terminal["status"] == "idle", terminal

    tid = terminal["id"]
    turn = api.request("POST", f"/terminals/{tid}/input", body={"message": "how is the build?"})["turn"]
    retry_until(lambda: api.get(f"/terminals/{tid}")["status"] == "processing", 20, message="processing")
    done = api.request("GET", f"/terminals/{tid}/wait", params={"turn": turn, "timeout": TURN_TIMEOUT},
                       timeout=TURN_TIMEOUT + 10)
    assert done["status"] == "completed", done
    assert last_reply(api, tid) == reply
    turns = [r for r in model.requests() if r["tools"]]
    assert turns[-1]["text"] == "how is the build?" and turns[-1]["model"]
    assert "mcp__cao__send_message" in turns[-1]["tools"]  # cao's MCP tools reached the model

    api.request("POST", f"/terminals/{tid}/exit")
    gone = retry_until(lambda: (t := api.get(f"/terminals/{tid}"))["exit_reason"] and t, 30, 0.1,
                       message="Claude Code exits on /exit")
    assert "exited" in gone["exit_reason"] or "gone" in gone["exit_reason"]


def test_tool_permission_is_waiting_then_answered(api: ApiClient, model: ModelServer, workdir: Path) -> None:
    model.set_rules([
        {"match": "make the marker", "needs_tools": True, "tool": "Bash",
         "args": {"command": "touch marker.txt && echo made", "description": "make a marker file"}},
        {"on_tool_result": "made", "text": "Marker done."},
    ])
    tid = launch(api, workdir)["id"]
    waiting = send(api, tid, "please make the marker file")
    assert waiting["status"] == "waiting_user_answer", waiting
    assert not (workdir / "marker.txt").exists()

    choose(api, tid, "Yes")
    # (/wait returns at once while the status is still waiting_user_answer, so poll.)
    retry_until(lambda: api.get(f"/terminals/{tid}")["status"] == "completed", TURN_TIMEOUT, 0.1,
                message="the approved tool runs and Claude answers")
    assert (workdir / "marker.txt").exists()
    assert last_reply(api, tid) == "Marker done."


def test_yolo_runs_tools_without_asking(api: ApiClient, model: ModelServer, workdir: Path) -> None:
    model.set_rules([
        {"match": "make the marker", "needs_tools": True, "tool": "Bash",
         "args": {"command": "touch yolo.txt && echo made", "description": "make a marker file"}},
        {"on_tool_result": "made", "text": "Made it without asking."},
    ])
    terminal = launch(api, workdir, yolo=True)
    assert terminal["status"] == "idle", terminal
    done = send(api, terminal["id"], "make the marker file")
    assert done["status"] == "completed", done
    assert (workdir / "yolo.txt").exists()
    assert last_reply(api, terminal["id"]) == "Made it without asking."


def test_scripted_api_error_is_error(api: ApiClient, model: ModelServer, workdir: Path) -> None:
    model.set_rules([{"match": "break please", "error": 400, "message": "scripted failure"}])
    tid = launch(api, workdir)["id"]
    failed = send(api, tid, "break please")
    assert failed["status"] == "error", failed
    assert failed["exit_reason"] is None  # the CLI is still running; only the turn failed
    assert last_reply(api, tid) == "API Error: 400 scripted failure"  # the error's text is the output
    model.set_rules([])
    recovered = send(api, tid, "and now?")
    assert recovered["status"] == "completed", recovered
    assert last_reply(api, tid) == "OK: and now?"


def test_send_message_through_cao_mcp_reaches_the_other_inbox(api: ApiClient, model: ModelServer,
                                                              workdir: Path) -> None:
    claude = launch(api, workdir)
    other = api.request("POST", "/sessions/cc/terminals", timeout=60,
                        params={"agent_profile": "developer", "provider": "mock", "working_directory": str(workdir)})
    model.set_rules([
        {"match": "tell the other terminal", "needs_tools": True, "tool": "send_message",
         "args": {"message": "hello from claude", "receiver_id": other["id"]}},
        {"on_tool_result": ".", "text": "Sent: {{tool_result}}"},
    ])
    # Through the inbox, so cao types it only once Claude's MCP client has listed cao's tools (P3).
    api.request("POST", f"/terminals/{claude['id']}/inbox/messages",
                body={"message": "please tell the other terminal hello"})
    received = retry_until(
        lambda: [m for m in api.get(f"/terminals/{other['id']}/inbox/messages", limit=10)
                 if m["sender_id"] == claude["id"]], 60, 0.1, message="the message from Claude arrives")
    assert received[0]["message"] == "hello from claude"
    calls = [r for r in model.requests() if r["reply_tool"]]
    assert calls[0]["reply_tool"] == "mcp__cao__send_message"
    retry_until(lambda: last_reply(api, claude["id"]).startswith("Sent: "), 30, 0.1, message="Claude reports back")


def test_first_run_dialogs(api: ApiClient, claude_env: Path, workdir: Path) -> None:
    """cao answers the trust dialog itself; the custom API key dialog (a billing choice) is left to the user."""
    state = json.loads((claude_env / ".claude.json").read_text())
    state["projects"] = {}
    state["customApiKeyResponses"]["approved"] = []
    (claude_env / ".claude.json").write_text(json.dumps(state))
    terminal = launch(api, workdir)
    assert terminal["status"] == "waiting_user_answer", terminal  # the key dialog comes after the trust dialog
    screen = api.get(f"/terminals/{terminal['id']}/output", mode="full")["output"]
    assert "Do you want to use this API key?" in screen
    choose(api, terminal["id"], "Yes")  # the user says yes
    retry_until(lambda: api.get(f"/terminals/{terminal['id']}")["status"] == "idle", 30, 0.1,
                message="idle once the user has answered")
    assert json.loads((claude_env / ".claude.json").read_text())["projects"][str(workdir)]["hasTrustDialogAccepted"]


def test_reaches_cao_mcp_over_http_with_its_token(api: ApiClient, model: ModelServer, claude_env: Path,
                                                  workdir: Path, settings: Settings) -> None:
    """Claude talks to cao-server's ``/mcp`` itself (no stdio bridge), with the token from its 0600
    ``mcp.json`` only; cao records the sender from that token."""
    state = json.loads((claude_env / ".claude.json").read_text())
    state["projects"] = {}  # nothing trusted beforehand: cao answers the trust dialog
    (claude_env / ".claude.json").write_text(json.dumps(state))
    claude = launch(api, workdir)
    assert claude["status"] == "idle", claude  # cao saw Claude's tools/list on /mcp
    assert_token_only_in_its_config(api, settings, claude, "mcp.json")
    other = api.request("POST", "/sessions/cc/terminals", timeout=60,
                        params={"agent_profile": "developer", "provider": "mock", "working_directory": str(workdir)})
    model.set_rules([
        {"match": "tell the other terminal", "needs_tools": True, "tool": "send_message",
         "args": {"message": "hello over http", "receiver_id": other["id"]}},
        {"on_tool_result": ".", "text": "Sent: {{tool_result}}"},
    ])
    assert send(api, claude["id"], "please tell the other terminal hello")["status"] == "completed"
    received = retry_until(lambda: api.get(f"/terminals/{other['id']}/inbox/messages", limit=10), 30, 0.1,
                           message="the message from Claude arrives")
    assert [(m["sender_id"], m["message"]) for m in received] == [(claude["id"], "hello over http")]
    assert [r["reply_tool"] for r in model.requests() if r["reply_tool"]] == ["mcp__cao__send_message"]


def test_a_reply_longer_than_the_screen_is_whole(api: ApiClient, model: ModelServer, workdir: Path) -> None:
    reply = "\n".join(f"Row {n} of the long reply." for n in range(1, 201))  # its echo scrolls off the screen
    model.set_rules([{"match": "a long reply", "text": reply}])
    tid = launch(api, workdir)["id"]
    done = send(api, tid, "send a long reply")
    assert done["status"] == "completed", done
    assert last_reply(api, tid) == reply


def test_esc_mid_turn_is_interrupted_not_completed(api: ApiClient, model: ModelServer, workdir: Path) -> None:
    model.set_rules([{"match": "take your time", "delay": 60, "text": "too late"}])
    tid = launch(api, workdir)["id"]
    assert send(api, tid, "hello there")["status"] == "completed"
    turn = api.request("POST", f"/terminals/{tid}/input", body={"message": "take your time"})["turn"]
    retry_until(lambda: api.get(f"/terminals/{tid}")["status"] == "processing", 20, message="processing")
    api.request("POST", f"/terminals/{tid}/key", params={"key": "Escape"})
    ended = api.request("GET", f"/terminals/{tid}/wait", params={"turn": turn, "timeout": TURN_TIMEOUT},
                        timeout=TURN_TIMEOUT + 10)
    assert ended["status"] == "idle" and ended["last_turn_interrupted"], ended
    assert last_reply(api, tid) == ""  # not "OK: hello there", the previous turn's reply
    model.set_rules([])
    # Both versions put the message back into the box; clear it, and the previous turn's screen is back.
    api.request("POST", f"/terminals/{tid}/key", params={"key": "C-u"})
    retry_until(lambda: api.get(f"/terminals/{tid}")["status"] == "completed", 20, 0.1, message="the box is empty")
    assert api.get(f"/terminals/{tid}")["last_turn_interrupted"]  # still: no turn has ended since
    after = send(api, tid, "and now?")
    assert after["status"] == "completed" and not after["last_turn_interrupted"], after
    assert last_reply(api, tid) == "OK: and now?"

