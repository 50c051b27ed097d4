"""Who may delegate to whom: every name must be a member, and no chain of delegations may loop."""

from __future__ import annotations

from collections.abc import Callable

from cao.teams.models import Member
from cao.teams.yamlsrc import Path


def problems(members: dict[str, Member], installed: Callable[[str], bool] = lambda _name: False
             ) -> list[tuple[Path, str]]:
    """(path, problem) for undefined names, self-references and cycles in sub_agents/handoffs.

    A name that is not a member but an installed agent profile is fine: the team mixes both."""
    out: list[tuple[Path, str]] = []
    names = ", ".join(members)
    for member in members.values():
        for field in ("sub_agents", "handoffs"):
            for index, target in enumerate(getattr(member, field)):
                if target not in members and not installed(target):
                    out.append((("agents", member.name, field, index),
                                f"{target!r} is not an agent of this file (agents: {names}) nor an installed "
                                "profile; define it under agents:, install it (cao install NAME|FILE|URL) "
                                "or remove it"))
    if out:
        return out
    cycle = find_cycle(members)
    if cycle:
        first, second = cycle[0], cycle[1]
        field = "sub_agents" if second in members[first].sub_agents else "handoffs"
        index = getattr(members[first], field).index(second)
        out.append((("agents", first, field, index),
                    f"delegation cycle {' → '.join(cycle)}: an agent would get its own work back; remove one of "
                    "these links"))
    return out


def find_cycle(members: dict[str, Member]) -> list[str] | None:
    """The first cycle found (``[a, b, a]``), in file order, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    stack: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = 1
        stack.append(name)
        for target in members[name].delegates:
            if target not in members:  # an installed profile: it delegates as its own profile says
                continue
            if state.get(target) == 1:
                return [*stack[stack.index(target):], target]
            if target not in state and (found := visit(target)):
                return found
        stack.pop()
        state[name] = 2
        return None

    for name in members:
        if name not in state and (found := visit(name)):
            return found
    return None
