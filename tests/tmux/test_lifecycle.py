"""Terminal lifecycle through the real server, real tmux (private socket) and the mock agent."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from cao.client import ApiClient
from cao.errors import Conflict, InvalidInput, NotFound
from cao.settings import Settings
from tests.conftest import ServerProcess, retry_until
from tests.helpers import launch, pane_of, send_and_wait, tmux, tmux_sessions, write_script


def status(api: ApiClient, terminal_id: str) -> str:
    return api.get(f"/terminals/{terminal_id}")["status"]


def test_launch_creates_named_window_with_minimal_environment(
    api: ApiClient, settings: Settings, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    terminal = launch(api, workdir, env={"PROJECT_FLAG": "on"})
    assert re.fullmatch(r"[a-f0-9]{8}", terminal["id"])
    assert re.fullmatch(r"developer-[a-f0-9]{4}", terminal["name"])
    assert terminal["session_name"] == "cao-t1"
    assert terminal["status"] == "idle"
    assert tmux_sessions(settings) == ["cao-t1"]
    pane_pid = tmux(settings, "display-message", "-p", "-t", pane_of(settings, "cao-t1", terminal["name"]),
                    "#{pane_pid}").stdout.strip()
    environ = dict(item.split("=", 1) for item in
                   Path(f"/proc/{pane_pid}/environ").read_text().split("\0") if "=" in item)
    assert environ["CAO_TERMINAL_ID"] == terminal["id"]
    assert environ["PROJECT_FLAG"] == "on"
    assert "PYTEST_CURRENT_TEST" not in environ  # the server's own environment does not leak
    assert Path(f"/proc/{pane_pid}/cwd").resolve() == workdir.resolve()


def test_status_goes_idle_processing_completed(api: ApiClient, workdir: Path, tmp_path: Path) -> None:
    script = write_script(tmp_path / "s.json", [{"match": "slow", "steps": [{"wait": 1.0}, {"reply": "done slowly"}]}])
    terminal = launch(api, workdir, env={"CAO_MOCK_SCRIPT": str(script)})
    tid = terminal["id"]
    turn = api.request("POST", f"/terminals/{tid}/input", body={"message": "slow please"})["turn"]
    retry_until(lambda: status(api, tid) == "processing", message="processing")
    final = api.get(f"/terminals/{tid}/wait", turn=turn, timeout=20)
    assert final["status"] == "completed"
    assert final["turns_finished"] == turn
    assert api.get(f"/terminals/{tid}/output", mode="last")["output"] == "done slowly"


def test_permission_question_is_waiting_user_answer(api: ApiClient, workdir: Path, tmp_path: Path) -> None:
    script = write_script(tmp_path / "s.json", [
        {"match": "delete", "steps": [{"ask_permission": "Bash(rm -rf build)"}, {"reply": "deleted"}]}])
    tid = launch(api, workdir, env={"CAO_MOCK_SCRIPT": str(script)})["id"]
    final = send_and_wait(api, tid, "delete the build folder")
    assert final["status"] == "waiting_user_answer"
    api.request("POST", f"/terminals/{tid}/key", params={"key": "1"})
    retry_until(lambda: status(api, tid) == "completed", message="completed after answering")
    assert "deleted" in api.get(f"/terminals/{tid}/output", mode="last")["output"]


def test_scripted_failure_is_error_and_next_turn_recovers(api: ApiClient, workdir: Path, tmp_path: Path) -> None:
    script = write_script(tmp_path / "s.json", [{"match": "boom", "steps": [{"fail": "API Error: 500"}]}])
    tid = launch(api, workdir, env={"CAO_MOCK_SCRIPT": str(script)})["id"]
    assert send_and_wait(api, tid, "boom")["status"] == "error"
    assert send_and_wait(api, tid, "fine now")["status"] == "completed"


def test_multiline_message_with_quotes_arrives_whole(api: ApiClient, workdir: Path) -> None:
    tid = launch(api, workdir)["id"]
    message = 'line one "quoted" $HOME `date`\nline two; rm -rf /\n\tline three \\ end'
    assert send_and_wait(api, tid, message)["status"] == "completed"
    reply = api.get(f"/terminals/{tid}/output", mode="last")["output"]
    for line in message.splitlines():
        assert line.strip() in reply


def test_human_typing_in_the_pane_is_tracked(api: ApiClient, settings: Settings, workdir: Path) -> None:
    terminal = launch(api, workdir)
    tid, pane = terminal["id"], pane_of(settings, "cao-t1", terminal["name"])
    tmux(settings, "send-keys", "-t", pane, "-l", "typed by a human")
    retry_until(lambda: "typed by a human" in tmux(settings, "capture-pane", "-p", "-t", pane).stdout)
    assert status(api, tid) == "idle"  # half-typed text is not work
    tmux(settings, "send-keys", "-t", pane, "Enter")
    retry_until(lambda: status(api, tid) == "completed", message="human turn completes")
    assert "typed by a human" in api.get(f"/terminals/{tid}/output", mode="last")["output"]


def test_exit_marks_terminal_and_delete_keeps_snapshot(api: ApiClient, settings: Settings, workdir: Path) -> None:
    terminal = launch(api, workdir)
    tid = terminal["id"]
    send_and_wait(api, tid, "remember me")
    api.request("POST", f"/terminals/{tid}/exit")
    exited = retry_until(lambda: (t := api.get(f"/terminals/{tid}"))["exit_reason"] and t, message="exit seen")
    assert exited["status"] == "error"
    with pytest.raises(Conflict):
        api.request("POST", f"/terminals/{tid}/input", body={"message": "hello?"})
    api.request("DELETE", f"/terminals/{tid}")
    assert tmux_sessions(settings) == []
    logs = settings.terminal_logs_dir
    assert "remember me" in (logs / f"{tid}.scrollback").read_text()
    assert json.loads((logs / f"{tid}.snapshot.json").read_text())["window_name"] == terminal["name"]
    with pytest.raises(NotFound):
        api.get(f"/terminals/{tid}")


def test_second_terminal_joins_session_and_session_delete_removes_all(
    api: ApiClient, settings: Settings, workdir: Path
) -> None:
    first = launch(api, workdir)
    second = api.request("POST", "/sessions/cao-t1/terminals", timeout=60,
                         params={"agent_profile": "reviewer", "provider": "mock", "caller_id": first["id"]})
    assert second["caller_id"] == first["id"]
    detail = api.get("/sessions/t1")
    assert detail["session"]["conductor_id"] == first["id"]
    assert [t["id"] for t in detail["terminals"]] == [first["id"], second["id"]]
    assert api.get("/sessions")[0]["terminals"] == 2
    assert api.request("DELETE", "/sessions/t1")["deleted"] == ["cao-t1"]
    assert tmux_sessions(settings) == []
    assert api.get("/sessions") == []


def test_server_restart_readopts_live_terminal(server: ServerProcess, settings: Settings, workdir: Path) -> None:
    api = server.client
    tid = launch(api, workdir)["id"]
    send_and_wait(api, tid, "before restart")
    server.stop()
    assert tmux_sessions(settings) == ["cao-t1"]  # agents outlive the server
    server.start()
    assert api.get(f"/terminals/{tid}")["status"] == "completed"
    assert send_and_wait(api, tid, "after restart")["status"] == "completed"
    assert "after restart" in api.get(f"/terminals/{tid}/output", mode="last")["output"]


def test_vanished_terminal_is_marked_after_restart(server: ServerProcess, settings: Settings, workdir: Path) -> None:
    api = server.client
    tid = launch(api, workdir)["id"]
    server.stop()
    tmux(settings, "kill-server")
    server.start()
    terminal = api.get(f"/terminals/{tid}")
    assert terminal["status"] == "error"
    assert "vanished" in terminal["exit_reason"]


@pytest.mark.parametrize(("params", "error", "words"), [
    ({"agent_profile": "nobody"}, NotFound, "installed profiles: code_supervisor, developer, reviewer"),
    ({"session_name": "bad name"}, InvalidInput, "invalid session name"),
    ({"provider": "nope"}, InvalidInput, "known providers: claude_code, codex, copilot_cli, "),
    ({"working_directory": "/definitely/missing"}, InvalidInput, "does not exist"),
])
def test_bad_launch_requests_fail_clearly_and_leave_nothing(
    api: ApiClient, settings: Settings, workdir: Path, params: dict, error: type, words: str
) -> None:
    query = {"agent_profile": "developer", "provider": "mock", "session_name": "bad",
             "working_directory": str(workdir), **params}
    with pytest.raises(error, match=re.escape(words)):
        api.request("POST", "/sessions", params=query)
    assert tmux_sessions(settings) == []


def test_duplicate_session_is_a_conflict(api: ApiClient, settings: Settings, workdir: Path) -> None:
    launch(api, workdir)
    with pytest.raises(Conflict, match="already exists"):
        launch(api, workdir)
    assert tmux_sessions(settings) == ["cao-t1"]
    assert len(api.get("/sessions/t1")["terminals"]) == 1


def test_agent_that_dies_on_start_leaves_no_window(api: ApiClient, settings: Settings, workdir: Path,
                                                   tmp_path: Path) -> None:
    script = tmp_path / "broken.json"
    script.write_text("{not json")
    with pytest.raises(Exception, match="stopped while starting"):
        launch(api, workdir, env={"CAO_MOCK_SCRIPT": str(script)})
    assert tmux_sessions(settings) == []
    assert api.get("/sessions") == []
