"""The scenarios every real CLI must pass at every version the tier runs (tests/e2e_real/clis.py):
tasks in a row and a reply longer than the screen; a 5 s tool run with the window resized mid-turn;
a person typing into the idle pane; Esc mid-turn. Each starts in a project folder the CLI has never
seen, from a returning user's settings, and goes through cao's REST API only, except where a person
would use tmux itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cao.client import ApiClient
from cao.settings import Settings
from tests.conftest import ServerProcess, retry_until
from tests.e2e_real.clis import Cli, every_version, put_first_on_path
from tests.e2e_real.conftest import ModelServer
from tests.helpers import last_reply, screen, tmux

pytestmark = pytest.mark.e2e_real
TURN_TIMEOUT = 90
LONG = "\n".join(["Top of a long reply."] + [f"row {n} of the long reply" for n in range(1, 150)] + ["The end."])


@pytest.fixture(params=every_version())
def cli(request: pytest.FixtureRequest, real_home: Path, model: ModelServer, settings: Settings,
        monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    """That CLI and version, set up as a returning user has it, before cao-server starts."""
    chosen, bin_dir = request.param
    put_first_on_path(bin_dir, monkeypatch)
    chosen.setup(real_home, model, monkeypatch)
    yield chosen
    tmux(settings, "kill-server")


@pytest.fixture
def api(cli: Cli, real_server: ServerProcess) -> ApiClient:
    return real_server.client


def launch(api: ApiClient, cli: Cli, workdir: Path, **params: str) -> dict:
    terminal = api.request("POST", "/sessions", timeout=120, params={
        "provider": cli.provider, "agent_profile": "developer", "session_name": "sc",
        "working_directory": str(workdir), **params})
    assert terminal["status"] == "idle", terminal
    return terminal


def start_turn(api: ApiClient, tid: str, message: str) -> int:
    return api.request("POST", f"/terminals/{tid}/input", body={"message": message})["turn"]


def wait_turn(api: ApiClient, tid: str, turn: int) -> dict:
    return api.request("GET", f"/terminals/{tid}/wait", params={"turn": turn, "timeout": TURN_TIMEOUT},
                       timeout=TURN_TIMEOUT + 10)


def ask(api: ApiClient, tid: str, message: str) -> dict:
    return wait_turn(api, tid, start_turn(api, tid, message))


def status(api: ApiClient, tid: str) -> str:
    return api.get(f"/terminals/{tid}")["status"]


def test_tasks_in_a_row_and_a_reply_longer_than_the_screen(cli: Cli, api: ApiClient, model: ModelServer,
                                                            workdir: Path) -> None:
    model.set_rules([{"match": f"^task {n}$", "needs_tools": True, "text": f"Answer {n}.\nIts second line."}
                     for n in (1, 2, 3)] + [{"match": "^a long one$", "needs_tools": True, "text": LONG}])
    tid = launch(api, cli, workdir)["id"]
    for n in (1, 2, 3):
        final = ask(api, tid, f"task {n}")
        assert final["status"] == "completed", final
        assert last_reply(api, tid) == f"Answer {n}.\nIts second line."
    if cli.provider == "copilot_cli":
        pytest.skip("Copilot CLI draws in the alternate screen: a reply longer than it is read only as far as "
                    "it is visible (docs/providers/copilot_cli.md)")
    assert ask(api, tid, "a long one")["status"] == "completed"
    assert last_reply(api, tid) == LONG  # its first rows scrolled off the screen long before it ended


def test_a_five_second_tool_run_with_the_window_resized_mid_turn(cli: Cli, api: ApiClient, model: ModelServer,
                                                                 workdir: Path, settings: Settings) -> None:
    model.set_rules([
        {"match": "^run the slow command$", "needs_tools": True,
         **cli.shell("touch started && sleep 5 && echo slept-well")},
        {"on_tool_result": "slept-well", "text": "The command slept and finished."},
    ])
    terminal = launch(api, cli, workdir, yolo="true")
    tid = terminal["id"]
    turn = start_turn(api, tid, "run the slow command")
    retry_until(lambda: (workdir / "started").exists(), 60, 0.1, message="the command started")
    assert status(api, tid) == "processing"  # a tool running is work, not a finished turn
    target = f"{terminal['session_name']}:{terminal['name']}"
    assert tmux(settings, "resize-window", "-t", target, "-x", "100", "-y", "30").returncode == 0
    assert status(api, tid) == "processing"
    final = wait_turn(api, tid, turn)
    assert final["status"] == "completed", final
    assert last_reply(api, tid) == "The command slept and finished."
    assert ask(api, tid, "after the resize")["status"] == "completed"  # the redrawn screen still reads right


def test_a_person_typing_into_the_idle_pane(cli: Cli, api: ApiClient, model: ModelServer, workdir: Path,
                                            settings: Settings) -> None:
    model.set_rules([{"match": "^hello from a person$", "needs_tools": True, "text": "Hello, person."},
                     {"match": "^and now cao$", "needs_tools": True, "text": "Hello, cao."}])
    terminal = launch(api, cli, workdir)
    tid, target = terminal["id"], f"{terminal['session_name']}:{terminal['name']}"
    tmux(settings, "send-keys", "-t", target, "-l", "hello from a person")
    retry_until(lambda: "hello from a person" in api.get(f"/terminals/{tid}/output", mode="full")["output"],
                20, 0.1, message="the typed text shows in the pane")
    assert status(api, tid) == "idle"  # text in the box is not a turn
    tmux(settings, "send-keys", "-t", target, "Enter")
    retry_until(lambda: status(api, tid) == "completed", TURN_TIMEOUT, 0.1,
                message="the person's turn is seen through to its end")
    assert last_reply(api, tid) == "Hello, person."
    assert ask(api, tid, "and now cao")["status"] == "completed"
    assert last_reply(api, tid) == "Hello, cao."


def test_esc_mid_turn_is_interrupted_not_completed(cli: Cli, api: ApiClient, model: ModelServer,
                                                   workdir: Path) -> None:
    """cao's interrupt presses the CLI's own keys (Esc; twice for OpenCode; Ctrl+C for Hermes and Copilot)
    and the turn reads interrupted."""
    model.set_rules([{"match": "^take your time$", "needs_tools": True, "delay": 60, "text": "too late"},
                     {"match": "^hello there$", "needs_tools": True, "text": "Hello."},
                     # Hermes sends the interrupted task again, in front of the next one
                     {"match": "(?:^|\n)and now[?]$", "needs_tools": True, "text": "Now, yes."}])
    tid = launch(api, cli, workdir)["id"]
    assert ask(api, tid, "hello there")["status"] == "completed"
    turn = start_turn(api, tid, "take your time")
    retry_until(lambda: status(api, tid) == "processing", 30, 0.1, message="processing")
    api.request("POST", f"/terminals/{tid}/interrupt")
    ended = wait_turn(api, tid, turn)
    assert ended["status"] == "idle" and ended["last_turn_interrupted"], (ended, screen(api, tid))
    assert last_reply(api, tid) == ""  # no reply, and never the previous turn's as this one's answer
    # Some CLIs put the message back into the box. /key returns once the CLI has redrawn, so the next
    # message does not take the redraw of the cleared box (the previous turn's screen) as its answer.
    api.request("POST", f"/terminals/{tid}/key", params={"key": "C-u"})
    after = ask(api, tid, "and now?")
    assert after["status"] == "completed" and not after["last_turn_interrupted"], after
    assert last_reply(api, tid) == "Now, yes."
