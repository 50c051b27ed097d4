"""Team fields in a Markdown profile's frontmatter: parsed like a team file's agent, errors with lines."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

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
