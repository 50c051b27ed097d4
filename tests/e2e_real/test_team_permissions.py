"""A team member's ``permissions`` hold in the real CLIs (docs/teams.md#permissions).

A deny holds in yolo mode and without it: the model asks the CLI's shell to ``rm`` a file and then to
``touch`` another; the first is refused by the CLI itself, the second runs (the shell works, only the
denied command does not). An allow runs a command without the question the CLI would ask otherwise.
The private HOMEs are a returning user's (tests/e2e_real/test_tool_restrictions.py); the folder is not
pre-trusted.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cao.client import ApiClient
from tests.conftest import ServerProcess
from tests.e2e_real.conftest import ModelServer
from tests.e2e_real.test_tool_restrictions import Cli, returning_user_cli
from tests.helpers import last_reply, screen, send_and_wait

pytestmark = pytest.mark.e2e_real
MODELS = {"claude_code": "anthropic/claude-sonnet-4-5", "gemini_cli": "google/gemini-2.5-pro",
          "codex": "openai/gpt-5.1-codex", "qwen_code": "qwen_code/fake-model",
          "opencode": "opencode/fake/fake-model", "copilot_cli": "copilot_cli/gpt-4o"}
TEAM = """\
agents:
  root:
    model: {model}
    instruction: You keep the folder tidy.
    permissions:
{permissions}
"""


cli = returning_user_cli(MODELS)


@pytest.fixture
def api(cli: Cli, real_server: ServerProcess) -> ApiClient:
    return real_server.client


def launch(api: ApiClient, cli: Cli, tmp_path: Path, workdir: Path, yolo: bool, **commands: str) -> str:
    """The team's member with ``shell:cmd=<command>*`` in each of its lists (``allow=``, ``deny=``)."""
    team = tmp_path / "team.yaml"
    lists = "\n".join(f'      {key}: ["shell:cmd={command}*"]' for key, command in commands.items())
    team.write_text(TEAM.format(model=MODELS[cli.provider], permissions=lists))
    launched = api.request("POST", "/teams/launch", timeout=120, body={
        "file": str(team), "session_name": "perms", "working_directory": str(workdir), "yolo": yolo})
    assert launched["warnings"] == [], launched["warnings"]
    tid = launched["terminal"]["id"]
    # The CLI took the rules as written (Gemini draws a rule it rejects as "✕ … Policy file error").
    assert "Policy file error" not in screen(api, tid), screen(api, tid)
    return tid


def shell_call(cli: Cli, command: str, **rule: object) -> dict:
    return {"needs_tools": True, "times": 1, "tool": cli.shell_tool, "args": cli.shell_args(command), **rule}


def test_a_denied_command_is_refused_under_yolo_while_the_shell_still_works(
        api: ApiClient, cli: Cli, model: ModelServer, workdir: Path, tmp_path: Path) -> None:
    victim, made = workdir / "victim.txt", workdir / "made.txt"
    victim.write_text("keep me\n")
    model.set_rules([shell_call(cli, f"rm {victim}", match="^clean up$"),
                     shell_call(cli, f"touch {made}", on_tool_result="."),
                     {"on_tool_result": ".", "text": "Tidy: {{tool_result}}"}])
    tid = launch(api, cli, tmp_path, workdir, yolo=True, deny="rm")
    final = send_and_wait(api, tid, "clean up", timeout=150)
    assert final["status"] == "completed", (final, screen(api, tid))
    assert made.exists(), screen(api, tid)  # the second call ran: the shell is there and runs unasked
    assert victim.read_text() == "keep me\n", screen(api, tid)
    assert last_reply(api, tid).startswith("Tidy:"), screen(api, tid)


def test_a_denied_command_is_refused_without_yolo_and_never_asked_about(
        api: ApiClient, cli: Cli, model: ModelServer, workdir: Path, tmp_path: Path) -> None:
    """Without yolo too: no question for the denied command (nobody could allow it), the allowed one runs."""
    victim, made = workdir / "victim.txt", workdir / "made.txt"
    victim.write_text("keep me\n")
    model.set_rules([shell_call(cli, f"rm {victim}", match="^clean up$"),
                     shell_call(cli, f"touch {made}", on_tool_result="."),
                     {"on_tool_result": ".", "text": "Tidy: {{tool_result}}"}])
    tid = launch(api, cli, tmp_path, workdir, yolo=False, allow="touch", deny="rm")
    final = send_and_wait(api, tid, "clean up", timeout=150)
    assert final["status"] == "completed", (final, screen(api, tid))
    assert made.exists(), screen(api, tid)
    assert victim.read_text() == "keep me\n", screen(api, tid)
    assert last_reply(api, tid).startswith("Tidy:"), screen(api, tid)


def test_an_allowed_command_runs_without_the_question(api: ApiClient, cli: Cli, model: ModelServer,
                                                      workdir: Path, tmp_path: Path) -> None:
    made = workdir / "allowed.txt"
    model.set_rules([shell_call(cli, f"touch {made}", match="^make it$"),
                     {"on_tool_result": ".", "text": "Made: {{tool_result}}"}])
    tid = launch(api, cli, tmp_path, workdir, yolo=False, allow="touch")
    final = send_and_wait(api, tid, "make it", timeout=150)
    assert final["status"] == "completed", (final, screen(api, tid))  # not waiting_user_answer
    assert made.exists(), screen(api, tid)
