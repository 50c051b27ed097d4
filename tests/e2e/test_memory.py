"""Memory end to end: a real cao-server, tmux and mock agents that call memory_store/recall/forget through
cao's MCP endpoint as themselves; the next terminal gets the memories in its system prompt; the owner
reads and forgets them with `cao memory` and /memory."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
from pathlib import Path

import pytest
from mcp import ClientSession

from cao.client import ApiClient
from cao.errors import NotFound
from cao.settings import Settings
from tests.conftest import ServerProcess, retry_until
from tests.helpers import last_reply, launch, send_and_wait
from tests.mcp_helpers import call_tool, run_as

TOKEN = "ghp_0123456789abcdefABCDEF0123456789abcd"  # a fake key of GitHub's shape
RULES = [
    {"match": "store-build", "steps": [
        {"tool": "memory_store", "args": {"content": "Build with: make all -j8", "key": "build-command"}},
        {"reply": "STORED {{tool_result}}"}]},
    {"match": "store-session", "steps": [
        {"tool": "memory_store", "args": {"content": "Reviewing pull request 42 today", "key": "pr-review",
                                          "scope": "session"}},
        {"reply": "STORED {{tool_result}}"}]},
    {"match": "store-secret", "steps": [
        {"tool": "memory_store", "args": {"content": f"deploy with token {TOKEN}", "key": "deploy"}},
        {"reply": "STORED {{tool_result}}"}]},
    {"match": "store-bad", "steps": [
        {"tool": "memory_store", "args": {"content": "x", "key": "Bad Key"}, "on_error": "continue"},
        {"reply": "BAD {{tool_result}}"}]},
    {"match": "recall", "steps": [
        {"tool": "memory_recall", "args": {"query": "how to build"}}, {"reply": "RECALLED {{tool_result}}"}]},
    {"match": "prompt", "steps": [{"reply": "PROMPT {{system_prompt}}"}]},
]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A git repository with a remote: its memories belong to the project example.com/team/app."""
    path = tmp_path / "app"
    path.mkdir()
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    subprocess.run(["git", "-C", str(path), "remote", "add", "origin", "git@example.com:team/app.git"], check=True)
    return path


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "memory.json"
    path.write_text(json.dumps({"rules": RULES}))
    return path


def reply_to(api: ApiClient, terminal: dict, task: str) -> str:
    send_and_wait(api, terminal["id"], task)
    return retry_until(lambda: last_reply(api, terminal["id"]), message=f"a reply to {task}")


def test_agents_store_and_recall_in_their_own_scopes_and_new_terminals_are_told(
        api: ApiClient, settings: Settings, project: Path, script: Path) -> None:
    env = {"CAO_MOCK_SCRIPT": str(script)}
    first = launch(api, project, session="t1", env=env)
    assert '"action": "created"' in reply_to(api, first, "store-build")
    assert '"scope": "session"' in reply_to(api, first, "store-session")
    stored = reply_to(api, first, "store-secret")
    assert '"masked_secrets": ["github-token"]' in stored and TOKEN not in stored
    assert "invalid memory key 'Bad Key'" in reply_to(api, first, "store-bad")

    memories = {m["key"]: m for m in api.get("/memory")}
    assert sorted(memories) == ["build-command", "deploy", "pr-review"]
    assert memories["build-command"]["scope_id"] == "example.com/team/app"
    assert memories["build-command"]["created_by"] == first["id"]
    assert memories["pr-review"]["scope_id"] == "cao-t1"
    assert memories["deploy"]["content"] == "deploy with token [secret:github-token]"

    recalled = reply_to(api, first, "recall")
    assert recalled.startswith("RECALLED") and '"key": "build-command"' in recalled

    # A terminal of another session in the same project is told the project's memories, not t1's session's.
    second = launch(api, project, session="t2", env=env, profile="reviewer")
    told = reply_to(api, second, "prompt")
    assert "<cao-memory>" in told and "- [project] build-command: Build with: make all -j8" in told
    assert "pr-review" not in told and TOKEN not in told
    found, error = call_tool(api, second["id"], "memory_recall", {"query": "pull request review"})
    assert not error and json.loads(found)["memories"] == []  # t1's session memory is not t2's
    text, error = call_tool(api, second["id"], "memory_forget", {"key": "pr-review"})
    assert error and "no memory 'pr-review' in your scopes" in text
    text, error = call_tool(api, second["id"], "memory_store", {"content": "z" * (17 * 1024)})
    assert error and "memory content is too long" in text
    text, error = call_tool(api, second["id"], "memory_recall", {"query": "x", "scope": "team"})
    assert error and "'scope' must be one of 'session', 'project', 'agent', 'global'" in text
    text, error = call_tool(api, second["id"], "memory_store", {"content": "reviewers check tests", "scope": "agent"})
    assert not error and json.loads(text)["scope_id"] == "reviewer"

    text, error = call_tool(api, first["id"], "memory_forget", {"key": "build-command"})
    assert not error and json.loads(text) == {"success": True, "deleted": True, "key": "build-command",
                                              "scope": "project"}
    assert "build-command" not in {m["key"] for m in api.get("/memory")}

    # Removing a session drops its memories; the others stay.
    api.request("DELETE", "/sessions/t1", timeout=30)
    retry_until(lambda: api.get("/memory", scope="session") == [], message="t1's session memories are dropped")
    assert sorted(m["key"] for m in api.get("/memory")) == ["deploy", "reviewers-check-tests"]

    # A terminal's token opens only /mcp, never the owner's /memory.
    token = api.get(f"/terminals/{second['id']}/mcp-config")["headers"]["Authorization"]
    conn = http.client.HTTPConnection(settings.api_host, settings.api_port, timeout=10)
    conn.request("GET", "/memory", headers={"Authorization": token})
    assert conn.getresponse().status == 403


def test_with_memory_off_there_are_no_memory_tools(monkeypatch: pytest.MonkeyPatch, workdir: Path) -> None:
    monkeypatch.setenv("CAO_MEMORY", "off")
    server = ServerProcess(Settings.from_env())
    server.start()
    try:
        terminal = launch(server.client, workdir)

        async def names(session: ClientSession) -> list[str]:
            return [tool.name for tool in (await session.list_tools()).tools]

        tools = run_as(server.client, terminal["id"], names)
        assert "send_message" in tools and not [name for name in tools if name.startswith("memory_")]
    finally:
        server.stop()


def cao(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cao", "memory", *args], capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)


def test_cao_memory_list_show_forget_clear(api: ApiClient, project: Path) -> None:
    terminal = launch(api, project, session="c1")
    for args in ({"content": "Tests: uv run pytest -q", "key": "tests"},
                 {"content": "Session tests are flaky on CI", "key": "tests", "scope": "session"},
                 {"content": "Always write docs", "key": "docs", "scope": "global"}):
        _, error = call_tool(api, terminal["id"], "memory_store", args)
        assert not error

    listed = cao("list")
    assert listed.returncode == 0, listed.stderr
    rows = listed.stdout.splitlines()
    assert rows[0].split() == ["KEY", "SCOPE", "OF", "UPDATED", "CONTENT"]
    assert [row.split()[:2] for row in rows[1:]] == [["docs", "global"], ["tests", "session"], ["tests", "project"]]
    as_json = json.loads(cao("list", "--scope", "project", "--json").stdout)
    assert [(m["key"], m["scope_id"]) for m in as_json] == [("tests", "example.com/team/app")]

    shown = cao("show", "tests")
    assert shown.returncode == 0 and "Tests: uv run pytest -q" in shown.stdout and "flaky on CI" in shown.stdout
    missing = cao("show", "nothing-here")
    assert missing.returncode == 1 and "no memory 'nothing-here'" in missing.stderr
    bad = cao("show", "Bad_Key")
    assert bad.returncode == 1 and "invalid memory key 'Bad_Key'" in bad.stderr

    ambiguous = cao("forget", "tests")
    assert ambiguous.returncode == 1 and "2 memories have the key 'tests'" in ambiguous.stderr
    assert "--scope" in ambiguous.stderr
    gone = cao("forget", "tests", "--scope", "session")
    assert gone.returncode == 0 and "Forgot tests [session cao-c1]." in gone.stdout
    assert [m["scope"] for m in api.get("/memory/tests")] == ["project"]

    no_scope = cao("clear")
    assert no_scope.returncode == 2 and "--scope" in no_scope.stderr
    cleared = cao("clear", "--scope", "global", "--yes")
    assert cleared.returncode == 0 and "Forgot 1 memory (every global memory)." in cleared.stdout
    with pytest.raises(NotFound):
        api.get("/memory/docs")
    assert "No memories in scope global." in cao("list", "--scope", "global").stdout
