"""An agent's process tree from /proc (Linux).

A CLI that runs a hook or a command may show an idle prompt meanwhile (Gemini CLI draws nothing while
its BeforeTool hooks run). A process the agent started during the turn that still runs tells the engine
that the turn is going on, not interrupted. Elsewhere (no /proc) the tree is empty and nothing changes.
"""

from __future__ import annotations

from pathlib import Path

MAX_PROCESSES = 512


def descendants(pid: int) -> frozenset[int]:
    """The pids of ``pid``'s children, their children, and so on."""
    seen: set[int] = set()
    todo = [pid]
    while todo and len(seen) < MAX_PROCESSES:
        for child in _children(todo.pop()):
            if child not in seen:
                seen.add(child)
                todo.append(child)
    return frozenset(seen)


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return out
    for task in tasks:  # a multi-threaded CLI (node) lists each child under the thread that started it
        try:
            out += [int(p) for p in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return out
