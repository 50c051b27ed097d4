"""HermesProvider: detect / extract_last_reply on screens recorded from Hermes Agent 0.19.0, and build_launch.

The screens under tests/screens/hermes/ come from tests/screens/record_hermes.py (the real ``hermes chat``
in a private tmux server against cao's scripted model server, ``capture-pane -p``).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
import yaml

from cao.profiles import load_profile
from cao.providers import get_provider
from cao.providers.base import LaunchContext
from cao.providers.hermes import SH_PROMPT, HermesProvider
from cao.status import Status

SCREENS = Path(__file__).resolve().parents[1] / "screens" / "hermes"
MULTI = "First line of the answer.\n\nThird line, after a blank one.\nLast line."
LONG = "\n".join(["Top of a long reply."] + [f"row {n} of the long reply" for n in range(1, 80)] + ["The end."])
PROVIDER = HermesProvider()


def screen(name: str) -> list[str]:
    return (SCREENS / f"{name}.txt").read_text(encoding="utf-8").split("\n")


@pytest.mark.parametrize(("name", "status", "reply"), [
    ("idle", Status.IDLE, None),
    ("completed_multiline", Status.COMPLETED, MULTI),
    ("processing", Status.PROCESSING, None),  # the task is echoed, no answer after it yet
    ("completed_after_slow", Status.COMPLETED, "finally done"),
    ("completed_after_tool", Status.COMPLETED, "The tool ran."),  # an ordinary command runs unasked
    ("permission_dangerous", Status.WAITING_USER_ANSWER, None),
    ("completed_after_permission", Status.COMPLETED, "The tool ran."),
    ("error", Status.ERROR, "HTTP 400: scripted failure"),
    ("completed_after_error", Status.COMPLETED, MULTI),
    # Hermes drew the paragraph's blank row twice (the model's text has one: "break now\n\nand now?")
    ("completed_after_error_doubled_blank", Status.COMPLETED, "OK: break now\n\nand now?"),
    ("interrupted", Status.IDLE, None),  # Ctrl+C: "Interrupted during API call", no answer
])
def test_recorded_screens(name: str, status: Status, reply: str | None) -> None:
    lines = screen(name)
    assert PROVIDER.detect(lines) is status
    assert PROVIDER.extract_last_reply(lines) == reply


@pytest.mark.parametrize("name", ["completed_long", "completed_typed"])
def test_a_reply_longer_than_the_screen(name: str) -> None:
    visible = screen(name)
    assert not any("Top of a long reply." in line for line in visible)  # scrolled off
    assert PROVIDER.detect(visible) is Status.COMPLETED
    first = next(line.strip() for line in visible if line.startswith("    row "))
    assert PROVIDER.extract_last_reply(visible) == LONG[LONG.index(first + "\n"):]  # the visible tail
    assert PROVIDER.extract_last_reply(screen("completed_long_scrollback")) == LONG  # tmux history: whole


def test_a_screen_before_the_input_row_is_not_ready() -> None:
    lines = screen("idle")
    row = next(i for i, line in enumerate(lines) if line.rstrip() == "❯")
    assert PROVIDER.detect(lines[:row]) is Status.UNKNOWN


def test_registered() -> None:
    assert isinstance(get_provider("hermes"), HermesProvider)
    assert HermesProvider.tested_versions == ("0.19.0",) and HermesProvider.verified


TOKEN = "tok-abcd1234-secret"


@pytest.fixture
def fake_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    real = tmp_path / "home" / ".hermes"
    (real / "sessions").mkdir(parents=True)
    (real / ".env").write_text("OPENAI_API_KEY=sk-user\n")
    (real / "config.yaml").write_text("model:\n  provider: custom\n  default: m\n"
                                      "mcp_servers:\n  mine:\n    command: my-server\n")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("HERMES_HOME", raising=False)
    monkeypatch.setattr(HermesProvider, "resolve_binary", lambda self: "/opt/bin/hermes")
    return real


def context(tmp_path: Path, **kwargs: object) -> LaunchContext:
    values: dict = {"terminal_id": "abcd1234", "working_directory": tmp_path / "work", "runtime_dir": tmp_path / "run",
                    "profile": load_profile("developer", tmp_path / "cao-home"), "allowed_tools": ("*",),
                    "api_url": "http://127.0.0.1:9", "mcp_token": TOKEN}
    values.update(kwargs)
    return LaunchContext(**values)


def test_build_launch_a_home_of_its_own_with_the_users_files_linked(fake_home: Path, tmp_path: Path) -> None:
    before = {p: p.read_bytes() for p in fake_home.rglob("*") if p.is_file()}
    ctx = context(tmp_path, model="fake-model")
    spec = PROVIDER.build_launch(ctx)
    home = ctx.runtime_dir / "hermes-home"
    prompt = ctx.runtime_dir / "system_prompt.md"
    assert spec.argv == ["/bin/sh", "-c", SH_PROMPT, "cao-hermes", str(prompt), "/opt/bin/hermes", "chat",
                         "-m", "fake-model"]
    assert spec.env == {"HERMES_HOME": str(home)} and spec.uses_cao_mcp
    config = yaml.safe_load(spec.files[home / "config.yaml"])
    assert config["model"] == {"provider": "custom", "default": "m"}
    assert config["mcp_servers"]["mine"] == {"command": "my-server"}  # the user's own stay
    assert config["mcp_servers"]["cao"] == {"url": "http://127.0.0.1:9/mcp", "timeout": 3900,
                                            "headers": {"Authorization": f"Bearer {TOKEN}"}}
    assert os.readlink(home / ".env") == str(fake_home / ".env") and (home / "sessions").is_symlink()
    assert not (home / "config.yaml").exists()  # written by cao-server (0600), not linked
    assert spec.files[prompt].startswith("# Developer")
    assert {p: p.read_bytes() for p in fake_home.rglob("*") if p.is_file()} == before


@pytest.mark.parametrize("yolo", [False, True], ids=["asking", "yolo"])
def test_the_token_is_only_in_the_config_file(fake_home: Path, tmp_path: Path, yolo: bool) -> None:
    spec = PROVIDER.build_launch(context(tmp_path, yolo=yolo))
    assert ("--yolo" in spec.argv) is yolo
    assert not any(TOKEN in arg for arg in spec.argv)
    assert not any(TOKEN in value for value in spec.env.values())
    assert [path.name for path, text in spec.files.items() if TOKEN in text] == ["config.yaml"]


@pytest.mark.parametrize("yolo", [False, True], ids=["asking", "yolo"])
def test_restrictions_hold_with_and_without_yolo(fake_home: Path, tmp_path: Path, yolo: bool) -> None:
    spec = PROVIDER.build_launch(context(tmp_path, yolo=yolo, allowed_tools=("@cao-mcp-server", "fs_read", "fs_list")))
    toolsets = spec.argv[spec.argv.index("--toolsets") + 1].split(",")
    assert toolsets == ["clarify", "todo", "mcp-cao"]  # no terminal, code_execution, delegation, file (it writes too)
    spec = PROVIDER.build_launch(context(tmp_path, yolo=yolo, allowed_tools=("fs_*", "execute_bash")))
    assert spec.argv[spec.argv.index("--toolsets") + 1] == "terminal,code_execution,delegation,file,clarify,todo"
    assert not spec.uses_cao_mcp


def test_an_answer_box_without_its_bottom_is_still_being_drawn() -> None:
    lines = screen("completed_multiline")
    top = max(i for i, line in enumerate(lines) if line.startswith("╭─ ⚕ Hermes"))
    row = next(i for i, line in enumerate(lines) if line.rstrip() == "❯")
    drawing = lines[:top + 2] + lines[row - 2:]  # the box's top and first row, then the status row and input
    assert PROVIDER.detect(drawing) is Status.PROCESSING
    assert PROVIDER.extract_last_reply(drawing) is None


def test_the_banner_before_the_welcome_row_is_not_an_answer() -> None:
    lines = [line for line in screen("idle") if not line.startswith("Welcome to Hermes Agent")]
    assert PROVIDER.detect(lines) is Status.IDLE
    assert PROVIDER.extract_last_reply(lines) is None


def test_a_task_echoed_and_not_answered_yet_is_processing_with_the_idle_input_row() -> None:
    lines = screen("completed_multiline")
    echo = max(i for i, line in enumerate(lines) if line.startswith("● "))
    row = next(i for i, line in enumerate(lines) if line.rstrip() == "❯")
    assert PROVIDER.detect(lines[:echo + 2] + lines[row - 2:]) is Status.PROCESSING


def test_a_long_answer_still_streaming_in_is_processing() -> None:
    lines = screen("completed_long")
    end = max(i for i, line in enumerate(lines) if line.startswith("╰"))
    row = next(i for i, line in enumerate(lines) if line.rstrip() == "❯")
    assert PROVIDER.detect(lines[:end - 10] + lines[row - 2:]) is Status.PROCESSING  # no bottom border yet


def store(runtime_dir: Path, *messages: tuple[str, str, str]) -> None:
    """Hermes' state.db with only the columns cao reads: (session, role, content) rows in order."""
    home = runtime_dir / "hermes-home"
    home.mkdir(parents=True)
    with sqlite3.connect(home / "state.db") as con:
        con.execute("CREATE TABLE messages (id INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT, role TEXT, "
                    "content TEXT, active INTEGER NOT NULL DEFAULT 1)")
        con.executemany("INSERT INTO messages (session_id, role, content) VALUES (?, ?, ?)", messages)


SESSION = "20261207_021307_fafb61"  # the banner's in the recorded screens


def test_the_reply_as_hermes_saved_it_when_the_screen_shows_the_same_words(tmp_path: Path) -> None:
    lines = screen("completed_multiline")
    wrapped = MULTI.replace("\n\n", "\n\n\n")  # a blank row drawn twice, or a long line wrapped: same words
    store(tmp_path, (SESSION, "user", "the task"), (SESSION, "assistant", MULTI + "\n"))
    assert PROVIDER.recorded_reply(tmp_path, lines, wrapped) == MULTI


@pytest.mark.parametrize("messages", [
    [(SESSION, "assistant", "the answer to the turn before")],  # this turn not saved yet
    [(SESSION, "assistant", MULTI), (SESSION, "user", "a new task")],
    [("20261207_999999_abcdef", "assistant", MULTI)],  # another terminal's session in a shared store
    [],
], ids=["stale", "user-last", "other-session", "empty"])
def test_the_screen_stands_when_the_store_does_not_hold_this_reply(tmp_path: Path, messages: list) -> None:
    store(tmp_path, *messages)
    assert PROVIDER.recorded_reply(tmp_path, screen("completed_multiline"), MULTI) is None


def test_without_a_store_or_a_session_the_screen_stands(tmp_path: Path) -> None:
    assert PROVIDER.recorded_reply(tmp_path, screen("completed_multiline"), MULTI) is None  # no state.db
    store(tmp_path, (SESSION, "assistant", MULTI))
    no_banner = [line for line in screen("completed_multiline") if "Session:" not in line]
    assert PROVIDER.recorded_reply(tmp_path, no_banner, MULTI) is None
