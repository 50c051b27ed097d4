"""The plugin cao writes for an OpenCode member's tool hooks, run by Node as OpenCode would call it: each
matching hook gets the call's JSON on stdin, and a ``pre_tool_use`` hook that exits 2 fails the call with
its stderr. (tests/e2e_real/test_team_tool_hooks.py runs it inside the real OpenCode.)"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cao.providers.opencode_hooks import tool_hooks_plugin

HOOK = """\
import json, sys
with open(sys.argv[2], "a") as seen:
    seen.write(json.dumps(json.load(sys.stdin)) + "\\n")
print("not this one", file=sys.stderr)
sys.exit(int(sys.argv[1]))
"""
CALLS = """\
import { CaoToolHooks } from "./plugin.mjs";
const hooks = await CaoToolHooks();
for (const tool of JSON.parse(process.argv[2])) {
  try {
    await hooks["tool.execute.before"]({ tool, sessionID: "s1", callID: "c1" }, { args: { command: "$(rm x); 'y'" } });
    console.log(JSON.stringify([tool, "ran"]));
  } catch (error) {
    console.log(JSON.stringify([tool, error.message]));
  }
}
"""


def calls(tmp_path: Path, exit_code: int, matcher: str, tools: list[str]) -> tuple[list[list[str]], list[dict]]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("needs node")
    hook, seen = tmp_path / "hook.py", tmp_path / "seen.jsonl"
    hook.write_text(HOOK)
    plugin = tool_hooks_plugin({"pre_tool_use": [{"command": f"{sys.executable} {hook}", "args": [str(exit_code),
                                                  str(seen)], "matcher": matcher, "timeout": 30}]})
    assert plugin is not None
    (tmp_path / "plugin.mjs").write_text(plugin)
    (tmp_path / "calls.mjs").write_text(CALLS)
    done = subprocess.run([node, str(tmp_path / "calls.mjs"), json.dumps(tools)], capture_output=True, text=True,
                          timeout=60, check=True)
    events = [json.loads(line) for line in seen.read_text().splitlines()] if seen.exists() else []
    return [json.loads(line) for line in done.stdout.splitlines()], events


def test_a_pre_tool_hook_that_exits_2_fails_the_call_with_its_stderr(tmp_path: Path) -> None:
    results, events = calls(tmp_path, 2, "^bash$", ["bash", "read"])
    assert results == [["bash", "not this one"], ["read", "ran"]]  # read: not matched, no hook
    assert events == [{"hook_event_name": "tool.execute.before", "session_id": "s1", "call_id": "c1",
                       "tool_name": "bash", "tool_input": {"command": "$(rm x); 'y'"}}]  # on stdin, not in argv


def test_another_exit_code_lets_the_call_run(tmp_path: Path) -> None:
    results, events = calls(tmp_path, 1, "", ["bash", "cao_send_message"])
    assert results == [["bash", "ran"], ["cao_send_message", "ran"]] and len(events) == 2


def test_a_matcher_that_is_no_regex_is_a_tool_name(tmp_path: Path) -> None:
    results, _ = calls(tmp_path, 2, "(bash", ["bash", "(bash"])
    assert results == [["bash", "ran"], ["(bash", "not this one"]]
