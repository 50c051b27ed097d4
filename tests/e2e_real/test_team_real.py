"""A team file run by real CLIs: a Claude Code root hands off to a Codex reviewer whose structured output
comes back as data, against the scripted model server (both CLIs talk to it, and to cao over MCP)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cao.client import ApiClient
from cao.settings import Settings
from tests.conftest import ServerProcess
from tests.e2e_real.conftest import ModelServer
from tests.e2e_real.test_claude_code import KEY as CLAUDE_KEY
from tests.e2e_real.test_claude_code import _check_no_leftovers
from tests.helpers import last_reply
from tests.screens.record_codex import seed_codex_home

pytestmark = pytest.mark.e2e_real
CODEX_KEY_VAR = "SCRIPTED_MODEL_KEY"
TEAM = """\
models:
  lead:  # Claude Code finds the scripted model server through this base_url alone (no ANTHROPIC_BASE_URL)
    provider: anthropic
    model: claude-sonnet-4-5
    base_url: MODEL_URL
agents:
  root:
    model: lead
    description: Leads reviews
    instruction: You lead code reviews with cao's tools.
    sub_agents: [reviewer]
    hooks:
      pre_tool_use:
        - {type: command, command: "HOOK_COMMAND", matcher: "mcp__cao__.*", timeout: 10}
  reviewer:
    model: openai/gpt-5.1-codex
    description: Reviews a change
    instruction: You review code changes.
    structured_output:
      name: review
      schema:
        type: object
        properties:
          verdict: {type: string, enum: [approve, request_changes]}
          issues: {type: array, items: {type: string}}
        required: [verdict, issues]
"""
RULES = [
    {"match": "REVIEW-REQUEST", "needs_tools": True, "times": 1, "tool": "handoff_reviewer",
     "args": {"message": "CODEX-REVIEW: the parser change", "timeout": 120}},
    {"match": "CODEX-REVIEW", "needs_tools": True, "text": "Here is my review: I found one problem."},
    {"match": "not valid review output", "needs_tools": True,
     "text": '{"verdict": "request_changes", "issues": ["no test for empty input"]}'},
    {"on_tool_result": "verdict", "text": "FINAL {{tool_result}}"},
]


@pytest.fixture
def team_env(real_home: Path, model: ModelServer, workdir: Path, settings: Settings,
             monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    # A returning Claude Code user: onboarding done, the key approved; the project folder is new to it.
    (real_home / ".claude.json").write_text(json.dumps({
        "hasCompletedOnboarding": True, "theme": "dark", "numStartups": 5,
        "customApiKeyResponses": {"approved": [CLAUDE_KEY[-20:]], "rejected": []}}))
    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)
    monkeypatch.setenv("ANTHROPIC_API_KEY", CLAUDE_KEY)
    seed_codex_home(real_home, model.url, key_var=CODEX_KEY_VAR)
    monkeypatch.setenv(CODEX_KEY_VAR, "sk-scripted")
    yield real_home
    subprocess.run(["tmux", "-L", settings.tmux_socket or "", "kill-server"], capture_output=True, check=False)
    _check_no_leftovers(real_home, ignore={os.getpid(), model.process.pid})


@pytest.fixture
def api(team_env: Path, real_server: ServerProcess) -> ApiClient:
    return real_server.client


def test_claude_root_gets_codex_structured_output_fixed_on_the_second_ask_and_runs_its_hook(
        api: ApiClient, model: ModelServer, workdir: Path, tmp_path: Path) -> None:
    model.set_rules(RULES)
    seen = tmp_path / "pre_tool_use.json"
    hook = tmp_path / "hook.py"
    hook.write_text(f"import sys; open({str(seen)!r}, 'a').write(sys.stdin.read() + '\\n')")
    team_file = tmp_path / "team.yaml"
    team_file.write_text(TEAM.replace("HOOK_COMMAND", f"{sys.executable} {hook}").replace("MODEL_URL", model.url))
    root = api.request("POST", "/teams/launch", timeout=120, body={
        "file": str(team_file), "session_name": "team", "working_directory": str(workdir)})["terminal"]
    assert root["provider"] == "claude_code" and root["model"] == "claude-sonnet-4-5"
    api.request("POST", f"/terminals/{root['id']}/input", body={"message": "REVIEW-REQUEST for the parser"})
    api.request("GET", "/sessions/team/wait", params={"timeout": 240}, timeout=260)

    reply = last_reply(api, root["id"])  # Claude Code passes the structured result on as compact JSON
    assert reply.startswith("FINAL ")
    assert json.loads(reply.removeprefix("FINAL ")) == {"verdict": "request_changes",
                                                        "issues": ["no test for empty input"]}
    requests = model.requests()
    codex = [r for r in requests if r["api"] == "openai"]
    assert any("CODEX-REVIEW" in r["text"] for r in codex)
    assert any("Your reply is not valid review output: it is not a JSON object" in r["text"] for r in codex)
    claude_tools = {t for r in requests if r["api"] == "anthropic" for t in r["tools"]}
    assert any(t.endswith("handoff_reviewer") for t in claude_tools)
    # The root's pre_tool_use hook ran in Claude Code's own hook system, with the tool call on stdin.
    calls = [json.loads(line) for line in seen.read_text().splitlines() if line.strip()]
    assert [c["tool_name"] for c in calls] == ["mcp__cao__handoff_reviewer"]
    assert calls[0]["hook_event_name"] == "PreToolUse"
    assert calls[0]["tool_input"]["message"] == "CODEX-REVIEW: the parser change"
