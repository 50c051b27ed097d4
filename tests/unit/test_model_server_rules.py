from __future__ import annotations

import os
from pathlib import Path

import pytest

from cao.model_server.rules import Exchange, Script, ScriptError, ScriptFile, resolve_tool


def ex(text: str = "", tools: list[str] | None = None, tool_result: str | None = None) -> Exchange:
    return Exchange(api="anthropic", model="m", text=text, tool_result=tool_result, tools=tools or [])


@pytest.mark.parametrize(("name", "tools", "expected"), [
    ("handoff", ["mcp__cao__handoff", "Bash"], "mcp__cao__handoff"),
    ("handoff", ["mcp_cao_handoff"], "mcp_cao_handoff"),
    ("handoff", ["handoff"], "handoff"),
    ("handoff", ["mcp__cao__handoff_v2"], None),
    ("send_message", ["mcp__cao__assign"], None),
])
def test_resolve_tool(name: str, tools: list[str], expected: str | None) -> None:
    assert resolve_tool(name, tools) == expected


def test_first_matching_rule_wins_and_default_applies() -> None:
    script = Script({"rules": [{"match": "hello", "text": "hi {{text}}"}, {"match": "h", "text": "second"}],
                     "default": {"text": "default: {{text}}"}})
    assert script.respond(ex("well hello")).text == "hi well hello"
    assert script.respond(ex("xyz")).text == "default: xyz"


def test_needs_tools_skips_side_requests_and_tool_calls_use_the_request_name() -> None:
    script = Script({"rules": [{"match": "delegate", "needs_tools": True, "tool": "handoff",
                                "args": {"message": "{{text}}"}}]})
    assert script.respond(ex("delegate this")).tool is None  # a title request without tools
    reply = script.respond(ex("delegate this", tools=["mcp__cao__handoff"]))
    assert reply.tool is not None and reply.tool.name == "mcp__cao__handoff"
    assert reply.tool.args == {"message": "delegate this"}


def test_force_calls_a_tool_the_request_does_not_offer() -> None:
    script = Script({"rules": [{"match": "a", "tool": "Bash", "args": {"command": "x"}},
                               {"match": "b", "tool": "Bash", "force": True, "args": {"command": "x"}}]})
    assert script.respond(ex("a", tools=["Read"])).text == "(scripted tool 'Bash' is not among this request's tools)"
    reply = script.respond(ex("b", tools=["Read"]))
    assert reply.tool is not None and reply.tool.name == "Bash" and reply.tool.args == {"command": "x"}
    reply = script.respond(ex("b", tools=["mcp__x__Bash"]))  # offered: the request's own name, as without force
    assert reply.tool is not None and reply.tool.name == "mcp__x__Bash"


def test_tool_results_match_on_tool_result_rules_only() -> None:
    script = Script({"rules": [{"match": ".", "text": "text rule"},
                               {"on_tool_result": "42", "text": "got {{tool_result}}"}]})
    assert script.respond(ex(tool_result="answer 42")).text == "got answer 42"
    assert script.respond(ex("plain")).text == "text rule"


def test_times_limits_a_rule_and_errors_and_delays() -> None:
    script = Script({"rules": [{"match": "x", "times": 1, "error": 503, "message": "busy {{text}}"},
                               {"match": "x", "delay": 0.5, "text": "fine"}]})
    assert script.respond(ex("x")).error == (503, "busy x")
    reply = script.respond(ex("x"))
    assert (reply.text, reply.delay, reply.error) == ("fine", 0.5, None)


def test_pace_spaces_the_streamed_pieces() -> None:
    assert Script({"rules": [{"match": "x", "pace": 0.02, "text": "streamed"}]}).respond(ex("x")).pace == 0.02
    assert Script({}).respond(ex("x")).pace == 0


@pytest.mark.parametrize(("rule", "words"), [
    ({"text": "no match key"}, "exactly one of match or on_tool_result"),
    ({"match": "(", "text": "x"}, "invalid regular expression"),
    ({"match": "a", "error": 200}, "between 400 and 599"),
    ({"match": "a", "error": 500, "text": "x"}, "cannot also carry"),
    ({"match": "a", "colour": "red", "text": "x"}, "unknown key"),
    ({"match": "a"}, "give one of text, tool or error"),
    ({"match": "a", "text": "x", "pace": 2}, "pace must be"),
])
def test_invalid_scripts_name_the_rule(rule: dict, words: str) -> None:
    with pytest.raises(ScriptError, match=r"rules\[0\]") as info:
        Script({"rules": [rule]})
    assert words in str(info.value)


def test_script_file_reloads_when_changed(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text('{"rules": [{"match": ".", "text": "one"}]}')
    script_file = ScriptFile(path)
    assert script_file.get().respond(ex("a")).text == "one"
    path.write_text('{"rules": [{"match": ".", "text": "two"}]}')
    os.utime(path, ns=(1, path.stat().st_mtime_ns + 1_000_000))
    assert script_file.get().respond(ex("a")).text == "two"
