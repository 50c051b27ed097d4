"""The memory block of a new terminal's system prompt: nearest scope first, a fair share each, within budget."""

from __future__ import annotations

from datetime import UTC, datetime

from cao.services.memory.prompt import ENTRY_CHARS, FOOTER, HEADER, render
from cao.services.memory.records import Memory

NOW = datetime(2026, 12, 7, tzinfo=UTC)


def mem(scope: str, key: str, content: str) -> Memory:
    return Memory(key=key, scope=scope, scope_id="x", content=content, created_by=None, created_at=NOW,
                  updated_at=NOW)


def lines_of(block: str) -> list[str]:
    assert block.startswith(HEADER) and block.endswith(FOOTER)
    return block[len(HEADER):-len(FOOTER)].splitlines()


def test_nothing_to_say_is_none() -> None:
    assert render({}, 3000) is None
    assert render({"session": [], "global": []}, 3000) is None
    assert render({"global": [mem("global", "k", "text")]}, len(HEADER) + len(FOOTER) + 10) is None


def test_every_scope_nearest_first_one_line_each() -> None:
    block = render({"global": [mem("global", "style", "Small\ncommits.")],
                    "session": [mem("session", "today", "Fix   the login test.")],
                    "project": [mem("project", "tests", "uv run pytest")]}, 3000)
    assert lines_of(block) == ["- [session] today: Fix the login test.", "- [project] tests: uv run pytest",
                               "- [global] style: Small commits."]


def test_the_budget_holds_and_each_scope_gets_its_share() -> None:
    many = {scope: [mem(scope, f"{scope}-{i}", f"{scope} fact number {i} " + "x" * 150) for i in range(10)]
            for scope in ("session", "project", "agent", "global")}
    for budget in (400, 1000, 3000, 8000):
        block = render(many, budget)
        assert len(block) <= budget
        scopes_shown = [line.split("]")[0][3:] for line in lines_of(block)]
        if budget >= 1000:  # room for one line of each: none is crowded out by a nearer scope
            assert set(scopes_shown) == {"session", "project", "agent", "global"}
        assert scopes_shown == sorted(scopes_shown, key=["session", "project", "agent", "global"].index)


def test_what_a_scope_leaves_unused_goes_to_the_others_and_long_ones_are_cut() -> None:
    block = render({"session": [mem("session", "one", "short")],
                    "global": [mem("global", f"g{i}", "y" * 1000) for i in range(5)]}, 2000)
    lines = lines_of(block)
    assert lines[0] == "- [session] one: short"
    assert len(lines) > 3  # global got more than half the budget
    assert all(len(line) <= ENTRY_CHARS and line.endswith("…") for line in lines[1:])
