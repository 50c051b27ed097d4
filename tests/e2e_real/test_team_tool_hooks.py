"""A team member's ``pre_tool_use``/``post_tool_use`` hooks run in the real CLI's own hook system
(docs/teams.md#hooks): Claude Code's, Qwen Code's and Codex CLI's ``PreToolUse``/``PostToolUse`` (Codex's
trusted for the run by cao, else it stops at "Hooks need review"), Gemini CLI's ``BeforeTool``/``AfterTool``,
OpenCode's ``tool.execute.before``/``after`` (a plugin cao writes for the terminal). The model runs one
shell command; each hook appends the JSON it got on stdin to a file, and a pre-tool hook that exits 2
stops the call, the model told why. The folder is not pre-trusted (cao trusts the folder it was told to
work in for the run, and Gemini runs hooks only in a trusted folder; Qwen runs cao's, which sit in its
system-defaults layer, in any folder).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from cao.client import ApiClient
from tests.conftest import ServerProcess
from tests.e2e_real.conftest import ModelServer
from tests.e2e_real.test_tool_restrictions import Cli, returning_user_cli
from tests.helpers import screen, send_and_wait

pytestmark = pytest.mark.e2e_real
MODELS = {"claude_code": ("anthropic/claude-sonnet-4-5", "PreToolUse", "PostToolUse"),
          "gemini_cli": ("google/gemini-2.5-pro", "BeforeTool", "AfterTool"),
          "qwen_code": ("qwen_code/fake-model", "PreToolUse", "PostToolUse"),
          "opencode": ("opencode/fake/fake-model", "tool.execute.before", "tool.execute.after"),
          "codex": ("openai/gpt-5.1-codex", "PreToolUse", "PostToolUse")}
HOOK_TOOL = {"codex": "Bash"}  # the shell tool's name in the hook's JSON, where it is not the model's
TEAM = """\
agents:
  root:
    model: {model}
    instruction: You run what you are asked to.
    hooks:
      pre_tool_use:
        - {{command: "{python} {hook}", args: [pre, "{exit}", "{seen}"], matcher: "{tool}", timeout: 20}}
      post_tool_use:
        - {{command: "{python} {hook}", args: [post, "0", "{seen}"], matcher: "{tool}", timeout: 20}}
"""
HOOK = """\
import json, sys
event = json.load(sys.stdin)
with open(sys.argv[3], "a") as seen:
    seen.write(json.dumps({"which": sys.argv[1], **event}) + "\\n")
if sys.argv[2] == "2":
    print("blocked by the team's hook", file=sys.stderr)
sys.exit(int(sys.argv[2]))
"""


cli = returning_user_cli(MODELS)


@pytest.fixture
def api(cli: Cli, real_server: ServerProcess) -> ApiClient:
    return real_server.client


def run_one_command(api: ApiClient, cli: Cli, model: ModelServer, workdir: Path, tmp_path: Path,
                    exit_code: int) -> tuple[Path, list[dict], str]:
    made, seen, hook = workdir / "made.txt", tmp_path / "seen.jsonl", tmp_path / "hook.py"
    hook.write_text(HOOK)
    team = tmp_path / "team.yaml"
    team.write_text(TEAM.format(model=MODELS[cli.provider][0], python=sys.executable, hook=hook,
                                exit=exit_code, seen=seen,
                                tool=HOOK_TOOL.get(cli.provider, cli.shell_tool)))
    model.set_rules([{"match": "^make it$", "needs_tools": True, "times": 1, "tool": cli.shell_tool,
                      "args": cli.shell_args(f"touch {made}")},
                     {"on_tool_result": ".", "text": "Done: {{tool_result}}"}])
    launched = api.request("POST", "/teams/launch", timeout=120, body={
        "file": str(team), "session_name": "hooks", "working_directory": str(workdir), "yolo": True})
    assert launched["warnings"] == [], launched["warnings"]
    tid = launched["terminal"]["id"]
    final = send_and_wait(api, tid, "make it", timeout=150)
    assert final["status"] == "completed", (final, screen(api, tid))
    events = [json.loads(line) for line in seen.read_text().splitlines()] if seen.exists() else []
    return made, events, screen(api, tid)


def test_the_hooks_run_around_the_tool_call_with_its_json(api: ApiClient, cli: Cli, model: ModelServer,
                                                          workdir: Path, tmp_path: Path) -> None:
    made, events, shown = run_one_command(api, cli, model, workdir, tmp_path, 0)
    assert made.exists(), shown
    _, pre_name, post_name = MODELS[cli.provider]
    tool = HOOK_TOOL.get(cli.provider, cli.shell_tool)
    assert [(e["which"], e["hook_event_name"], e["tool_name"]) for e in events] == [
        ("pre", pre_name, tool), ("post", post_name, tool)], shown
    assert all(f"touch {made}" in json.dumps(e["tool_input"]) for e in events)


def test_a_pre_tool_hook_that_exits_2_stops_the_call(api: ApiClient, cli: Cli, model: ModelServer,
                                                     workdir: Path, tmp_path: Path) -> None:
    made, events, shown = run_one_command(api, cli, model, workdir, tmp_path, 2)
    assert not made.exists(), shown
    assert [e["which"] for e in events] == ["pre"], shown
    results = [r["tool_result"] for r in model.requests() if r["tool_result"] is not None]
    assert any("blocked by the team's hook" in result for result in results), results  # the model is told why


REDACTING_TEAM = """\
agents:
  root:
    model: {model}
    instruction: You run what you are asked to.
    redact_secrets: true
"""
LEAK = "ghp_" + "Zq7" * 12  # a GitHub token's shape


def test_redact_secrets_stops_a_tool_call_that_carries_a_secret(api: ApiClient, cli: Cli, model: ModelServer,
                                                                workdir: Path, tmp_path: Path) -> None:
    made = workdir / "made.txt"
    team = tmp_path / "team.yaml"
    team.write_text(REDACTING_TEAM.format(model=MODELS[cli.provider][0]))
    model.set_rules([
        {"match": "^leak it$", "needs_tools": True, "times": 1, "tool": cli.shell_tool,
         "args": cli.shell_args(f"echo token={LEAK} > {made}")},
        {"match": "^harmless$", "needs_tools": True, "times": 1, "tool": cli.shell_tool,
         "args": cli.shell_args(f"echo hello > {made}")},
        {"on_tool_result": ".", "text": "Done: {{tool_result}}"}])
    launched = api.request("POST", "/teams/launch", timeout=120, body={
        "file": str(team), "session_name": "guard", "working_directory": str(workdir), "yolo": True})
    tid = launched["terminal"]["id"]
    final = send_and_wait(api, tid, "leak it", timeout=150)
    assert final["status"] == "completed", (final, screen(api, tid))
    assert not made.exists(), screen(api, tid)  # cao's guard stopped the call in the CLI's own hook system
    told = [r["tool_result"] for r in model.requests() if "cao stopped this" in (r.get("tool_result") or "")]
    assert told, screen(api, tid)
    why = told[-1][told[-1].index("cao stopped this"):].split("file that holds it.")[0]
    assert "(github-token)" in why and LEAK not in why, told  # why, masked (Codex adds the model's own command)
    final = send_and_wait(api, tid, "harmless", timeout=150)  # a call without a secret goes on
    assert final["status"] == "completed" and made.read_text() == "hello\n", screen(api, tid)
