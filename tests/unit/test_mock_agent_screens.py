"""MockProvider.detect / extract_last_reply over screens recorded from the real mock agent.

The screens under tests/screens/mock/ come from tests/screens/record_mock.py (real
``python -m cao.mock_agent`` in a private tmux server, ``capture-pane -p``); re-run it
after changing what the mock agent draws.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import NamedTuple

import pytest

from cao.mock_agent.script import ScriptError, Step, parse_script, substitute
from cao.mock_agent.tty import KeyParser
from cao.providers.base import LaunchContext
from cao.providers.mock import MockProvider
from cao.status import Status

SCREENS = Path(__file__).resolve().parents[1] / "screens" / "mock"
LONG_REPLY = "\n".join(f"Line {n} of the long reply" for n in range(1, 101))


def screen(name: str) -> list[str]:
    return (SCREENS / f"{name}.txt").read_text(encoding="utf-8").split("\n")


def rewrap(lines: list[str], width: int) -> list[str]:
    """What a terminal shows after shrinking to ``width`` columns before the agent redraws."""
    out: list[str] = []
    for line in lines:
        out.extend([line[i : i + width] for i in range(0, len(line), width)] or [""])
    return out


class DetectCase(NamedTuple):
    test_id: str
    lines: list[str]
    expected: Status


DETECT_CASES = [
    DetectCase("startup_idle", screen("startup_idle"), Status.IDLE),
    DetectCase("idle_with_half_typed_text", screen("idle_typing"), Status.IDLE),
    DetectCase("multiline_paste_not_yet_sent", screen("multiline_input"), Status.IDLE),
    DetectCase("processing_spinner", screen("processing"), Status.PROCESSING),
    DetectCase("completed", screen("completed"), Status.COMPLETED),
    DetectCase("completed_with_half_typed_text", screen("completed_typing"), Status.COMPLETED),
    DetectCase("completed_with_long_paste_in_box", screen("multiline_input_long"), Status.COMPLETED),
    DetectCase("completed_multiline_task", screen("multiline_completed"), Status.COMPLETED),
    DetectCase("completed_echo_scrolled_off_by_long_reply", screen("long_reply"), Status.COMPLETED),
    DetectCase("completed_after_earlier_error", screen("completed_after_error"), Status.COMPLETED),
    DetectCase("completed_after_resize_redraw", screen("completed_narrow"), Status.COMPLETED),
    DetectCase("completed_rewrapped_before_redraw", rewrap(screen("completed"), 46), Status.COMPLETED),
    DetectCase("completed_lines_not_rstripped", [line + "   " for line in screen("completed")],
               Status.COMPLETED),
    DetectCase("error", screen("error"), Status.ERROR),
    DetectCase("error_with_half_typed_text", screen("error_typing"), Status.ERROR),
    DetectCase("interrupted_is_idle", screen("interrupted"), Status.IDLE),
    DetectCase("unknown_slash_command_is_idle", screen("unknown_command"), Status.IDLE),
    DetectCase("permission_box", screen("permission"), Status.WAITING_USER_ANSWER),
    DetectCase("permission_box_rewrapped", rewrap(screen("permission"), 30), Status.WAITING_USER_ANSWER),
    DetectCase("permission_granted_then_completed", screen("permission_granted"), Status.COMPLETED),
    DetectCase("permission_denied_then_completed", screen("permission_denied"), Status.COMPLETED),
    DetectCase("blank_screen", [""] * 30, Status.UNKNOWN),
    DetectCase("no_lines", [], Status.UNKNOWN),
    DetectCase("shell_after_agent_exit",
               ["$ cao-mock-agent --script s.json", "cao-mock-agent: error: cannot read script", "$"],
               Status.UNKNOWN),
    DetectCase("reply_text_quoting_cues_is_not_a_cue",
               ["> quote", "", "● Here are the cues:", "  ✶ Working… (1s · esc to interrupt)",
                "  ✗ Error: nope", "  Do you want to proceed?", "  ❯ 1. Yes", "",
                "✻ Done in 0.2s", "", "─" * 40, "❯ ", "─" * 40, "  ? for shortcuts"],
               Status.COMPLETED),
]


@pytest.mark.parametrize("case", DETECT_CASES, ids=[c.test_id for c in DETECT_CASES])
def test_detect(case: DetectCase) -> None:
    assert MockProvider().detect(case.lines) == case.expected


class ReplyCase(NamedTuple):
    test_id: str
    lines: list[str]
    expected: str | None


REPLY_CASES = [
    ReplyCase("single_line", screen("completed.scrollback"), "Mock reply to: hello there"),
    ReplyCase("last_of_several_turns", screen("completed_after_error.scrollback"),
              "Mock reply to: second question"),
    ReplyCase("after_permission", screen("permission_granted.scrollback"),
              "Permission granted.\nTask was: please delete the build dir"),
    ReplyCase("hundred_lines_whole", screen("long_reply.scrollback"), LONG_REPLY),
    ReplyCase("multiline_with_blank_line", screen("multiline_completed.scrollback"),
              "Mock reply to: first line of the task\nsecond line\n\nfourth line after a blank"),
    ReplyCase("visible_screen_only", screen("completed_narrow"),
              "Mock reply to: first line of the task\nsecond line\n\nfourth line after a blank"),
    ReplyCase("during_next_turn_is_previous_reply", screen("processing"), "Mock reply to: second question"),
    ReplyCase("none_before_first_reply", screen("startup_idle"), None),
    ReplyCase("none_on_blank", [""] * 5, None),
    ReplyCase("indented_text_and_empty_first_line",
              ["> t", "", "●", "    indented", "  plain", "", "  ⎿  Permission granted: X", ""],
              "\n  indented\nplain"),
]


@pytest.mark.parametrize("case", REPLY_CASES, ids=[c.test_id for c in REPLY_CASES])
def test_extract_last_reply(case: ReplyCase) -> None:
    assert MockProvider().extract_last_reply(case.lines) == case.expected


class LaunchCase(NamedTuple):
    test_id: str
    profile: object
    model: str | None
    yolo: bool
    expected_args: list[str]
    has_prompt_file: bool


LAUNCH_CASES = [
    LaunchCase("bare", None, None, False, ["--mcp-config", "{mcp}"], False),
    LaunchCase("profile_with_prompt", SimpleNamespace(name="dev", system_prompt="Be brief.", model=None),
               None, False, ["--name", "dev", "--system-prompt-file", "{prompt}", "--mcp-config", "{mcp}"], True),
    LaunchCase("blank_prompt_model_yolo", SimpleNamespace(name="rev", system_prompt="  \n", model="x"),
               "big", True, ["--name", "rev", "--mcp-config", "{mcp}", "--model", "big", "--yolo"], False),
]


@pytest.mark.parametrize("case", LAUNCH_CASES, ids=[c.test_id for c in LAUNCH_CASES])
def test_build_launch(case: LaunchCase, tmp_path: Path) -> None:
    ctx = LaunchContext(terminal_id="abcd1234", working_directory=tmp_path, runtime_dir=tmp_path / "rt",
                        profile=case.profile, model=case.model, yolo=case.yolo)  # type: ignore[arg-type]
    spec = MockProvider().build_launch(ctx)
    prompt_path = tmp_path / "rt" / "system_prompt.md"
    mcp_path = tmp_path / "rt" / "mcp.json"
    assert spec.argv[:3] == [sys.executable, "-m", "cao.mock_agent"]
    assert spec.argv[3:] == [a.replace("{prompt}", str(prompt_path)).replace("{mcp}", str(mcp_path))
                             for a in case.expected_args]
    assert spec.uses_cao_mcp
    files = dict(spec.files)
    assert set(json.loads(files.pop(mcp_path))["mcpServers"]) == {"cao"}
    assert files == ({prompt_path: "Be brief."} if case.has_prompt_file else {})


class ScriptCase(NamedTuple):
    test_id: str
    data: object
    error: str


SCRIPT_ERRORS = [
    ScriptCase("not_a_mapping", [], "top level must be a mapping"),
    ScriptCase("unknown_top_key", {"rulez": []}, "unknown top-level keys ['rulez']"),
    ScriptCase("match_not_a_string", {"rules": [{"match": 3, "steps": [{"reply": "x"}]}]},
               "rules[0]: 'match' must be"),
    ScriptCase("empty_steps", {"rules": [{"match": "a", "steps": []}]}, "rules[0].steps: 'steps' must be"),
    ScriptCase("two_actions", {"rules": [{"match": "a", "steps": [{"reply": "x"}, {"reply": "y", "fail": "z"}]}]},
               "rules[0].steps[1]: a step needs exactly one of"),
    ScriptCase("negative_wait", {"default": [{"wait": -1}]}, "default[0]: 'wait' must be a number"),
    ScriptCase("bad_exit", {"default": [{"exit": "0"}]}, "'exit' must be an exit code"),
    ScriptCase("args_outside_tool", {"default": [{"reply": "x", "args": {}}]}, "'args' belongs to a 'tool' step"),
    ScriptCase("tool_args_not_mapping", {"default": [{"tool": "t", "args": [1]}]}, "'args' of a tool step"),
]


@pytest.mark.parametrize("case", SCRIPT_ERRORS, ids=[c.test_id for c in SCRIPT_ERRORS])
def test_script_validation_names_the_bad_place(case: ScriptCase) -> None:
    with pytest.raises(ScriptError) as err:
        parse_script(case.data, "script t.json")
    assert case.error in str(err.value)
    assert str(err.value).startswith("script t.json")


def test_script_first_matching_rule_wins_and_falls_back() -> None:
    script = parse_script({"rules": [{"match": "^fix (bug", "steps": [{"reply": "literal"}]},
                                     {"match": r"fix \w+", "steps": [{"reply": "regex"}]},
                                     {"match": "fix", "steps": [{"reply": "later"}]}]})
    assert script.steps_for("please fix this") == (Step("reply", "regex"),)
    assert script.steps_for("^fix (bug now") == (Step("reply", "literal"),)
    assert script.steps_for("other")[0].value == "Mock reply to: {{task}}"
    assert substitute("a {{task}} b {{ nope }}", {"task": "T"}) == "a T b {{ nope }}"


def test_key_parser_paste_split_across_reads_keeps_newlines() -> None:
    parser = KeyParser()
    keys = parser.feed("ab\x1b[200~one\r") + parser.feed("two\x1b[20") + parser.feed("1~\x7f\r")
    assert keys == [("char", "a"), ("char", "b"), ("paste", "one\ntwo"), ("backspace", ""), ("enter", "")]
    assert parser.feed("\x1b") == [] and parser.flush_escape() == [("escape", "")]


def test_agent_without_a_tty_reads_lines(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "cao.mock_agent", "--delay", "0", "--name", "dev"],
                            input="hello\n/nope\n/exit\n", capture_output=True, text=True, timeout=30,
                            cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "● Mock reply to: hello" in lines
    assert "  ⎿  Unknown command: /nope (try /help)" in lines
    assert lines[-1] == "Goodbye."
    assert "\x1b" not in result.stdout


def test_agent_rejects_a_broken_script(tmp_path: Path) -> None:
    bad = tmp_path / "s.json"
    bad.write_text('{"rules": [{"match": "x", "steps": [{"wiat": 1}]}]}')
    result = subprocess.run([sys.executable, "-m", "cao.mock_agent", "--script", str(bad)],
                            input="", capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "rules[0].steps[0]: a step needs exactly one of" in result.stderr


@pytest.mark.parametrize(("config", "error"), [
    ('{"servers": {}}', 'expected {"mcpServers"'),
    ('{"mcpServers": {"cao": {"args": []}}}', "mcpServers.cao: needs a 'command' string"),
    ('{"mcpServers": {"cao": {"command": "x", "env": {"A": 1}}}}', "'env' must be a mapping of strings"),
    ('{"mcpServers": {"cao": {"type": "http"}}}', "an HTTP server needs a 'url'"),
    ('{"mcpServers": {"cao": {"url": "file:///x"}}}', "an HTTP server needs a 'url'"),
    ('{"mcpServers": {"cao": {"type": "sse", "url": "http://h/mcp"}}}', "'type' must be \"http\""),
    ('{"mcpServers": {"cao": {"type": "http", "url": "http://h/mcp", "headers": {"X": 1}}}}',
     "'headers' must be a mapping of strings"),
], ids=["no_mcpServers", "no_command", "bad_env", "http_no_url", "http_bad_url", "http_bad_type", "http_bad_headers"])
def test_agent_rejects_a_broken_mcp_config(tmp_path: Path, config: str, error: str) -> None:
    path = tmp_path / "mcp.json"
    path.write_text(config)
    result = subprocess.run([sys.executable, "-m", "cao.mock_agent", "--mcp-config", str(path)],
                            input="", capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert error in result.stderr
