"""handoff, assign and send_message end to end: real server, tmux, MCP over HTTP, mock agents as MCP clients.

Where a test calls a tool itself it speaks MCP as the supervisor terminal (the SDK client, with the
terminal's own token), exactly as the agent does: there is no route that takes a caller id.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from cao.client import ApiClient
from cao.errors import CaoError
from cao.settings import Settings
from tests.conftest import retry_until
from tests.helpers import last_reply, launch, send_and_wait, tmux, tmux_sessions
from tests.mcp_helpers import call_tool

WORKERS = [
    {"agent": "developer", "match": "long report", "steps": [{"reply_size": 102400}]},
    {"agent": "developer", "match": "die", "steps": [{"exit": 3}]},
    {"agent": "developer", "match": "dawdle", "steps": [{"wait": 30}, {"reply": "too late"}]},
    {"agent": "developer", "match": "part", "steps": [
        {"wait": 0.3}, {"reply": "done {{body}}"},
        {"tool": "send_message", "args": {"message": "result of {{body}}"}}]},
    {"agent": "reviewer", "match": "review", "steps": [{"reply": "review ok: {{body}}"}]},
]
SUPERVISOR = [
    {"agent": "code_supervisor", "match": "fan out", "steps": [
        *({"tool": "assign", "args": {"agent_profile": "developer", "message": f"part {i}"}} for i in range(1, 6)),
        {"reply": "assigned five"}]},
    {"agent": "code_supervisor", "match": "ask the reviewer", "steps": [
        {"tool": "handoff", "args": {"agent_profile": "reviewer", "message": "review the plan"}},
        {"reply": "reviewer said: {{tool_result}}"}]},
    {"agent": "code_supervisor", "match": "result of", "steps": [
        {"collect": "results", "count": 5, "reply": "FINAL\n{{collected}}"}]},
]


@pytest.fixture
def team(api: ApiClient, workdir: Path, tmp_path: Path) -> dict:
    script = tmp_path / "team.json"
    script.write_text(json.dumps({"rules": SUPERVISOR + WORKERS}))
    return launch(api, workdir, profile="code_supervisor", env={"CAO_MOCK_SCRIPT": str(script)})


def handoff(api: ApiClient, caller: str, message: str, timeout: float = 60) -> str:
    """The handoff tool as ``caller``; its reply, or the tool's error raised as CaoError."""
    text, is_error = call_tool(api, caller, "handoff", {"agent_profile": "developer", "message": message,
                                                        "timeout": timeout}, timeout=timeout + 60)
    if is_error:
        raise CaoError(text)
    return text


def assign(api: ApiClient, caller: str, message: str) -> str:
    """The assign tool as ``caller``; the worker's id."""
    text, is_error = call_tool(api, caller, "assign", {"agent_profile": "developer", "message": message})
    assert not is_error, text
    return re.search(r"terminal ([a-f0-9]{8})", text).group(1)


def test_handoff_returns_a_100kb_reply_whole_and_removes_the_worker(
    api: ApiClient, settings: Settings, team: dict
) -> None:
    before = {t["id"] for t in api.get("/sessions/t1")["terminals"]}
    output = handoff(api, team["id"], "write the long report")
    assert len(output.encode()) >= 100_000
    assert output.rstrip().endswith("END OF LONG REPLY")
    assert "esc to interrupt" not in output and "? for shortcuts" not in output
    detail = api.get("/sessions/t1")
    assert [t["id"] for t in detail["terminals"]] == [team["id"]]  # the worker's window is gone
    (snapshot,) = [p for p in settings.terminal_logs_dir.glob("*.snapshot.json") if p.name[:8] not in before]
    assert json.loads(snapshot.read_text())["caller_id"] == team["id"]


def test_agent_handoff_through_mcp(api: ApiClient, team: dict) -> None:
    final = send_and_wait(api, team["id"], "ask the reviewer", timeout=60)
    assert final["status"] == "completed"
    assert "reviewer said: review ok: review the plan" in last_reply(api, team["id"])


def test_worker_dying_mid_task_is_an_error_naming_it_and_is_kept(api: ApiClient, settings: Settings,
                                                                team: dict) -> None:
    with pytest.raises(CaoError, match=r"worker [a-f0-9]{8} \(developer.*stopped: the agent exited"):
        handoff(api, team["id"], "please die")
    workers = [t for t in api.get("/sessions/t1")["terminals"] if t["id"] != team["id"]]
    assert len(workers) == 1 and workers[0]["exit_reason"]
    api.request("DELETE", "/sessions/t1")
    assert tmux_sessions(settings) == []


def test_handoff_timeout_keeps_the_worker(api: ApiClient, team: dict) -> None:
    with pytest.raises(CaoError, match="did not finish within 1s; it is kept"):
        handoff(api, team["id"], "dawdle", timeout=1)
    workers = [t for t in api.get("/sessions/t1")["terminals"] if t["id"] != team["id"]]
    assert workers[0]["status"] == "processing" and workers[0]["caller_id"] == team["id"]


def test_assign_returns_before_the_work_and_the_callback_arrives_when_idle(api: ApiClient, team: dict) -> None:
    worker = assign(api, team["id"], "part 9")
    assert api.get(f"/terminals/{worker}")["caller_id"] == team["id"]
    assert api.get(f"/terminals/{team['id']}/inbox/messages") == []  # the work has not happened yet
    callback = retry_until(lambda: api.get(f"/terminals/{team['id']}/inbox/messages", status="delivered"), 30,
                           message="callback delivered")
    assert callback[0]["sender_id"] == worker
    assert callback[0]["message"] == "result of part 9"


def test_five_parallel_assigns_all_report_back(api: ApiClient, team: dict) -> None:
    send_and_wait(api, team["id"], "fan out", timeout=60)
    tree = api.get("/sessions/t1")["tree"]
    assert len(tree) == 1 and len(tree[0]["children"]) == 5
    final = retry_until(lambda: "FINAL" in (reply := last_reply(api, team["id"])) and reply, 90,
                        message="supervisor collected five results")
    for i in range(1, 6):
        assert f"result of part {i}" in final
    delivered = api.get(f"/terminals/{team['id']}/inbox/messages", status="delivered", limit=100)
    assert sorted(m["message"] for m in delivered) == [f"result of part {i}" for i in range(1, 6)]


def test_delete_terminal_and_restore(api: ApiClient, settings: Settings, team: dict) -> None:
    worker = assign(api, team["id"], "part 7")
    retry_until(lambda: api.get(f"/terminals/{team['id']}/inbox/messages", status="delivered"), 30)
    text, is_error = call_tool(api, team["id"], "delete_terminal", {"terminal_id": worker})
    assert not is_error, text
    restored = api.request("POST", f"/terminals/{worker}/restore")
    assert restored["window_name"].startswith("restored-developer-")
    windows = tmux(settings, "list-windows", "-t", "cao-t1", "-F", "#{window_name}").stdout.split()
    assert restored["window_name"] in windows
    pane_text = retry_until(lambda: "part 7" in (t := tmux(settings, "capture-pane", "-p", "-J", "-S", "-", "-t",
                                                            f"cao-t1:{restored['window_name']}").stdout) and t)
    assert "result of part 7" in pane_text or "done part 7" in pane_text
