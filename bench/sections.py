"""docs/performance.md is written by three scripts; each replaces only its own part of it.

* bench/run.py: the top of the file, up to the first section another script owns;
* bench/compare.py: ``## Side by side with the public CAO …`` up to the next ``## `` heading;
* bench/real_clis.py: ``## Real CLIs`` up to the next ``## `` heading;
* bench/flows.py: ``## Flows`` up to the next ``## `` heading;
* bench/memory.py: ``## Memory`` up to the next ``## `` heading.
* bench/plugins_ops.py: ``## Plugins and the ops MCP server`` up to the next ``## `` heading.
* bench/web.py: ``## Web UI`` up to the next ``## `` heading.
"""

from __future__ import annotations

from pathlib import Path

COMPARE = "## Side by side with the public CAO"
REAL_CLIS = "## Real CLIs"
FLOWS = "## Flows"
MEMORY = "## Memory"
PLUGINS_OPS = "## Plugins and the ops MCP server"
WEB = "## Web UI"
OWNED = (COMPARE, REAL_CLIS, FLOWS, MEMORY, PLUGINS_OPS, WEB)


def write_top(path: Path, top: str) -> None:
    text = path.read_text() if path.exists() else ""
    starts = [text.index(mark) for mark in OWNED if mark in text]
    rest = text[min(starts):] if starts else ""
    path.write_text(top.rstrip("\n") + "\n" + ("\n" + rest if rest else ""))


def write_section(path: Path, mark: str, section: str) -> None:
    """Replace the section starting with ``mark`` (to the next '## ' heading), or append it."""
    text = path.read_text() if path.exists() else "# Performance\n"
    if mark in text:
        before, rest = text.split(mark, 1)
        after = rest[rest.find("\n## ") + 1:] if "\n## " in rest else ""
        text = before + section.rstrip("\n") + "\n" + ("\n" + after if after else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section.rstrip("\n") + "\n"
    path.write_text(text)
