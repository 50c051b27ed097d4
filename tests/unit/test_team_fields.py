"""docs/teams.md and cao/teams/fields.py agree: every field cao knows is in the docs' tables, and a field the
code does not act on is not described as done."""

from __future__ import annotations

import re
from pathlib import Path

from cao.teams import fields as F

DOC = (Path(__file__).resolve().parents[2] / "docs" / "teams.md").read_text()


def _rows(title: str) -> dict[str, str]:
    section = DOC[DOC.index(title):]
    section = section[:section.index("\n### ", 1)] if "\n### " in section[1:] else section
    rows = {}
    for line in section.splitlines():
        if line.startswith("| `"):
            cells = line.split(" | ")
            for name in re.findall(r"`([a-z0-9_]+)`", cells[0]):
                rows[name] = line
    return rows


def test_every_agent_field_is_in_the_docs_table() -> None:
    rows = _rows("### Agent fields")
    assert sorted(set(F.AGENT_FIELDS) - set(rows)) == []
    for name, spec in F.AGENT_FIELDS.items():
        if spec.how == "not_yet":
            assert "**not yet**" in rows[name], name
        if spec.how == "mapped":
            assert "**not yet**" not in rows[name].split("|")[2], name  # what cao does with it
        if spec.how == "n/a":
            assert "not applicable" in rows[name], name


def test_every_top_level_and_model_field_and_toolset_type_is_documented() -> None:
    assert sorted(set(F.TOP_FIELDS) - set(_rows("### Top level"))) == []
    assert sorted(set(F.MODEL_FIELDS) - set(_rows("### Model fields"))) == []
    assert sorted(set(F.TOOLSET_TOOLS) | set(F.TOOLSET_NA)) == sorted(
        set(_rows("### Toolsets")) & (set(F.TOOLSET_TOOLS) | set(F.TOOLSET_NA)))
    for event in F.CAO_HOOK_EVENTS:
        assert f"| `{event}` |" in DOC, event
