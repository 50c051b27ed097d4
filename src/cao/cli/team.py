"""``cao team validate | show | commands``: check a team file (cagent's format) without running it."""

from __future__ import annotations

from pathlib import Path

import click

from cao.cli.common import echo_json, info, table
from cao.teams.loader import load_team
from cao.teams.models import Team

FILE = click.argument("file", type=click.Path(dir_okay=False, path_type=Path))


@click.group()
def team() -> None:
    """Team files: one YAML file describes a root agent and its sub-agents (docs/teams.md)."""


@team.command(name="validate")
@FILE
@click.option("--strict", is_flag=True, help="Fail on warnings too (fields cao accepts but ignores).")
def team_validate(file: Path, strict: bool) -> None:
    """Check FILE: every error names the key, its line and the fix; warnings name what cao ignores and why.

    FILE may also be an agent profile (.md): its team fields (sub_agents, structured_output, …) are checked.
    """
    if file.suffix == ".md":
        _validate_profile(file)
        return
    loaded = load_team(file)
    for warning in loaded.warnings:
        info(f"warning: {warning}")
    links = ", ".join(f"{m.name} → {', '.join(m.delegates)}" for m in loaded.members.values() if m.delegates)
    click.echo(f"{loaded.source}: valid team of {len(loaded.members)} agent(s): {', '.join(loaded.members)}"
               + (f"; delegations: {links}" if links else ""))
    if strict and loaded.warnings:
        raise click.ClickException(f"{len(loaded.warnings)} warning(s) with --strict")


def _validate_profile(file: Path) -> None:
    from cao.teams.profile_spec import PROFILE_FIELDS, checked

    member, warnings = checked(_profile_text(file), str(file))
    for warning in warnings:
        info(f"warning: {warning}")
    attribute = {"add_prompt_files": "prompt_files", "toolsets": "allowed_tools"}
    fields = [f for f in PROFILE_FIELDS if getattr(member, attribute.get(f, f), None)]
    click.echo(f"{file}: profile {member.name}: team fields valid"
               + (f" ({', '.join(fields)})" if fields else " (it has none)"))


def _profile_as_team(file: Path) -> Team:
    """A profile file as a team of one, for ``cao team commands lead.md``."""
    from cao.teams.profile_spec import parse

    member = parse(_profile_text(file), str(file))
    return Team(source=str(file), members={member.name: member})


def _profile_text(file: Path) -> str:
    from cao.errors import InvalidProfile

    try:
        return file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidProfile(f"{file}: cannot read the profile: {exc}") from None


@team.command(name="show")
@FILE
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def team_show(file: Path, as_json: bool) -> None:
    """List FILE's agents: the CLI each runs in, its model, whom it may delegate to."""
    loaded = load_team(file)
    if as_json:
        echo_json([{"name": m.name, "provider": m.provider, "model": m.model, "delegates": m.delegates,
                    "structured_output": m.structured_output.name if m.structured_output else None,
                    "description": m.description} for m in loaded.members.values()])
        return
    table([[m.name, m.provider, m.model or "-", ", ".join(m.delegates) or "-",
            m.structured_output.name if m.structured_output else "-", m.description]
           for m in loaded.members.values()],
          ["AGENT", "PROVIDER", "MODEL", "DELEGATES TO", "OUTPUT", "DESCRIPTION"])


@team.command(name="commands")
@FILE
@click.option("--agent", help="Only this agent's commands (default: every agent's).")
def team_commands(file: Path, agent: str | None) -> None:
    """List FILE's named prompts; run one with: cao launch FILE /NAME (a profile's: cao launch --agents NAME /NAME)."""
    loaded = _profile_as_team(file) if file.suffix == ".md" else load_team(file)
    rows = [[m.name, f"/{name}", prompt.splitlines()[0] if prompt else ""]
            for m in loaded.members.values() if agent in (None, m.name) for name, prompt in m.commands.items()]
    if agent is not None and agent not in loaded.members:
        raise click.ClickException(f"{loaded.source} has no agent {agent!r}; its agents: {', '.join(loaded.members)}")
    if not rows:
        click.echo("no commands")
        return
    table(rows, ["AGENT", "COMMAND", "PROMPT"])
