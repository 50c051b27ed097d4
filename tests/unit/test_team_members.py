"""Team members at run time: their profile and prompt, named commands, structured output, delegation rules."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace

import pytest

from cao.errors import CaoError, InvalidInput, PermissionDenied
from cao.models import SessionRecord, TerminalRecord
from cao.teams import members, policy, structured
from cao.teams.loader import parse_team
from cao.teams.models import StructuredOutput

TEAM = """\
cao: {max_delegation_depth: 2}
agents:
  root:
    model: anthropic/claude-sonnet-4-5
    description: Lead
    instruction: Lead.
    sub_agents: [a]
    commands:
      deploy: "Deploy ${env.PROJECT || 'app'} to ${env.ENV || 'staging'} as ${env.WHO}"
  a:
    model: openai/gpt-5
    description: Does A
    instruction: Do A.
    sub_agents: [b]
    toolsets: [{type: filesystem}, {type: mcp, command: srv, name: files}]
    structured_output: {name: answer, description: the answer, schema: {type: object, required: [n]}}
  b:
    model: mock/m
    instruction: Do B.
"""
team = parse_team(TEAM, source="team.yaml", base_dir=Path("/"))
NO_STORE = SimpleNamespace(home=Path("/nonexistent"))  # only the built-in profiles (no team fields)
SO = StructuredOutput("review", {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"],
                                 "additionalProperties": False})


def test_a_member_becomes_a_profile_with_its_team_and_output_contract() -> None:
    profile = members.profile(team, team.members["a"])
    assert (profile.name, profile.provider, profile.model) == ("a", "codex", "gpt-5")
    assert profile.allowedTools == ["@cao-mcp-server", "fs_*"]
    assert profile.mcpServers is not None and profile.mcpServers["files"].command == "srv"
    prompt = profile.system_prompt
    assert prompt.startswith("Do A.\n\n## Your team\n")
    assert "- b: (no description)" in prompt
    assert '## Output format: answer (the answer)' in prompt and '{"type": "object", "required": ["n"]}' in prompt
    assert "## Your team" not in members.profile(team, team.members["b"]).system_prompt


def test_named_commands_expand_env_with_defaults() -> None:
    root = team.members["root"]
    assert members.expand_command(root, "/deploy", {"ENV": "prod"}) == "Deploy app to prod as "
    assert members.expand_command(root, "plain text", {}) == "plain text"
    assert members.expand_command(root, "/not a command", {}) == "/not a command"
    with pytest.raises(InvalidInput, match=r"root has no command /nope; its commands: /deploy"):
        members.expand_command(root, "/nope", {})


@pytest.mark.parametrize(("reply", "value"), [
    ('{"ok": true}', {"ok": True}),
    ('```json\n{"ok": false}\n```', {"ok": False}),
    ('Here it is:\n{"ok": true}\nDone.', {"ok": True}),
])
def test_structured_replies_that_parse(reply: str, value: dict) -> None:
    assert structured.parse(reply, SO) == (value, None)


@pytest.mark.parametrize(("reply", "problem"), [
    ("looks fine", "it is not a JSON object"),
    ("[1, 2]", "it is JSON but not an object"),
    ('{"ok": "yes"}', "'ok' must be boolean (got string)"),
    ('{}', "'ok' is required"),
    ('{"ok": true, "extra": 1}', "'extra' is not an accepted field (accepted: ok)"),
])
def test_structured_replies_that_do_not(reply: str, problem: str) -> None:
    assert structured.parse(reply, SO) == (None, problem)


def test_structured_check_asks_once_more_then_fails_clearly() -> None:
    asked: list[str] = []

    async def fixed(text: str) -> str:
        asked.append(text)
        return '{"ok": true}'

    assert asyncio.run(structured.check(SO, "nope", fixed, "worker w")) == {"ok": True}
    assert asked[0].startswith("Your reply is not valid review output: it is not a JSON object.")

    async def hopeless(_text: str) -> str:
        return '{"ok": 1}'

    with pytest.raises(CaoError, match=r"worker w did not return valid review output after being asked twice: "
                                       r"first it is not a JSON object, then 'ok' must be boolean"):
        asyncio.run(structured.check(SO, "nope", hopeless, "worker w"))


def _runtime(*records: TerminalRecord) -> SimpleNamespace:
    session = SessionRecord(name="cao-t", working_directory="/", team_json=team.to_json())
    return SimpleNamespace(registry=SimpleNamespace(sessions={"cao-t": session},
                                                    terminals={r.id: r for r in records}), settings=NO_STORE)


def _terminal(terminal_id: str, profile: str, caller: str | None = None) -> TerminalRecord:
    return TerminalRecord(id=terminal_id, session_name="cao-t", window_name="w", provider="mock",
                          agent_profile=profile, working_directory="/", status="idle", caller_id=caller)


def test_delegation_is_limited_to_sub_agents_and_depth() -> None:
    root, a, b = _terminal("r0000000", "root"), _terminal("a0000000", "a", "r0000000"), \
        _terminal("b0000000", "b", "a0000000")
    rt = _runtime(root, a, b)
    policy.check_delegation(rt, root, "a", "hand off")
    policy.check_delegation(rt, a, "b", "assign")
    with pytest.raises(PermissionDenied, match=r"root may not hand off to 'b': the team file team.yaml lets it "
                                               r"delegate to a$"):
        policy.check_delegation(rt, root, "b", "hand off")
    with pytest.raises(PermissionDenied, match=r"b may not assign to 'a': .* delegate to nobody"):
        policy.check_delegation(rt, b, "a", "assign")
    assert [policy.depth(rt, t.id) for t in (root, a, b)] == [0, 1, 2]
    outsider = _terminal("c0000000", "developer", "b0000000")  # not a member: only the depth applies
    rt.registry.terminals[outsider.id] = outsider
    with pytest.raises(PermissionDenied, match=r"depth limit reached: root → a → b → developer → x would be 4 "
                                               r"levels deep, and the team allows 2"):
        policy.check_delegation(rt, outsider, "x", "assign")


def test_sessions_without_a_team_are_not_restricted() -> None:
    rt = SimpleNamespace(registry=SimpleNamespace(sessions={}, terminals={}), settings=NO_STORE)
    policy.check_delegation(rt, _terminal("r0000000", "root"), "anyone", "assign")
    assert policy.member_profile(rt, "cao-t", "root") is None


def test_a_pending_team_serves_its_members_before_its_session_row_exists() -> None:
    rt = SimpleNamespace(registry=SimpleNamespace(sessions={}, terminals={}), settings=NO_STORE)
    policy.pending(rt)["cao-new"] = team
    profile = policy.member_profile(rt, "cao-new", "root")
    assert profile is not None and profile.provider == "claude_code"
