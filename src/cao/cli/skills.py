"""``cao skills list | show NAME | add FOLDER [--force] | remove NAME``: the skill store in CAO_HOME/skills.

Local file operations, like ``cao install``: they work without cao-server, and an agent started
afterwards sees the change (each terminal's catalog is built when it starts)."""

from __future__ import annotations

from pathlib import Path

import click

from cao.cli.common import echo_json, table
from cao.services import skills as service
from cao.settings import Settings

MAX_SHOWN_DESCRIPTION = 70


def _home() -> Path:
    home = Settings.from_env().home
    service.seed(home)
    return home


@click.group()
def skills() -> None:
    """Skills (SKILL.md folders) that agents load on demand (docs/skills.md)."""


@skills.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def skills_list(as_json: bool) -> None:
    """List the skills in CAO_HOME/skills: name, origin, description (or what is wrong)."""
    home = _home()
    manifest = service.seeded_hashes(home)
    rows = [{"name": s.name, "description": s.description, "origin": service.origin(home, s.name, s.path, manifest),
             "path": str(s.path), "files": s.files, "error": s.error} for s in service.list_skills(home)]
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo(f"No skills in {service.skills_dir(home)}. Add one with: cao skills add FOLDER")
        return

    def about(row: dict) -> str:
        text = f"INVALID: {row['error']}" if row["error"] else row["description"]
        return text if len(text) <= MAX_SHOWN_DESCRIPTION else text[: MAX_SHOWN_DESCRIPTION - 1] + "…"

    table([[r["name"], r["origin"], about(r)] for r in rows], ["NAME", "ORIGIN", "DESCRIPTION"])


@skills.command(name="show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def skills_show(name: str, as_json: bool) -> None:
    """Print a skill's SKILL.md (its other files are listed on stderr)."""
    skill = service.show(_home(), name)
    if as_json:
        echo_json({"name": skill.name, "description": skill.description, "path": str(skill.path),
                   "files": skill.files, "content": skill.content})
        return
    click.echo(skill.content.rstrip("\n"))
    if skill.files:
        click.echo(f"(also in {skill.path}: {', '.join(skill.files)})", err=True)


@skills.command(name="add")
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Replace a skill of the same name.")
def skills_add(folder: Path, force: bool) -> None:
    """Validate the skill in FOLDER (holding SKILL.md) and copy it into the store."""
    skill = service.add_skill(_home(), folder, force=force)
    click.echo(f"Added skill '{skill.name}' at {skill.path}")


@skills.command(name="remove")
@click.argument("name")
def skills_remove(name: str) -> None:
    """Delete a skill from the store (a built-in stays removed until you add it again)."""
    home = _home()
    path = service.remove_skill(home, name)
    click.echo(f"Removed skill '{name}' from {path.parent}")
    shipped = service.builtin_dir() / name
    if name in service.seeded_hashes(home) and shipped.is_dir():
        click.echo(f"(a built-in: it stays removed; bring it back with: cao skills add {shipped})", err=True)
