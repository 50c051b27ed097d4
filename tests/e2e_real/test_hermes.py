"""Hermes Agent 0.19 for real, driven through cao's REST API against the scripted model server.

The private HOME holds what a returning user has: ``~/.hermes/config.yaml`` naming a custom
OpenAI-compatible endpoint, the key in the environment. ``HERMES_DISABLE_LAZY_INSTALLS=1`` is set as a
user offline would (Hermes would otherwise pip-install optional features at start).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cao.client import ApiClient
from cao.errors import Conflict
from cao.settings import Settings
from tests.conftest import ServerProcess, retry_until
from tests.e2e_real.agent_processes import assert_token_only_in_its_config
from tests.e2e_real.conftest import ModelServer, cli_version_fixture
from tests.helpers import last_reply, screen, send_and_wait

pytestmark = pytest.mark.e2e_real
REPLY = "The capital of France is Paris.\nSecond line of the reply: done."
WIDE = "First row.\n" + " ".join(f"word {n}" for n in range(1, 91))  # the second row wider than the window

hermes_version = cli_version_fixture("hermes-agent")  # each version in the table


@pytest.fixture
def hermes_dir(hermes_version: str, real_home: Path, model: ModelServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The returning user's ~/.hermes; requested before ``real_server`` starts."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-fake-hermes-key")
    monkeypatch.setenv("HERMES_DISABLE_LAZY_INSTALLS", "1")
    for name in ("HERMES_HOME", "HERMES_EPHEMERAL_SYSTEM_PROMPT", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    home = real_home / ".hermes"
    home.mkdir()
    (home / "config.yaml").write_text(f"model:\n  provider: custom\n  default: fake-model\n"
                                      f"  base_url: {model.url}/v1\n")
    return home


@pytest.fixture
def api(hermes_dir: Path, real_server: ServerProcess) -> ApiClient:
    return real_server.client


def start(api: ApiClient, workdir: Path, session: str = "h1", **params: str) -> dict:
    return api.request("POST", "/sessions", timeout=180,
                       params={"provider": "hermes", "agent_profile": "developer", "session_name": session,
                               "working_directory": str(workdir), **params})


def status(api: ApiClient, terminal_id: str) -> str:
    return api.get(f"/terminals/{terminal_id}")["status"]


def turns(model: ModelServer) -> list[dict]:
    return [r for r in model.requests() if r["tools"]]  # Hermes' title request has no tools


def test_launch_task_reply_three_in_a_row_and_exit(api: ApiClient, model: ModelServer, workdir: Path,
                                                 hermes_dir: Path) -> None:
    config_before = (hermes_dir / "config.yaml").read_text()
    model.set_rules([{"match": "capital of France", "needs_tools": True, "text": REPLY},
                     {"match": "^a wide one$", "needs_tools": True, "text": WIDE}],
                    default={"text": "Answer to: {{text}}"})
    terminal = start(api, workdir)
    assert terminal["status"] == "idle", terminal
    final = send_and_wait(api, terminal["id"], "Name the capital of France.", timeout=120)
    assert final["status"] == "completed", final
    assert last_reply(api, terminal["id"]) == REPLY
    turn = turns(model)[-1]
    assert turn["text"] == "Name the capital of France." and turn["model"] == "fake-model"
    assert "mcp__cao__send_message" in turn["tools"]
    assert "# Developer" in turn["system"]  # HERMES_EPHEMERAL_SYSTEM_PROMPT
    final = send_and_wait(api, terminal["id"], "task number 2", timeout=120)
    assert final["status"] == "completed", final
    assert last_reply(api, terminal["id"]) == "Answer to: task number 2"
    assert send_and_wait(api, terminal["id"], "a wide one", timeout=120)["status"] == "completed"
    shown = screen(api, terminal["id"])
    assert "    word 1 " in shown and " word 90" in shown and WIDE not in shown  # wrapped on screen
    assert last_reply(api, terminal["id"]) == WIDE  # whole, from Hermes' session store
    api.request("POST", f"/terminals/{terminal['id']}/exit")
    assert retry_until(lambda: api.get(f"/terminals/{terminal['id']}")["exit_reason"], 30, 0.1,
                       message="hermes exits on /exit")
    assert (hermes_dir / "config.yaml").read_text() == config_before  # cao wrote nothing of the user's


def test_a_dangerous_command_is_waiting_and_nothing_is_typed_into_it(api: ApiClient, model: ModelServer,
                                                                    workdir: Path) -> None:
    (workdir / "scratch").mkdir()
    model.set_rules([
        {"match": "^please remove the folder$", "needs_tools": True, "tool": "terminal",
         "args": {"command": "rm -rf ./scratch"}},
        {"on_tool_result": ".", "text": "The tool ran."},
    ])
    terminal = start(api, workdir)
    final = send_and_wait(api, terminal["id"], "please remove the folder", timeout=120)
    assert final["status"] == "waiting_user_answer", final
    with pytest.raises(Conflict, match="waiting for an answer"):
        api.request("POST", f"/terminals/{terminal['id']}/input", body={"message": "4"})
    assert (workdir / "scratch").exists()
    api.request("POST", f"/terminals/{terminal['id']}/key", params={"key": "Enter"})  # 1. Allow once
    retry_until(lambda: status(api, terminal["id"]) == "completed", 60, 0.1, message="the turn completes")
    assert last_reply(api, terminal["id"]) == "The tool ran."
    assert not (workdir / "scratch").exists()


def test_api_error_is_error_with_its_text(api: ApiClient, model: ModelServer, workdir: Path) -> None:
    model.set_rules([{"match": "^break now$", "needs_tools": True, "error": 400, "message": "scripted failure"}])
    terminal = start(api, workdir)
    final = send_and_wait(api, terminal["id"], "break now", timeout=120)
    assert final["status"] == "error", final
    assert last_reply(api, terminal["id"]) == "HTTP 400: scripted failure", screen(api, terminal["id"])
    final = send_and_wait(api, terminal["id"], "and now?", timeout=120)
    assert final["status"] == "completed", final
    assert last_reply(api, terminal["id"]) == "OK: break now\n\nand now?", (  # Hermes resends the failed task
        turns(model)[-1], screen(api, terminal["id"]))


@pytest.mark.parametrize("yolo", ["false", "true"])
def test_a_profile_without_execute_bash_cannot_run_a_shell_command(api: ApiClient, model: ModelServer,
                                                                   workdir: Path, yolo: str) -> None:
    model.set_rules([{"match": "^run it$", "needs_tools": True, "tool": "terminal", "force": True,
                      "args": {"command": "touch not-allowed.txt"}},
                     {"on_tool_result": ".", "text": "The tool said: {{tool_result}}"}],
                    default={"text": "No shell here."})
    terminal = start(api, workdir, agent_profile="reviewer", yolo=yolo)  # reviewer: @builtin, fs_read, fs_list, cao
    final = send_and_wait(api, terminal["id"], "run it", timeout=120)
    assert final["status"] == "completed", final
    tools = set(turns(model)[0]["tools"])
    assert "mcp__cao__send_message" in tools and not {"terminal", "process", "execute_code", "write_file"} & tools
    assert not (workdir / "not-allowed.txt").exists()


def test_send_message_through_cao_mcp_over_http(api: ApiClient, model: ModelServer, workdir: Path,
                                                settings: Settings) -> None:
    agent = start(api, workdir)
    assert agent["status"] == "idle", agent  # cao saw Hermes' tools/list on /mcp
    assert_token_only_in_its_config(api, settings, agent, "hermes-home/config.yaml")
    receiver = api.request("POST", "/sessions/h1/terminals", timeout=60,
                           params={"provider": "mock", "agent_profile": "reviewer"})
    model.set_rules([
        {"match": "^please tell the reviewer$", "needs_tools": True, "tool": "send_message",
         "args": {"receiver_id": receiver["id"], "message": "hello over http"}},
        {"on_tool_result": ".", "text": "Sent it."}])
    final = send_and_wait(api, agent["id"], "please tell the reviewer", timeout=120)
    assert final["status"] == "completed", final
    inbox = retry_until(lambda: api.get(f"/terminals/{receiver['id']}/inbox/messages"), 20,
                        message="the message reaches the receiver's inbox")
    assert [(m["sender_id"], m["message"]) for m in inbox] == [(agent["id"], "hello over http")]
    assert last_reply(api, agent["id"]) == "Sent it."


def test_ctrl_c_mid_turn_is_interrupted_not_completed(api: ApiClient, model: ModelServer, workdir: Path) -> None:
    """Hermes 0.19 cancels a turn on Ctrl+C ("Interrupted during API call"); Esc does not. (The delay is
    short: the model server finishes the abandoned reply before it stops.)"""
    model.set_rules([{"match": "^take your time$", "needs_tools": True, "delay": 8, "text": "too late"}])
    tid = start(api, workdir)["id"]
    assert send_and_wait(api, tid, "hello there", timeout=120)["status"] == "completed"
    turn = api.request("POST", f"/terminals/{tid}/input", body={"message": "take your time"})["turn"]
    retry_until(lambda: "msg=interrupt" in api.get(f"/terminals/{tid}/output", mode="full")["output"].split(
        "OK: hello there")[-1], 30, 0.1, message="Hermes works on it (a Ctrl+C before that only clears its input)")
    retry_until(lambda: status(api, tid) == "processing", 30, message="processing")
    api.request("POST", f"/terminals/{tid}/key", params={"key": "C-c"})
    ended = api.request("GET", f"/terminals/{tid}/wait", params={"turn": turn, "timeout": 50}, timeout=60)
    assert ended["status"] == "idle" and ended["last_turn_interrupted"], ended
    assert last_reply(api, tid) == ""  # not "OK: hello there", the previous turn's reply
