"""The real Claude Code as the agent *outside* cao: configured with cao-ops-mcp-server in its own MCP config
(as docs/control-planes.md shows), against the scripted model, it launches a cao session with a mock
agent, gives it a task, waits, and reads the reply — which it then answers the user with."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cao.client import ApiClient
from tests.conftest import ServerProcess
from tests.e2e_real.conftest import ModelServer, cli_version_fixture

pytestmark = pytest.mark.e2e_real
KEY = "sk-ant-fake-key-0123456789abcdef"
ASK = "Use cao to get the sum of 2 and 3 from a developer agent"
TASK = "add 2 and 3"
claude_version = cli_version_fixture("@anthropic-ai/claude-code")  # each version in the table


def _rules() -> list[dict]:
    return [
        {"match": "use cao to", "needs_tools": True, "times": 1, "tool": "launch_session",
         "args": {"agent_profile": "developer", "provider": "mock", "session_name": "outside",
                  "initial_message": TASK}},
        {"on_tool_result": "Session 'cao-outside' launched", "tool": "wait_for_session",
         "args": {"session_name": "outside", "timeout": 60}},
        {"on_tool_result": "is quiet", "tool": "read_session_output",
         "args": {"session_name": "outside", "mode": "last"}},
        {"on_tool_result": "Mock reply to", "text": "The cao agent answered: {{tool_result}}"},
    ]


@pytest.fixture
def outside_home(claude_version: str, real_home: Path, model: ModelServer, workdir: Path) -> Path:
    state = {"hasCompletedOnboarding": True, "theme": "dark", "numStartups": 5,
             "customApiKeyResponses": {"approved": [KEY[-20:]], "rejected": []},
             "projects": {str(workdir): {"hasTrustDialogAccepted": True}}}
    (real_home / ".claude.json").write_text(json.dumps(state))
    return real_home


def test_claude_code_drives_cao_through_the_ops_server(outside_home: Path, real_server: ServerProcess,
                                                        model: ModelServer, workdir: Path) -> None:
    api: ApiClient = real_server.client
    model.set_rules(_rules(), default={"text": "ok"})
    ops = Path(sys.executable).parent / "cao-ops-mcp-server"
    config = workdir / "cao-ops.mcp.json"  # the snippet of docs/control-planes.md, with this test's CAO_HOME
    config.write_text(json.dumps({"mcpServers": {"cao-ops": {
        "command": str(ops), "args": [], "alwaysLoad": True,  # 2.1.332 hides MCP tools behind ToolSearch without it
        "env": {key: os.environ[key] for key in ("CAO_HOME", "CAO_API_PORT", "CAO_TMUX_SOCKET")}}}}))
    env = {**os.environ, "ANTHROPIC_BASE_URL": model.url, "ANTHROPIC_API_KEY": KEY}
    result = subprocess.run(
        ["claude", "-p", ASK, "--mcp-config", str(config), "--strict-mcp-config",
         "--allowedTools", "mcp__cao-ops"], cwd=workdir, env=env, capture_output=True, text=True, timeout=240,
        stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr + result.stdout
    assert result.stdout.strip() == f"The cao agent answered: Mock reply to: {TASK}"

    called = [r["tool_result"] for r in model.requests() if r.get("tool_result")]
    assert len(called) == 3, called  # launch, wait, read: each answered by cao, none refused
    session = api.get("/sessions/outside")
    (terminal,) = session["terminals"]
    assert terminal["agent_profile"] == "developer" and terminal["working_directory"] == str(workdir)
    api.request("DELETE", "/sessions/outside", timeout=60)
