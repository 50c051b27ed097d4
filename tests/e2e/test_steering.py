"""Steering an agent as a person would: interrupt its turn, answer its question (the mock agent in real tmux)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cao.client import ApiClient
from cao.errors import Conflict, InvalidInput
from tests.conftest import retry_until
from tests.e2e.test_cli import cao
from tests.helpers import launch, send_and_wait, write_script

SCRIPT = [{"match": "delete", "steps": [{"ask_permission": "Bash(rm -rf build)"}, {"reply": "deleted"}]},
          {"match": "slow", "steps": [{"wait": 60}, {"reply": "too late"}]}]


def status(api: ApiClient, tid: str) -> str:
    return api.get(f"/terminals/{tid}")["status"]


@pytest.fixture
def tid(api: ApiClient, workdir: Path, tmp_path: Path) -> str:
    script = write_script(tmp_path / "s.json", SCRIPT)
    return launch(api, workdir, env={"CAO_MOCK_SCRIPT": str(script)})["id"]


def test_interrupt_stops_the_turn_and_the_turn_reads_interrupted(api: ApiClient, tid: str) -> None:
    turn = api.request("POST", f"/terminals/{tid}/input", body={"message": "slow job"})["turn"]
    retry_until(lambda: status(api, tid) == "processing", message="processing")
    api.request("POST", f"/terminals/{tid}/interrupt")
    ended = api.get(f"/terminals/{tid}/wait", turn=turn, timeout=20)
    assert ended["status"] == "idle" and ended["last_turn_interrupted"], ended
    with pytest.raises(Conflict, match="is idle: it has no turn to interrupt"):
        api.request("POST", f"/terminals/{tid}/interrupt")


def test_answer_goes_only_into_a_dialog(api: ApiClient, tid: str) -> None:
    with pytest.raises(Conflict, match="is not asking anything"):
        api.request("POST", f"/terminals/{tid}/answer", body={"keys": ["1"]})
    assert send_and_wait(api, tid, "delete the build folder")["status"] == "waiting_user_answer"
    with pytest.raises(Conflict, match="cao terminal answer"):  # a message is never typed into the dialog
        api.request("POST", f"/terminals/{tid}/input", body={"message": "yes"})
    with pytest.raises(InvalidInput, match="invalid key"):
        api.request("POST", f"/terminals/{tid}/answer", body={"keys": ["rm -rf /"]})
    with pytest.raises(InvalidInput, match="1 to 10 keys"):
        api.request("POST", f"/terminals/{tid}/answer", body={"keys": []})
    assert status(api, tid) == "waiting_user_answer"  # nothing was pressed by the refused answers
    result = cao("terminal", "answer", tid, "1")
    assert result.returncode == 0, result.stderr
    assert f"Answered {tid} with 1" in result.stdout
    retry_until(lambda: status(api, tid) == "completed", message="completed after the answer")
    assert api.get(f"/terminals/{tid}/output", mode="last")["output"] == "deleted"


def test_cli_interrupt_says_when_there_is_nothing_to_stop(api: ApiClient, tid: str) -> None:
    result = cao("terminal", "interrupt", tid)
    assert result.returncode == 1
    assert "it has no turn to interrupt" in result.stderr
