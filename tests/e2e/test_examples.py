"""Every example in examples/ runs offline and prints what its README promises."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cao.settings import Settings
from tests.conftest import retry_until
from tests.helpers import tmux_sessions

ROOT = Path(__file__).resolve().parents[2]
EXPECTED = {
    "handoff": "Summary from the summarizer: tmux keeps each agent in its own window",
    "assign": "Combined report:\n- Analyse dataset Q",
    "send_message": "Conversation over: Bob prefers Vim, I prefer Emacs, and we agreed to disagree.",
    "teams/research": "Research answer\nSummary: tmux sessions survive a closed terminal (source: man tmux).",
    "teams/review": 'Review summary\nreviewer: {"verdict": "request_changes", "issues": ["parse() lacks a test',
}


@pytest.fixture
def auto_started_server(settings: Settings) -> Iterator[None]:
    yield
    pid_file = settings.run_dir / "server.pid"
    if pid_file.exists():
        os.kill(int(pid_file.read_text()), signal.SIGTERM)
        retry_until(lambda: not pid_file.exists(), 15, message="server stopped")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_runs(name: str, settings: Settings, auto_started_server: None, tmp_path: Path) -> None:
    env = {**os.environ, "CAO_AUTO_START": "1", "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    result = subprocess.run([str(ROOT / "examples" / name / "run.sh")], capture_output=True, text=True, env=env,
                            cwd=tmp_path, timeout=180, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    assert EXPECTED[name] in result.stdout
    if name == "assign":
        assert all(f"dataset {q}" in result.stdout for q in ("Q1", "Q2", "Q3"))
    assert tmux_sessions(settings) == []


FLOW_EXPECTED = {
    "daily-summary": ["Added flow daily-summary (0 9 * * 1-5, Europe/Berlin).", "Run 1: completed",
                      "Look at the commits made in this repository"],
    "new-commits": ["Run 1: completed", "new commit(s) on", "Run 2: skipped_by_script"],
}


@pytest.mark.parametrize("name", sorted(FLOW_EXPECTED))
def test_flow_example_runs(name: str, settings: Settings, auto_started_server: None, tmp_path: Path) -> None:
    env = {**os.environ, "CAO_AUTO_START": "1", "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    result = subprocess.run([str(ROOT / "examples" / "flows" / name / "run.sh")], capture_output=True, text=True,
                            env=env, cwd=tmp_path, timeout=180, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    for expected in FLOW_EXPECTED[name]:
        assert expected in result.stdout
    assert tmux_sessions(settings) == []  # removing the flow removed its session
