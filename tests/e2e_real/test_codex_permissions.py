"""A Codex CLI member's shell allows answer Codex's own question (docs/providers/codex.md): a command that
asks to leave the sandbox (``sandbox_permissions: require_escalated``) is asked about, unless every simple
command of it is allowed by the team, when cao's ``PermissionRequest`` hook answers for it. The private
HOME is a returning user's (tests/e2e_real/test_tool_restrictions.py); the folder is not pre-trusted.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cao.client import ApiClient
from tests.conftest import ServerProcess
from tests.e2e_real.conftest import ModelServer
from tests.e2e_real.test_team_permissions import launch
from tests.e2e_real.test_tool_restrictions import Cli, returning_user_cli
from tests.helpers import last_reply, screen, send_and_wait

pytestmark = pytest.mark.e2e_real
cli = returning_user_cli(["codex"])


@pytest.fixture
def api(cli: Cli, real_server: ServerProcess) -> ApiClient:
    return real_server.client


def escalated(command: str) -> dict:
    return {"match": "^make it$", "needs_tools": True, "times": 1, "tool": "exec_command",
            "args": {"cmd": command, "sandbox_permissions": "require_escalated", "justification": "to make it"}}


def test_an_allowed_command_leaving_the_sandbox_runs_without_the_question(
        api: ApiClient, cli: Cli, model: ModelServer, workdir: Path, tmp_path: Path) -> None:
    made = workdir / "made.txt"
    model.set_rules([escalated(f"touch {made}"), {"on_tool_result": ".", "text": "Made: {{tool_result}}"}])
    tid = launch(api, cli, tmp_path, workdir, yolo=False, allow="touch")
    final = send_and_wait(api, tid, "make it", timeout=150)
    assert final["status"] == "completed", (final, screen(api, tid))  # not waiting_user_answer
    assert made.exists() and last_reply(api, tid).startswith("Made:"), screen(api, tid)


def test_a_command_the_team_does_not_allow_is_still_asked_about(
        api: ApiClient, cli: Cli, model: ModelServer, workdir: Path, tmp_path: Path) -> None:
    made = workdir / "made.txt"
    model.set_rules([escalated(f"touch {made} && git status"), {"on_tool_result": ".", "text": "Made."}])
    tid = launch(api, cli, tmp_path, workdir, yolo=False, allow="touch")  # git status is not allowed
    final = send_and_wait(api, tid, "make it", timeout=150)
    assert final["status"] == "waiting_user_answer", (final, screen(api, tid))
    assert not made.exists(), screen(api, tid)
