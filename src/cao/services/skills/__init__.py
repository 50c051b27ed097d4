"""Skills: SKILL.md folders in ``CAO_HOME/skills/``, built-ins seeded there, a catalog for each agent.

``store`` reads, validates, adds and removes; ``builtins`` seeds the shipped skills without
overwriting a user's edits; ``catalog`` (imported by cao-server) puts the allowed skills into each
agent's system prompt; the ``load_skill`` MCP tool lives in ``cao.mcp.skill_tools``.
"""

from __future__ import annotations

from pathlib import Path

from cao.errors import NotFound
from cao.services.skills import builtins
from cao.services.skills.builtins import builtin_dir, origin, seed, seeded_hashes
from cao.services.skills.store import Skill, add_skill, allowed, get_skill, list_skills, remove_skill, skills_dir

__all__ = ["Skill", "add_skill", "allowed", "builtin_dir", "get_skill", "list_skills", "origin", "remove_skill",
           "seed", "seeded_hashes", "show", "skills_dir"]


def show(home: Path, name: str) -> Skill:
    """``get_skill``, with the way back for a built-in the user removed."""
    try:
        return get_skill(home, name)
    except NotFound as exc:
        shipped = builtins.builtin_dir() / name
        if name in seeded_hashes(home) and shipped.is_dir():
            raise NotFound(f"{exc}; {name!r} is a built-in you removed: bring it back with: "
                           f"cao skills add {shipped}") from None
        raise
