"""GitHub Copilot CLI 1.0 for real, driven through cao's REST API against the scripted model server.

The user runs Copilot offline with its own "bring your own model" switches (``COPILOT_OFFLINE=true``,
``COPILOT_PROVIDER_BASE_URL``, ``COPILOT_MODEL``): no GitHub account, no network. Their private HOME
holds nothing of Copilot's yet, so the new project folder's trust dialog shows, and cao answers it
for this session only.
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
from tests.helpers import last_reply, send_and_wait

pytestmark = pytest.mark.e2e_real
REPLY = "The capital of France is Paris.\nSecond line of the reply: done."

copilot_version = cli_version_fixture("@github/copilot")  # each version in the table


@pytest.fixture
def copilot_env(copilot_version: str, real_home: Path, model: ModelServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The user's Copilot variables; requested before ``real_server`` starts."""
    for name, value in (("COPILOT_OFFLINE", "true"), ("COPILOT_PROVIDER_BASE_URL", f"{model.url}/v1"),
                        ("COPILOT_MODEL", "gpt-4o"), ("COPILOT_PROVIDER_API_KEY", "sk-fake-copilot")):
        monkeypatch.setenv(name, value)
    for name in ("COPILOT_HOME", "COPILOT_ALLOW_ALL", "COPILOT_CUSTOM_INSTRUCTIONS_DIRS", "GH_TOKEN", "GITHUB_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return real_home / ".copilot"


@pytest.fixture
def api(copilot_env: Path, real_server: ServerProcess) -> ApiClient:
    return real_server.client


def start(api: ApiClient, workdir: Path, session: str = "cp1", **params: str) -> dict:
    return api.request("POST", "/sessions", timeout=120,
                       params={"provider": "copilot_cli", "agent_profile": "developer", "session_name": session,
                               "working_directory": str(workdir), **params})


def status(api: ApiClient, terminal_id: str) -> str:
    return api.get(f"/terminals/{terminal_id}")["status"]


def turns(model: ModelServer) -> list[dict]:
    return [r for r in model.requests() if r["tools"]]


def test_launch_task_reply_three_in_a_row_and_exit(api: ApiClient, model: ModelServer, workdir: Path,
                                                   copilot_env: Path) -> None:
    model.set_rules([{"match": "capital of France", "needs_tools": True, "text": REPLY}],
                    default={"text": "Answer to: {{text}}"})
    terminal = start(api, workdir)
    assert terminal["status"] == "idle", terminal  # the folder trust dialog was answered: this session only
    final = send_and_wait(api, terminal["id"], "Name the capital of France.", timeout=90)
    assert final["status"] == "completed", final
    assert last_reply(api, terminal["id"]) == REPLY
    turn = turns(model)[-1]
    assert turn["text"] == "Name the capital of France." and turn["model"] == "gpt-4o"
    assert any(tool.endswith("send_message") for tool in turn["tools"]), turn["tools"]
    assert "# Developer" in turn["system"]  # the profile, through the instructions folder
    for n in (1, 2):
        final = send_and_wait(api, terminal["id"], f"task number {n}", timeout=90)
        assert final["status"] == "completed", final
        assert last_reply(api, terminal["id"]) == f"Answer to: task number {n}"
    api.request("POST", f"/terminals/{terminal['id']}/exit")
    assert retry_until(lambda: api.get(f"/terminals/{terminal['id']}")["exit_reason"], 30, 0.1,
                       message="copilot exits on /exit")
    config = copilot_env / "config.json"
    assert str(workdir) not in (config.read_text() if config.exists() else "")  # trust was not remembered


def test_permission_prompt_is_waiting_and_nothing_is_typed_into_it(api: ApiClient, model: ModelServer,
                                                                  workdir: Path) -> None:
    model.set_rules([
        {"match": "^please make the file$", "needs_tools": True, "tool": "bash",
         "args": {"command": "touch made-by-copilot.txt", "description": "Create a file"}},
        {"on_tool_result": ".", "text": "The file is made."},
    ])
    terminal = start(api, workdir)
    final = send_and_wait(api, terminal["id"], "please make the file", timeout=90)
    assert final["status"] == "waiting_user_answer", final
    with pytest.raises(Conflict, match="waiting for an answer"):
        api.request("POST", f"/terminals/{terminal['id']}/input", body={"message": "2"})
    assert status(api, terminal["id"]) == "waiting_user_answer"
    assert not (workdir / "made-by-copilot.txt").exists()
    api.request("POST", f"/terminals/{terminal['id']}/key", params={"key": "Enter"})  # 1. Yes
    retry_until(lambda: status(api, terminal["id"]) == "completed", 60, 0.1, message="the turn completes")
    assert last_reply(api, terminal["id"]) == "The file is made."
    assert (workdir / "made-by-copilot.txt").exists()


def test_api_error_is_error_with_its_text_then_the_next_turn_recovers(api: ApiClient, model: ModelServer,
                                                                      workdir: Path) -> None:
    model.set_rules([{"match": "^break now$", "needs_tools": True, "error": 400, "message": "scripted failure"}])
    terminal = start(api, workdir)
    final = send_and_wait(api, terminal["id"], "break now", timeout=90)
    assert final["status"] == "error", final
    assert last_reply(api, terminal["id"]) == "400 scripted failure"
    final = send_and_wait(api, terminal["id"], "and now?", timeout=90)
    assert final["status"] == "completed", final
    assert last_reply(api, terminal["id"]) == "OK: and now?"


@pytest.mark.parametrize("yolo", ["false", "true"])
def test_a_profile_without_execute_bash_cannot_run_a_shell_command(api: ApiClient, model: ModelServer,
                                                                   workdir: Path, yolo: str) -> None:
    """--excluded-tools takes the shell from the model and --deny-tool shell refuses it, with and without
    yolo (--allow-all); a call by name anyway creates nothing and asks nothing."""
    model.set_rules([{"match": "^run it$", "needs_tools": True, "tool": "bash", "force": True,
                      "args": {"command": "touch not-allowed.txt", "description": "x"}},
                     {"on_tool_result": ".", "text": "The tool said: {{tool_result}}"}],
                    default={"text": "No shell here."})
    terminal = start(api, workdir, agent_profile="reviewer", yolo=yolo)  # reviewer: @builtin, fs_read, fs_list, cao
    final = send_and_wait(api, terminal["id"], "run it", timeout=90)
    assert final["status"] == "completed", final  # no permission prompt: there is nothing to allow
    tools = set(turns(model)[0]["tools"])
    assert "view" in tools and not {"bash", "read_bash", "create", "edit", "task"} & tools, tools
    assert not (workdir / "not-allowed.txt").exists()
    assert last_reply(api, terminal["id"]).startswith("The tool said:")


def test_send_message_through_cao_mcp_over_http(api: ApiClient, model: ModelServer, workdir: Path,
                                                settings: Settings) -> None:
    """Copilot talks to cao-server's ``/mcp`` itself; its token is only in its 0600 MCP file, and cao's
    tools do not ask (``--allow-tool cao``)."""
    agent = start(api, workdir)
    assert agent["status"] == "idle", agent  # cao saw Copilot's tools/list on /mcp
    assert_token_only_in_its_config(api, settings, agent, "copilot-mcp.json")
    receiver = api.request("POST", "/sessions/cp1/terminals", timeout=60,
                           params={"provider": "mock", "agent_profile": "reviewer"})
    model.set_rules([
        {"match": "^please tell the reviewer$", "needs_tools": True, "tool": "send_message",
         "args": {"receiver_id": receiver["id"], "message": "hello over http"}},
        {"on_tool_result": ".", "text": "Sent: {{tool_result}}"}])
    final = send_and_wait(api, agent["id"], "please tell the reviewer", timeout=90)
    assert final["status"] == "completed", final
    inbox = retry_until(lambda: api.get(f"/terminals/{receiver['id']}/inbox/messages"), 20,
                        message="the message reaches the receiver's inbox")
    assert [(m["sender_id"], m["message"]) for m in inbox] == [(agent["id"], "hello over http")]
    assert last_reply(api, agent["id"]) == f"Sent: Message 1 queued for terminal {receiver['id']}."


def test_ctrl_c_mid_turn_is_interrupted_not_completed(api: ApiClient, model: ModelServer, workdir: Path) -> None:
    """Copilot 1.0.102 cancels a turn that waits for the model on Ctrl+C (Esc there only edits the prompt)."""
    model.set_rules([{"match": "^take your time$", "needs_tools": True, "delay": 30, "text": "too late"}])
    tid = start(api, workdir)["id"]
    assert send_and_wait(api, tid, "hello there", timeout=90)["status"] == "completed"
    turn = api.request("POST", f"/terminals/{tid}/input", body={"message": "take your time"})["turn"]
    retry_until(lambda: status(api, tid) == "processing", 30, message="processing")
    api.request("POST", f"/terminals/{tid}/key", params={"key": "C-c"})
    ended = api.request("GET", f"/terminals/{tid}/wait", params={"turn": turn, "timeout": 50}, timeout=60)
    assert ended["status"] == "idle" and ended["last_turn_interrupted"], ended
    assert last_reply(api, tid) == ""  # not "OK: hello there", the previous turn's reply
    model.set_rules([])
    after = send_and_wait(api, tid, "and now?", timeout=90)
    assert after["status"] == "completed" and not after["last_turn_interrupted"], after
    assert last_reply(api, tid) == "OK: and now?"
