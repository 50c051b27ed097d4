"""Team fields in a Markdown profile's frontmatter: parsed like a team file's agent, errors with lines."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from cao import secret_guard
from cao.errors import InvalidProfile, PermissionDenied
from cao.models import TerminalRecord
from cao.teams import policy, profile_spec

LEAD = """\
---
name: lead
description: Leads
provider: mock
sub_agents: [checker]
add_date: true
redact_secrets: true
hooks:
  stop: [{command: notify-send done}]
---
You lead.
"""
CHECKER = """\
---
name: checker
structured_output:
  name: verdict
  schema: {type: object, required: [ok]}
---
You check.
"""


def test_a_profile_with_team_fields_is_a_member() -> None:
    member = profile_spec.parse(LEAD, "lead.md")
    assert (member.name, member.description, member.instruction, member.provider) == ("lead", "Leads", "You lead.",
                                                                                      "mock")
    assert member.delegates == ["checker"] and member.add_date and member.redact_secrets
    assert member.hooks == {}  # hooks are commands: only from a team file (a profile may come from a URL)
    assert profile_spec.checked(LEAD, "lead.md")[1] == [
        "lead.md:8: hooks: ignored in a profile: hooks run commands, so cao takes them only from a team file you "
        "launch (a profile may come from a URL)"]
    so = profile_spec.parse(CHECKER, "checker.md").structured_output
    assert so is not None and so.schema == {"type": "object", "required": ["ok"]}


@pytest.mark.parametrize(("text", "expected"), [
    ("---\nname: x\nsub_agents: helper\n---\nbody\n", "x.md:3: sub_agents: must be a list of agent names"),
    ("---\nname: x\nstructured_output: {name: v}\n---\nbody\n", "x.md:3: structured_output: needs name: and schema:"),
    ("---\nname: x\n\nfallback:\n  model: []\n---\nb\n",
     "x.md:5: fallback.model: unknown fallback field; did you mean"),
])
def test_errors_in_a_profiles_team_fields_name_the_line(text: str, expected: str) -> None:
    with pytest.raises(InvalidProfile) as caught:
        profile_spec.parse(text, "x.md")
    assert expected in str(caught.value)


def test_profiles_without_team_fields_are_not_members(tmp_path: Path) -> None:
    assert profile_spec.profile_member("developer", tmp_path) is None  # a built-in profile
    assert profile_spec.profile_member("nobody", tmp_path) is None


def test_a_profiles_sub_agents_restrict_its_delegations_outside_a_team(tmp_path: Path) -> None:
    store = tmp_path / "agent-store"
    store.mkdir()
    (store / "lead.md").write_text(LEAD)
    (store / "broken.md").write_text("---\nname: broken\nsub_agents: 3\n---\nx\n")
    rt = SimpleNamespace(registry=SimpleNamespace(sessions={}, terminals={}), settings=SimpleNamespace(home=tmp_path))
    lead = TerminalRecord(id="a0000000", session_name="cao-s", window_name="w", provider="mock",
                          agent_profile="lead", working_directory="/", status="idle")
    policy.check_delegation(rt, lead, "checker", "assign")
    with pytest.raises(PermissionDenied, match=r"lead may not assign to 'developer': its profile lets it delegate "
                                               r"to checker$"):
        policy.check_delegation(rt, lead, "developer", "assign")
    broken = TerminalRecord(id="b0000000", session_name="cao-s", window_name="w", provider="mock",
                            agent_profile="broken", working_directory="/", status="idle")
    with pytest.raises(InvalidProfile, match="sub_agents: must be a list"):  # broken team fields: refused
        policy.check_delegation(rt, broken, "anyone", "assign")
    assert policy.redact(rt, "cao-s", "token ghp_" + "a" * 36, "lead") == "token [secret:github-token]"


def test_cao_team_validate_checks_a_profile(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from cao.cli import cli

    (tmp_path / "lead.md").write_text(LEAD)
    result = CliRunner().invoke(cli, ["team", "validate", str(tmp_path / "lead.md")])
    assert result.exit_code == 0 and "profile lead: team fields valid (sub_agents, add_date" in result.output
    (tmp_path / "bad.md").write_text("---\nname: bad\nadd_date: sometimes\n---\nx\n")
    result = CliRunner().invoke(cli, ["team", "validate", str(tmp_path / "bad.md")])
    assert result.exit_code == 1 and "bad.md:3: add_date: must be true or false" in result.output


def test_a_profiles_prompt_files_toolsets_commands_and_welcome_message(tmp_path: Path) -> None:
    (tmp_path / "guide.md").write_text("Follow the guide.\n")
    text = ("---\nname: helper\nadd_prompt_files: [guide.md]\nwelcome_message: Helper ready.\n"
            "commands:\n  fix: \"fix ${env.TARGET || 'the build'}\"\n"
            "toolsets:\n  - type: filesystem\n  - type: mcp\n    command: ./search-server\n    args: [--docs]\n"
            "    instruction: Search the docs first.\n---\nYou help.\n")
    member = profile_spec.parse(text, str(tmp_path / "helper.md"))
    assert member.prompt_files == [(str(tmp_path / "guide.md"), "Follow the guide.\n"),
                                   ("toolset 1", "Search the docs first.")]
    assert member.welcome_message == "Helper ready." and member.commands == {"fix": "fix ${env.TARGET || 'the build'}"}
    assert member.allowed_tools == ["@cao-mcp-server", "fs_*"]
    assert member.mcp_servers == {"search-server": {"command": "./search-server", "args": ["--docs"], "env": {}}}


@pytest.mark.parametrize(("frontmatter", "expected"), [
    # A profile may come from a URL: it adds only files in its own folder to the prompt.
    ("add_prompt_files: [../secret.txt]", "x.md:3: add_prompt_files[0]: {tmp}/secret.txt is outside the profile's "
                                          "folder {tmp}/store"),
    ("add_prompt_files: [missing.md]", "paths are relative to the profile"),
    ("toolsets: [{type: shell}]\nallowedTools: [fs_read]", "x.md:3: toolsets: a profile gives its tools either as "
                                                           "toolsets or as allowedTools/mcpServers"),
    ("toolsets: [{type: nope}]", "x.md:3: toolsets[0].type: unknown toolset type 'nope'; remove it, or use"),
    ("commands: {'bad name': x}", "x.md:3: commands.bad name: is not a valid command name"),
])
def test_errors_in_a_profiles_prompt_files_toolsets_and_commands(tmp_path: Path, frontmatter: str,
                                                                 expected: str) -> None:
    (tmp_path / "store").mkdir()
    (tmp_path / "secret.txt").write_text("s3cret")
    with pytest.raises(InvalidProfile) as caught:
        profile_spec.parse(f"---\nname: x\n{frontmatter}\n---\nbody\n", str(tmp_path / "store" / "x.md"))
    assert expected.format(tmp=tmp_path).replace("x.md", str(tmp_path / "store" / "x.md"), 1) in str(caught.value)


def test_a_session_without_a_team_file_has_a_depth_limit(tmp_path: Path) -> None:
    chain = [TerminalRecord(id=f"{i}0000000", session_name="cao-s", window_name="w", provider="mock",
                            agent_profile="developer", working_directory="/", status="idle",
                            caller_id=f"{i - 1}0000000" if i else None) for i in range(6)]
    rt = SimpleNamespace(registry=SimpleNamespace(sessions={}, terminals={t.id: t for t in chain}),
                         settings=SimpleNamespace(home=tmp_path))
    policy.check_delegation(rt, chain[4], "developer", "handoff")  # the 5th level
    with pytest.raises(PermissionDenied, match=r"would be 6 levels deep, and a session without a team file "
                                               r"allows 5 \(a team file sets its own limit\)"):
        policy.check_delegation(rt, chain[5], "developer", "handoff")


def test_a_profile_with_redact_secrets_gets_the_secret_guard_but_never_its_own_hooks(tmp_path: Path) -> None:
    store = tmp_path / "agent-store"
    store.mkdir()
    (store / "lead.md").write_text(LEAD)  # redact_secrets: true, and a hooks: section that must stay ignored
    rt = SimpleNamespace(registry=SimpleNamespace(sessions={}, terminals={}), settings=SimpleNamespace(home=tmp_path))
    lead = policy.member_profile(rt, "cao-s", "lead")
    assert lead is not None and lead.system_prompt == "You lead."
    assert lead.hooks == {"pre_tool_use": [secret_guard.tool_hook()]}
    assert lead.allowedTools is None  # no toolsets: the profile's own tools
    assert policy.member_profile(rt, "cao-s", "developer") is None  # a built-in profile without team fields
