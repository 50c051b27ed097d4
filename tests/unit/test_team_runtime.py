"""Pure parts of the team's run time: which hook event a bus event is, and the fallback plan."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from cao.events import Event
from cao.models import SessionRecord
from cao.teams import fallback, hooks
from cao.teams.loader import parse_team


@pytest.mark.parametrize(("kind", "data", "expected"), [
    ("terminal.created", {"terminal_id": "t"}, [("session_start", "t")]),
    ("terminal.removed", {"terminal_id": "t"}, [("session_end", "t")]),
    ("terminal.status", {"terminal_id": "t", "status": "completed", "previous": "processing"}, [("stop", "t")]),
    ("terminal.status", {"terminal_id": "t", "status": "waiting_user_answer", "previous": "processing"},
     [("notification", "t")]),
    ("terminal.status", {"terminal_id": "t", "status": "processing", "previous": "idle"}, [("on_user_input", "t")]),
    ("terminal.status", {"terminal_id": "t", "status": "processing", "previous": "processing"}, []),
    ("terminal.status", {"terminal_id": "t", "status": "idle", "previous": "unknown"}, []),
    ("message.queued", {"message_id": 1}, []),
])
def test_bus_events_to_hook_events(kind: str, data: dict, expected: list) -> None:
    assert hooks._hook_events(Event(1, kind, data, 0.0)) == expected


TEAM = """\
agents:
  root:
    model: mock/m
    instruction: x
    sub_agents: [w]
  w:
    model: anthropic/claude-sonnet-4-5
    instruction: x
    max_iterations: 2
    fallback: {models: [openai/gpt-5, google/gemini-2.5-pro], retries: 3, cooldown: 1m}
"""


def _rt() -> SimpleNamespace:
    team = parse_team(TEAM, source="t.yaml", base_dir=Path("/"))
    session = SessionRecord(name="cao-s", working_directory="/", team_json=team.to_json())
    return SimpleNamespace(registry=SimpleNamespace(sessions={"cao-s": session}, terminals={}),
                           settings=SimpleNamespace(home=Path("/nonexistent")))


def test_the_fallback_plan_and_a_fallback_that_sticks_for_its_cooldown() -> None:
    rt = _rt()
    plan = fallback.attempts(rt, "cao-s", "w")
    assert [(a.provider, a.model, a.retries) for a in plan] == [
        ("claude_code", "claude-sonnet-4-5", 3), ("codex", "gpt-5", 3), ("gemini_cli", "gemini-2.5-pro", 3)]
    assert plan[1].label == "codex/gpt-5"
    fallback.succeeded(rt, "cao-s", "w", plan[2])
    assert [a.index for a in fallback.attempts(rt, "cao-s", "w")] == [2, 0, 1]
    fallback.succeeded(rt, "cao-s", "w", plan[0])  # the primary worked again: back to the file's order
    assert [a.index for a in fallback.attempts(rt, "cao-s", "w")] == [0, 1, 2]
    assert [(a.provider, a.retries) for a in fallback.attempts(rt, "cao-s", "root")] == [(None, 0)]


def test_max_iterations_caps_retries() -> None:
    rt = _rt()
    assert fallback.turn_limit(rt, "cao-s", "w") == 2 and fallback.turn_limit(rt, "cao-s", "root") == 0
    assert [fallback.capped(3, 2), fallback.capped(3, 0), fallback.capped(0, 1)] == [1, 3, 0]


@pytest.mark.parametrize(("rows", "task", "expected"), [
    (["> write a poem", "✗ Error: API Error: 429 rate limit reached"], "write a poem", True),
    (["  ⎿  API Error: 429 {\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\"}}"], "x", True),  # Claude Code
    (["✕ [API Error: You exceeded your current quota (RESOURCE_EXHAUSTED)]"], "x", True),  # Gemini CLI
    (["■ stream error: exceeded retry limit, last status: 429 Too Many Requests"], "x", True),  # Codex CLI
    (["> add rate limiting to the API", "✗ Error: API Error: 500"], "add rate limiting to the API", False),
    (["✗ Error: API Error: 529 overloaded"], "x", False),  # a server error: retried
])
def test_a_rate_limit_on_the_error_screen_is_not_retried(rows: list[str], task: str, expected: bool) -> None:
    from cao.teams.fallback import rate_limited

    assert rate_limited(rows, task) is expected
