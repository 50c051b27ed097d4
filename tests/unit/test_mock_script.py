"""The mock agent's multi-agent script features, in process (no tmux).

The agent is driven through ``Agent.submit`` with a non-live screen writing to a StringIO and
a terminal stand-in that is at end of input, so a whole turn runs synchronously.
"""

from __future__ import annotations

import io
import json
import os
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace
from typing import Any, NamedTuple

import pytest

from cao.mock_agent.agent import Agent
from cao.mock_agent.config import Config
from cao.mock_agent.script import LONG_REPLY_END, ScriptError, long_reply, parse_script, split_task
from cao.mock_agent.turn import ExitRequested
from cao.mock_agent.ui import Screen
from cao.profiles import McpServerConfig
from cao.providers.base import LaunchContext
from cao.providers.mock import MockProvider

HEADER = "[Message 12 from terminal abcd1234 (analyst)]"
ASSIGNED = "(Assigned by terminal 0badf00d (supervisor). When you are done, send your result with send_message.)"


class MockRun:
    """One in-process agent; ``send`` runs a whole turn and returns its last reply."""

    def __init__(self, script: dict[str, Any], name: str | None = "supervisor",
                 mcp: dict[str, Any] | None = None) -> None:
        self.out = io.StringIO()
        cfg = Config(name=name, delay=0, script=parse_script(script), mcp_servers=mcp)
        self.agent = Agent(cfg, Screen(self.out, live=False), SimpleNamespace(eof=True))  # type: ignore[arg-type]
        if self.agent.mcp is not None:
            self.agent.mcp.start(self.agent.on_mcp_failure)

    def send(self, task: str) -> str | None:
        self.agent.submit(task)
        return MockProvider().extract_last_reply(self.text().split("\n"))

    def text(self) -> str:
        return self.out.getvalue()

    def close(self) -> None:
        self.agent.close()


# -- header / body ------------------------------------------------------------------------

class SplitCase(NamedTuple):
    test_id: str
    task: str
    sender: str
    body: str


SPLIT_CASES = [
    SplitCase("plain", "just do it", "", "just do it"),
    SplitCase("header", f"{HEADER}\nresult: 42", "terminal abcd1234 (analyst)", "result: 42"),
    SplitCase("header_and_assigned_trailer", f"{HEADER}\nAnalyse part 1\n\nsecond para\n\n{ASSIGNED}",
              "terminal abcd1234 (analyst)", "Analyse part 1\n\nsecond para"),
    SplitCase("handed_off_trailer_no_header", "Review x.py\n\n(Handed off by terminal 0badf00d (sup). Your final "
              "reply is returned to it.)", "", "Review x.py"),
    SplitCase("cao_sender", "[Message 3 from cao]\nworker could not start", "cao", "worker could not start"),
    SplitCase("trailer_alone_is_kept", ASSIGNED, "", ASSIGNED),
    SplitCase("trailer_not_last_is_kept", f"a\n\n{ASSIGNED}\n\nb", "", f"a\n\n{ASSIGNED}\n\nb"),
    SplitCase("header_not_first_line", f"hello\n{HEADER}", "", f"hello\n{HEADER}"),
]


@pytest.mark.parametrize("case", SPLIT_CASES, ids=[c.test_id for c in SPLIT_CASES])
def test_split_task_header_and_body(case: SplitCase) -> None:
    assert split_task(case.task) == (case.sender, case.body)


# -- agent filter ---------------------------------------------------------------------------

def test_agent_filter_is_a_full_match_on_the_name_and_rules_without_it_apply_to_all() -> None:
    script = parse_script({"rules": [
        {"agent": "supervisor", "match": "go", "steps": [{"reply": "sup go"}]},
        {"agent": "analyst|worker-\\d+", "steps": [{"reply": "worker any"}]},
        {"match": "go", "steps": [{"reply": "everyone go"}]},
    ], "default": [{"reply": "default"}]})

    def reply(task: str, name: str | None) -> str:
        return script.steps_for(task, name)[0].value

    assert reply("go", "supervisor") == "sup go"
    assert reply("stop", "supervisor") == "default"
    assert reply("stop", "analyst") == "worker any"  # a rule without 'match' takes every task
    assert reply("go", "worker-7") == "worker any"
    assert reply("go", "analyst2") == "everyone go"  # full match: analyst2 is not analyst
    assert reply("go", "my-supervisor") == "everyone go"
    assert reply("go", None) == "everyone go"  # no --name: only rules without 'agent'


def test_agent_filter_applies_in_the_running_agent() -> None:
    script = {"rules": [{"agent": "analyst", "steps": [{"reply": "analysed: {{body}}"}]}]}
    assert MockRun(script, name="analyst").send("x") == "analysed: x"
    assert MockRun(script, name="developer").send("x") == "Mock reply to: x"


# -- placeholders, collect, reply_size, exit --------------------------------------------------

def test_sender_body_and_name_placeholders() -> None:
    run = MockRun({"default": [{"reply": "from={{sender}}|body={{body}}|me={{name}}|tool={{tool_result}}"}]})
    assert run.send(f"{HEADER}\nAnalyse part 1\n\n{ASSIGNED}") == \
        "from=terminal abcd1234 (analyst)|body=Analyse part 1|me=supervisor|tool="


def test_collect_gathers_messages_across_turns_then_replies_and_starts_over() -> None:
    run = MockRun({"rules": [
        {"match": "^\\[Message", "steps": [{"collect": "results", "count": 3, "reply": "FINAL ANSWER\n{{collected}}"},
                                          {"reply": "after the final answer"}]},
        {"match": "status", "steps": [{"collect": "other", "count": 2, "item": "{{body}}"}]},
    ]})
    assert run.send("[Message 1 from terminal a (analyst)]\npart one") == "Collected 1 of 3 for results."
    assert "after the final answer" not in run.text()  # an incomplete collect ends the turn
    assert run.send("status one") == "Collected 1 of 2 for other."  # lists are separate
    assert run.send("[Message 2 from terminal b (analyst)]\npart two") == "Collected 2 of 3 for results."
    run.send("[Message 3 from terminal c (analyst)]\npart three")
    text = run.text()
    assert "● FINAL ANSWER\n  [Message 1 from terminal a (analyst)]\n  part one\n  [Message 2 from terminal b" in text
    assert text.rstrip().count("✻ Done in") == 4
    assert run.send("whatever") == "Mock reply to: whatever"
    assert run.send("[Message 4 from terminal d (analyst)]\nagain") == "Collected 1 of 3 for results."  # cleared
    assert run.send("status two") == "status one\nstatus two"  # default template: {{collected}}; item: {{body}}


def test_reply_size_is_deterministic_and_ends_with_the_marker() -> None:
    text = long_reply(102400)
    assert text == long_reply(102400)
    assert text.endswith("\n" + LONG_REPLY_END)
    assert 102400 - 100 <= len(text.encode()) <= 102400
    assert long_reply(5) == LONG_REPLY_END
    run = MockRun({"default": [{"reply_size": 20000}]})
    assert run.send("big") == long_reply(20000)


def test_exit_in_the_middle_of_a_turn_stops_at_once() -> None:
    run = MockRun({"default": [{"reply": "working"}, {"exit": 9}, {"reply": "never printed"}]})
    with pytest.raises(ExitRequested) as req:
        run.send("die")
    assert req.value.code == 9
    assert "never printed" not in run.text()
    assert run.text().rstrip().endswith("Goodbye.")


# -- validation -----------------------------------------------------------------------------

class BadScript(NamedTuple):
    test_id: str
    data: object
    error: str


BAD_SCRIPTS = [
    BadScript("agent_not_a_string", {"rules": [{"agent": 1, "steps": [{"reply": "x"}]}]}, "rules[0]: 'agent' must be"),
    BadScript("agent_bad_regex", {"rules": [{"agent": "(x", "steps": [{"reply": "x"}]}]},
              "rules[0]: 'agent' '(x' is not a valid regex"),
    BadScript("unknown_rule_key", {"rules": [{"agents": "x", "steps": [{"reply": "x"}]}]},
              "rules[0]: unknown keys ['agents']"),
    BadScript("collect_without_count", {"default": [{"collect": "r"}]}, "default[0]: 'count' of a collect step"),
    BadScript("collect_count_zero", {"default": [{"collect": "r", "count": 0}]}, "'count' of a collect step"),
    BadScript("collect_empty_name", {"default": [{"collect": " ", "count": 2}]}, "'collect' (the list's name)"),
    BadScript("collect_reply_not_string", {"default": [{"collect": "r", "count": 2, "reply": ["x"]}]},
              "'reply' of a collect step must be a string"),
    BadScript("count_on_reply_step", {"default": [{"reply": "x", "count": 2}]},
              "'count' belongs to a 'collect' step only, not a 'reply' step"),
    BadScript("on_error_bad", {"default": [{"tool": "t", "on_error": "ignore"}]},
              "'on_error' of a tool step must be 'fail' or 'continue'"),
    BadScript("on_error_outside_tool", {"default": [{"fail": "x", "on_error": "continue"}]},
              "'on_error' belongs to a 'tool' step only"),
    BadScript("reply_size_zero", {"default": [{"reply_size": 0}]}, "'reply_size' must be a number of bytes"),
    BadScript("reply_size_bool", {"default": [{"reply_size": True}]}, "'reply_size' must be a number of bytes"),
    BadScript("reply_and_reply_size", {"default": [{"reply": "x", "reply_size": 9}]}, "a step needs exactly one of"),
]


@pytest.mark.parametrize("case", BAD_SCRIPTS, ids=[c.test_id for c in BAD_SCRIPTS])
def test_new_features_are_validated(case: BadScript) -> None:
    with pytest.raises(ScriptError) as err:
        parse_script(case.data, "script t.json")
    assert case.error in str(err.value)


# -- the provider's MCP config ------------------------------------------------------------------

def test_build_launch_writes_cao_server_plus_profile_servers(tmp_path: Path) -> None:
    profile = SimpleNamespace(name="supervisor", system_prompt="", mcpServers={
        "files": McpServerConfig(command="/usr/bin/files-mcp", args=["--ro"], env={"ROOT": "/srv"}),
        "cao-mcp-server": McpServerConfig(command="whatever"),
        "legacy": McpServerConfig(command="/opt/bin/cao-mcp-server"),
    })
    ctx = LaunchContext(terminal_id="abcd1234", working_directory=tmp_path, runtime_dir=tmp_path / "rt",
                        profile=profile, api_url="http://127.0.0.1:9999", mcp_token="s3cret")  # type: ignore[arg-type]
    spec = MockProvider().build_launch(ctx)
    path = tmp_path / "rt" / "mcp.json"
    assert spec.argv[spec.argv.index("--mcp-config") + 1] == str(path)
    assert spec.uses_cao_mcp
    servers = json.loads(spec.files[path])["mcpServers"]
    assert servers == {
        "cao": {"type": "http", "url": "http://127.0.0.1:9999/mcp", "headers": {"Authorization": "Bearer s3cret"}},
        "files": {"command": "/usr/bin/files-mcp", "args": ["--ro"], "env": {"ROOT": "/srv"}},
    }
    assert "s3cret" not in " ".join(spec.argv) and "s3cret" not in " ".join(spec.env.values())


def test_build_launch_passes_script_and_trace_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAO_MOCK_SCRIPT", "/s.json")
    monkeypatch.setenv("CAO_MOCK_TRACE", "/t.jsonl")
    ctx = LaunchContext(terminal_id="abcd1234", working_directory=tmp_path, runtime_dir=tmp_path)
    assert MockProvider().build_launch(ctx).env == {"CAO_MOCK_SCRIPT": "/s.json", "CAO_MOCK_TRACE": "/t.jsonl"}


# -- tool steps on a persistent connection ------------------------------------------------------

ECHO_SERVER = textwrap.dedent('''
    import os
    from cao.mcp.protocol import Server, Tool, ToolError
    from cao.mcp.stdio import serve_stdio

    async def echo(args, ctx):
        if args["text"] == "bad":
            raise ToolError("bad input")
        return f"echo: {args['text']} pid={os.getpid()}"

    TOOLS = [Tool("echo", "echo text", {"type": "object"}, echo)]
    serve_stdio(Server("echo", "1", "", lambda _principal: TOOLS))
''')


@pytest.fixture
def echo_config(tmp_path: Path) -> dict[str, Any]:
    server = tmp_path / "echo_server.py"
    server.write_text(ECHO_SERVER)
    return {"echo": {"command": sys.executable, "args": [str(server)], "env": {}},
            "broken": {"command": str(tmp_path / "no-such-server"), "args": [], "env": {}}}


def test_tool_steps_share_one_connection_and_collect_results(echo_config: dict[str, Any]) -> None:
    run = MockRun({"rules": [
        {"match": "two", "steps": [{"tool": "echo", "args": {"text": "{{body}}"}},
                                   {"tool": "echo", "args": {"text": "second"}},
                                   {"reply": "last={{tool_result}}\nall={{tool_results}}"}]},
        {"match": "bad", "steps": [{"tool": "echo", "args": {"text": "bad"}}, {"reply": "never"}]},
        {"match": "soft", "steps": [{"tool": "echo", "args": {"text": "bad"}, "on_error": "continue"},
                                    {"reply": "soft: {{tool_result}}"}]},
        {"match": "missing", "steps": [{"tool": "nope"}]},
        {"match": "broken", "steps": [{"tool": "echo", "server": "broken"}]},
    ]}, mcp=echo_config)
    try:
        reply = run.send("[Message 1 from cao]\ntwo calls") or ""
        last, first = reply.split("\n")[0], reply.split("\n")[1]
        pid = last.rsplit("pid=", 1)[1]
        assert last == f"last=echo: second pid={pid}"
        assert first == f"all=echo: two calls pid={pid}"
        assert os.path.exists(f"/proc/{pid}")  # still connected after the turn
        assert run.agent.mcp.connections["broken"].done.wait(10)  # type: ignore[union-attr]
        run.agent.flush_notices()
        assert "  ⎿  MCP server broken failed: command not found: " in run.text()
        run.send("bad")
        assert "\n✗ Error: echo failed: bad input\n" in run.text()
        assert "never" not in run.text()
        assert run.send("soft") == "soft: bad input"
        assert "  ⎿  Tool error: bad input" in run.text()
        run.send("missing")
        assert "✗ Error: nope failed: no MCP server offers the tool 'nope'" in run.text()
        run.send("broken")
        assert "✗ Error: echo failed: MCP server broken failed: command not found" in run.text()
        assert run.send("two again") == \
            f"last=echo: second pid={pid}\nall=echo: two again pid={pid}\necho: second pid={pid}"
    finally:
        run.close()
    conn = run.agent.mcp.connections["echo"]  # type: ignore[union-attr]
    assert conn.client is not None and conn.client.process.poll() is not None  # closed on exit


def test_tool_step_without_mcp_config_fails_the_turn() -> None:
    run = MockRun({"default": [{"tool": "echo"}]})
    run.send("x")
    assert "✗ Error: tool steps need --mcp-config (tool 'echo')" in run.text()


# -- what the new lines do to MockProvider's detector ---------------------------------------------

SCREENS = Path(__file__).resolve().parents[1] / "screens" / "mock"
NOTICE = "  ⎿  MCP server files failed: command not found: /usr/bin/files-mcp"


def with_notice_before_prompt(name: str) -> list[str]:
    lines = (SCREENS / f"{name}.txt").read_text(encoding="utf-8").split("\n")
    box = max(i for i, line in enumerate(lines) if line.startswith("❯")) - 1  # the rule above the ❯ line
    return [*lines[:box], NOTICE, *lines[box:]]


@pytest.mark.parametrize(("name", "status"), [("startup_idle", "idle"), ("completed", "completed"),
                                              ("error", "error")])
def test_mcp_notice_does_not_change_the_status(name: str, status: str) -> None:
    lines = with_notice_before_prompt(name)
    assert NOTICE in lines
    assert MockProvider().detect(lines).value == status


def test_tool_lines_do_not_leak_into_the_extracted_reply() -> None:
    lines = ["> call", "", '  ⎿  Tool echo {"text": "x"}', "  ⎿  Result: echo: x", "", "● said echo: x",
             "  second line", "", NOTICE, "✻ Done in 0.3s", "", "─" * 40, "❯ ", "─" * 40, "  ? for shortcuts"]
    assert MockProvider().extract_last_reply(lines) == "said echo: x\nsecond line"
    assert MockProvider().detect(lines).value == "completed"
