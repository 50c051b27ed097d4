"""A team file's named model with ``base_url``: validated, and given to the CLI it was written for only."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from cao.errors import InvalidTeam
from cao.profiles import AgentProfile, parse_profile
from cao.providers import get_provider
from cao.providers.base import LaunchContext
from cao.teams.loader import parse_team
from cao.teams.members import profile
from cao.teams.models import Team

URL = "http://127.0.0.1:4000"


def parse(models: str, model: str = "m") -> Team:
    text = f"models:\n{textwrap.indent(models, '  ')}agents:\n  root: {{model: {model}, instruction: hi}}\n"
    return parse_team(text, source="team.yaml", base_dir=Path("/nonexistent"))


@pytest.mark.parametrize(("vendor", "provider"), [("anthropic", "claude_code"), ("openai", "codex"),
                                                  ("google", "gemini_cli")])
def test_a_named_models_base_url_goes_with_the_member(vendor: str, provider: str) -> None:
    team = parse(f"m: {{provider: {vendor}, model: x, base_url: '{URL}'}}\n")
    root = team.members["root"]
    assert (root.provider, root.base_url, team.warnings) == (provider, URL, [])
    assert profile(team, root).base_url == URL
    assert Team.from_json(team.to_json()).members["root"].base_url == URL  # kept with the session


def test_a_base_url_for_a_cli_cao_cannot_point_elsewhere_warns() -> None:
    team = parse(f"m: {{provider: opencode, model: x, base_url: '{URL}'}}\n")
    assert team.members["root"].base_url is None
    assert team.warnings == ["team.yaml:4: agents.root.model: the model's base_url is not applied: cao points only "
                             "claude_code, codex, gemini_cli at another endpoint, not opencode; set it in "
                             "opencode's own configuration"]


@pytest.mark.parametrize("url", ["ftp://host/x", "127.0.0.1:4000", "http://me:pw@host", "http://"])
def test_a_base_url_must_be_an_http_url_without_credentials(url: str) -> None:
    with pytest.raises(InvalidTeam, match=r"team.yaml:2: models.m.base_url: must be an http:// or https:// URL "
                                          r"without user or password"):
        parse(f"m: {{provider: anthropic, model: x, base_url: '{url}'}}\n")


def test_a_profile_file_cannot_set_a_base_url() -> None:
    # One from a URL could send the CLI's key to another host: base_url comes only from a team file.
    assert parse_profile(f"---\nname: p\nbase_url: {URL}\n---\nbody\n", source="p.md").base_url is None


def _launch(provider: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *, written_for: str):
    monkeypatch.setattr(type(get_provider(provider)), "resolve_binary", lambda self: f"/opt/bin/{provider}")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    ctx = LaunchContext(terminal_id="abcd1234", working_directory=tmp_path, runtime_dir=tmp_path / "run",
                        profile=AgentProfile(name="root", provider=written_for, base_url=URL),
                        api_url="http://127.0.0.1:9", mcp_token="tok")
    return get_provider(provider).build_launch(ctx)


@pytest.mark.parametrize(("provider", "variable"), [("claude_code", "ANTHROPIC_BASE_URL"),
                                                    ("gemini_cli", "GOOGLE_GEMINI_BASE_URL")])
def test_claude_code_and_gemini_get_the_endpoint_in_their_environment(provider: str, variable: str,
                                                                      monkeypatch: pytest.MonkeyPatch,
                                                                      tmp_path: Path) -> None:
    assert _launch(provider, monkeypatch, tmp_path, written_for=provider).env[variable] == URL
    # A fallback to this CLI from a member written for another one keeps this CLI's own endpoint.
    assert variable not in _launch(provider, monkeypatch, tmp_path, written_for="codex").env


def test_codex_gets_the_endpoint_as_its_openai_base_url(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    argv = _launch("codex", monkeypatch, tmp_path, written_for="codex").argv
    assert f'openai_base_url="{URL}"' in argv
    assert not any(a.startswith("openai_base_url") for a in _launch("codex", monkeypatch, tmp_path,
                                                                    written_for="claude_code").argv)
