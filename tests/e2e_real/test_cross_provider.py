"""Three real CLIs as one team: a Claude Code supervisor hands off to a Codex worker and assigns a
Gemini worker that replies with send_message; the supervisor answers with both results.

All three talk to the one scripted model server (Anthropic, OpenAI Responses and Gemini APIs) and to
cao through cao-mcp-server.
"""

from __future__ import annotations

import json
import os
import subprocess
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

PROFILES = {
    "cross_supervisor": ("claude_code", "supervisor", "You coordinate workers with cao's tools."),
    "codex_worker": ("codex", "developer", "You compute answers."),
    "gemini_worker": ("gemini_cli", "developer", "You report back with send_message."),
}
RULES = [
    {"match": "gemini says 7", "text": "FINAL: codex says 42 and gemini says 7"},
    {"match": "COORDINATE", "needs_tools": True, "times": 1, "tool": "handoff",
     "args": {"agent_profile": "codex_worker", "message": "CODEX-TASK: compute the answer", "timeout": 120}},
    {"match": "CODEX-TASK", "text": "codex says 42"},
    {"on_tool_result": "codex says 42", "tool": "assign",
     "args": {"agent_profile": "gemini_worker", "message": "GEMINI-TASK: report back"}},
    {"match": "GEMINI-TASK", "needs_tools": True, "tool": "send_message", "args": {"message": "gemini says 7"}},
    {"on_tool_result": "queued for terminal", "text": "gemini done"},
    {"on_tool_result": "Assigned to terminal", "text": "waiting for the gemini worker; codex says 42"},
]


@pytest.fixture
def team_env(real_home: Path, model: ModelServer, workdir: Path, settings: Settings,
             monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every CLI configured the way a returning user's machine is, before cao-server starts."""
    (real_home / ".claude.json").write_text(json.dumps({
        "hasCompletedOnboarding": True, "theme": "dark", "numStartups": 5,
        "customApiKeyResponses": {"approved": [CLAUDE_KEY[-20:]], "rejected": []},
        "projects": {str(workdir): {"hasTrustDialogAccepted": True}}}))
    monkeypatch.setenv("ANTHROPIC_BASE_URL", model.url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", CLAUDE_KEY)
    seed_codex_home(real_home, model.url, key_var=CODEX_KEY_VAR)
    monkeypatch.setenv(CODEX_KEY_VAR, "sk-scripted")
    gemini = real_home / ".gemini"
    gemini.mkdir()
    (gemini / "settings.json").write_text(json.dumps({"security": {"auth": {"selectedType": "gemini-api-key"}}}))
    (gemini / "trustedFolders.json").write_text(json.dumps({str(workdir): "TRUST_FOLDER"}))
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", model.url)
    monkeypatch.setenv("GEMINI_API_KEY", "fake-gemini-key")
    store = settings.agent_store_dir
    store.mkdir(parents=True, exist_ok=True)
    for name, (provider, role, prompt) in PROFILES.items():
        (store / f"{name}.md").write_text(
            f"---\nname: {name}\ndescription: {name}\nprovider: {provider}\nrole: {role}\n---\n{prompt}\n")
    yield real_home
    subprocess.run(["tmux", "-L", settings.tmux_socket or "", "kill-server"], capture_output=True, check=False)
    _check_no_leftovers(real_home, ignore={os.getpid(), model.process.pid})


@pytest.fixture
def api(team_env: Path, real_server: ServerProcess) -> ApiClient:
    return real_server.client


def test_claude_supervisor_hands_off_to_codex_and_assigns_gemini(api: ApiClient, model: ModelServer,
                                                                  workdir: Path) -> None:
    model.set_rules(RULES)
    supervisor = api.request("POST", "/sessions", timeout=90, params={
        "agent_profile": "cross_supervisor", "session_name": "team", "working_directory": str(workdir)})
    assert supervisor["provider"] == "claude_code"  # from the profile
    api.request("POST", f"/terminals/{supervisor['id']}/input", body={"message": "COORDINATE the team"})
    detail = api.request("GET", "/sessions/team/wait", params={"timeout": 240}, timeout=260)

    assert last_reply(api, supervisor["id"]) == "FINAL: codex says 42 and gemini says 7"
    workers = [t for t in detail["terminals"] if t["id"] != supervisor["id"]]
    assert [(t["provider"], t["caller_id"]) for t in workers] == [("gemini_cli", supervisor["id"])]  # codex removed
    apis = {entry["api"] for entry in model.requests()}
    assert apis == {"anthropic", "openai", "gemini"}
    inbox = api.get(f"/terminals/{supervisor['id']}/inbox/messages", status="delivered")
    assert [m["message"] for m in inbox] == ["gemini says 7"]
    assert inbox[0]["sender_id"] == workers[0]["id"]
