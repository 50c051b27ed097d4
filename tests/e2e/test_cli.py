"""The cao command end to end: real cao-server, real tmux on a private socket, the mock agent."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from cao.settings import Settings
from tests.conftest import ServerProcess, retry_until
from tests.helpers import tmux_sessions

ROOT = Path(__file__).resolve().parents[2]


def cao(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
        timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cao", *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, **(env or {})}, timeout=timeout, stdin=subprocess.DEVNULL)


def test_headless_launch_prints_reply_then_shutdown_all(server: ServerProcess, settings: Settings,
                                                         workdir: Path) -> None:
    result = cao("launch", "--agents", "developer", "--provider", "mock", "--headless", "--session-name",
                 "cli1", "Say hello to the team", cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert "Say hello to the team" in result.stdout
    assert "Session created: cao-cli1" in result.stderr
    assert "Session cao-cli1 keeps running; remove it with: cao shutdown --session cao-cli1" in result.stderr
    assert "\x1b" not in result.stderr  # no spinner when not on a terminal

    listed = cao("session", "list", "--json")
    assert '"cao-cli1"' in listed.stdout
    status = cao("session", "status", "cli1", "--workers")
    assert "completed" in status.stdout and "Workers: none" in status.stdout
    sent = cao("session", "send", "cli1", "second task")
    assert sent.returncode == 0 and "second task" in sent.stdout

    down = cao("shutdown", "--all")
    assert down.returncode == 0, down.stderr
    assert tmux_sessions(settings) == []


def test_rm_removes_the_session_after_the_reply(server: ServerProcess, settings: Settings, workdir: Path) -> None:
    result = cao("launch", "--agents", "developer", "--provider", "mock", "--rm", "--session-name", "once",
                 "Say hello once", cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert "Say hello once" in result.stdout
    assert "Removed session cao-once" in result.stderr and "keeps running" not in result.stderr
    assert tmux_sessions(settings) == []

    kept = cao("launch", "--agents", "developer", "--provider", "mock", "--headless", "--session-name", "twice",
               cwd=workdir)
    assert kept.returncode == 0, kept.stderr
    sent = cao("session", "send", "twice", "last words", "--rm")
    assert sent.returncode == 0, sent.stderr
    assert "last words" in sent.stdout and "Removed session cao-twice" in sent.stderr
    assert tmux_sessions(settings) == []

    for args in (["launch", "--agents", "developer", "--rm"],
                 ["launch", "--agents", "developer", "--rm", "--async", "x"],
                 ["session", "send", "twice", "x", "--rm", "--async"]):
        refused = cao(*args, cwd=workdir)
        assert refused.returncode == 2 and "--rm" in refused.stderr, (args, refused.stderr)


def test_async_launch_returns_before_reply(server: ServerProcess, workdir: Path, tmp_path: Path) -> None:
    script = tmp_path / "slow.json"
    script.write_text('{"rules": [{"match": ".", "steps": [{"wait": 30}, {"reply": "late"}]}]}')
    result = cao("launch", "--agents", "developer", "--provider", "mock", "--headless", "--async",
                 "--session-name", "a1", "--env", f"CAO_MOCK_SCRIPT={script}", "work", timeout=20)
    assert result.returncode == 0, result.stderr
    assert "Task sent" in result.stderr
    assert server.client.get("/sessions/a1")["session"]["conductor_status"] == "processing"


def test_errors_are_one_line_with_nonzero_exit(server: ServerProcess, settings: Settings, workdir: Path) -> None:
    cases = [
        (["launch", "--agents", "ghost", "--provider", "mock", "--headless"], "unknown agent profile 'ghost'"),
        (["launch", "--agents", "developer", "--headless", "--env", "NOEQUALS"], "expected KEY=VALUE"),
        (["launch", "--agents", "developer", "--headless", "--session-name", "bad/name"], "invalid session name"),
        (["launch", "--agents", "developer", "--headless", "--working-directory", "/nope/x"], "does not exist"),
        (["session", "status", "missing"], "session cao-missing not found"),
        (["shutdown", "--session", "missing"], "session cao-missing not found"),
        (["session", "status", "x" * 300], "invalid session name 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'… (300"),
    ]
    for args, words in cases:
        result = cao(*args, cwd=workdir)
        assert result.returncode != 0, args
        assert words in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
    assert tmux_sessions(settings) == []


def test_server_not_running_and_no_auto_start(settings: Settings, workdir: Path) -> None:
    result = cao("launch", "--agents", "developer", "--headless", "--no-auto-start", cwd=workdir)
    assert result.returncode == 1
    assert "cao-server is not running" in result.stderr
    result = cao("session", "list")
    assert result.returncode == 1 and "start it with: cao-server" in result.stderr


def test_launch_auto_starts_the_server(settings: Settings, workdir: Path) -> None:
    try:
        result = cao("launch", "--agents", "developer", "--provider", "mock", "--headless", "--session-name",
                     "auto", "hi", cwd=workdir, env={"CAO_AUTO_START": "1"})
        assert result.returncode == 0, result.stderr
        assert "Starting cao-server" in result.stderr
        assert "hi" in result.stdout
    finally:
        pid_file = settings.run_dir / "server.pid"
        if pid_file.exists():
            os.kill(int(pid_file.read_text()), signal.SIGTERM)
            retry_until(lambda: not pid_file.exists(), 15, message="auto-started server stops")


def test_readme_first_command_runs_the_demo(settings: Settings) -> None:
    result = subprocess.run([str(ROOT / "scripts" / "demo")], capture_output=True, text=True, timeout=300,
                            stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    final = result.stdout
    assert final.startswith("FINAL ANSWER")
    assert "- reviewer (handoff): Reviewed" in final
    for part in ("server", "CLI", "tests"):
        assert f"- developer (assign): finished 'Analyse the {part} of:" in final
    assert "developer" in result.stderr and "└" in result.stderr  # the tree of who created whom
    assert any(line.startswith("  └ reviewer ") and "removed)" in line  # the finished handoff worker too
               for line in result.stderr.splitlines()), result.stderr
    assert "removed when the demo ends" in result.stderr and "--keep" in result.stderr
    assert tmux_sessions(settings) == []
    assert not (settings.run_dir / "server.pid").exists()


def test_install_from_file_and_errors(settings: Settings, tmp_path: Path) -> None:
    good = tmp_path / "helper.md"
    good.write_text("---\nname: helper\ndescription: helps\nrole: developer\n---\nYou help.\n")
    result = cao("install", str(good))
    assert result.returncode == 0, result.stderr
    assert (settings.agent_store_dir / "helper.md").exists()
    bad = tmp_path / "bad.md"
    bad.write_text("---\nname: bad\nallowedTools: 5\n---\nbody\n")
    result = cao("install", str(bad))
    assert result.returncode == 1 and "allowedTools" in result.stderr
    result = cao("install", "http://example.com/x.md")
    assert result.returncode == 1 and "https" in result.stderr


def test_doctor_reports_tmux_server_and_providers(server: ServerProcess) -> None:
    result = cao("doctor")
    assert result.returncode == 0, result.stderr
    assert "tmux:    tmux 3." in result.stdout and "server:  running" in result.stdout
    assert "mock" in result.stdout
    providers = {p["name"]: p for p in server.client.get("/agents/providers")}
    assert providers["mock"]["installed"] is True


def test_missing_provider_binary_names_the_package(settings: Settings, workdir: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"  # a PATH with tmux and nothing else: no claude, wherever this runs
    bin_dir.mkdir()
    (bin_dir / "tmux").symlink_to(shutil.which("tmux") or "/usr/bin/tmux")
    monkeypatch.setenv("PATH", str(bin_dir))
    pinned = tmp_path / "no-real-clis"  # and no pinned CLIs either (this machine may have them cached)
    monkeypatch.setenv("CAO_REAL_CLIS_DIR", str(pinned))
    server = ServerProcess(settings)
    server.start()
    try:
        result = cao("launch", "--agents", "developer", "--provider", "claude_code", "--headless", cwd=workdir)
    finally:
        server.stop()
    assert result.returncode == 1
    assert "needs the 'claude' command" in result.stderr
    assert f"neither on PATH nor in {pinned}/node_modules/.bin" in result.stderr
    assert "npm install -g @anthropic-ai/claude-code" in result.stderr
    assert tmux_sessions(settings) == []


def test_restore_after_shutdown_opens_a_new_session(server: ServerProcess, settings: Settings,
                                                    workdir: Path) -> None:
    """The README's order: shut the session down, then restore a terminal of it."""
    launched = cao("launch", "--agents", "developer", "--provider", "mock", "--headless", "--session-name",
                   "gone", "remember the walrus", cwd=workdir)
    assert launched.returncode == 0, launched.stderr
    terminal_id = launched.stderr.split("(id ")[1].split(",")[0]
    assert cao("shutdown", "--session", "gone").returncode == 0
    assert tmux_sessions(settings) == []

    restored = cao("terminal", "restore", terminal_id)
    assert restored.returncode == 0, restored.stderr
    assert f"tmux -L {settings.tmux_socket} attach -t cao-gone" in restored.stdout
    assert tmux_sessions(settings) == ["cao-gone"]
    window = restored.stdout.split("window ")[1].split(" ")[0]
    retry_until(lambda: "remember the walrus" in subprocess.run(
        ["tmux", "-L", settings.tmux_socket or "", "capture-pane", "-p", "-J", "-S", "-", "-t", f"cao-gone:{window}"],
        capture_output=True, text=True).stdout, 10, message="the restored window shows the scrollback")
    assert "type exit in it to close it" in restored.stderr
    assert cao("shutdown", "--session", "gone").returncode == 0
    assert tmux_sessions(settings) == []


def test_doctor_finds_the_pinned_clis_and_says_where_it_looked(tmp_path: Path) -> None:
    """CLIs installed by scripts/install-real-clis are found (and launchable) without being on PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "tmux").symlink_to(shutil.which("tmux") or "/usr/bin/tmux")
    pinned = tmp_path / "real-clis" / "node_modules" / ".bin"
    pinned.mkdir(parents=True)
    claude = pinned / "claude"
    claude.write_text("#!/bin/sh\necho '2.1.197 (Claude Code)'\n")
    claude.chmod(0o755)
    result = cao("doctor", env={"PATH": str(bin_dir), "CAO_REAL_CLIS_DIR": str(tmp_path / "real-clis")})
    assert result.returncode == 0, result.stderr
    row = next(line for line in result.stdout.splitlines() if line.startswith("claude_code"))
    assert str(claude) in row and "2.1.197" in row and "tested" in row
    codex = next(line for line in result.stdout.splitlines() if line.startswith("codex"))
    assert "missing" in codex
    assert f"Looked for each CLI on PATH and in {pinned}" in result.stdout


def test_unmatched_skills_are_warned_about_at_install_and_launch(server: ServerProcess, tmp_path: Path,
                                                      workdir: Path) -> None:
    profile = tmp_path / "skilled.md"
    profile.write_text("---\nname: skilled\nrole: developer\nskills: [python, cao-flows]\n---\nYou code.\n")
    warning = "warning: profile 'skilled' lists skills (python) that match no installed skill"
    installed = cao("install", str(profile))
    assert installed.returncode == 0, installed.stderr
    assert installed.stderr.count(warning) == 1
    launched = cao("launch", "--agents", "skilled", "--provider", "mock", "--rm", "hello", cwd=workdir)
    assert launched.returncode == 0, launched.stderr
    assert launched.stderr.count(warning) == 1 and "hello" in launched.stdout
    plain = cao("launch", "--agents", "developer", "--provider", "mock", "--rm", "hello", cwd=workdir)
    assert plain.returncode == 0 and "warning" not in plain.stderr
