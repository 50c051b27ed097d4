"""Gemini CLI 0.61 for real, driven through cao's REST API against the scripted model server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cao.client import ApiClient
from cao.settings import Settings
from tests.conftest import ServerProcess, retry_until
from tests.e2e_real.agent_processes import assert_token_only_in_its_config
from tests.e2e_real.conftest import ModelServer, cli_version_fixture
from tests.helpers import last_reply, send_and_wait

pytestmark = pytest.mark.e2e_real
REPLY = "The capital of France is Paris.\nSecond line of the reply: done."
gemini_version = cli_version_fixture("@google/gemini-cli")  # each version in the table


@pytest.fixture
def gemini_env(gemini_version: str, real_home: Path, model: ModelServer, workdir: Path,
               monkeypatch: pytest.MonkeyPatch) -> Path:
    """The model endpoint and a private HOME with what a returning user has — their settings, and no trust
    decision for this new project folder (cao trusts the folder it was told to work in, for the run only);
    requested before ``real_server`` starts."""
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", model.url)
    monkeypatch.setenv("GEMINI_API_KEY", "fake-gemini-key")
    dot = real_home / ".gemini"
    dot.mkdir()
    (dot / "settings.json").write_text(json.dumps({"security": {"auth": {"selectedType": "gemini-api-key"}}}))
    (dot / "trustedFolders.json").write_text(json.dumps({"/some/other/project": "TRUST_FOLDER"}))
    return dot


@pytest.fixture
def api(gemini_env: Path, real_server: ServerProcess) -> ApiClient:
    return real_server.client


def start(api: ApiClient, workdir: Path, session: str = "g1", **params: str) -> dict:
    return api.request("POST", "/sessions", timeout=90,
                       params={"provider": "gemini_cli", "agent_profile": "developer", "session_name": session,
                               "working_directory": str(workdir), **params})


def status(api: ApiClient, terminal_id: str) -> str:
    return api.get(f"/terminals/{terminal_id}")["status"]


def test_launch_task_reply_and_exit(api: ApiClient, model: ModelServer, workdir: Path) -> None:
    model.set_rules([{"match": "capital of France", "text": REPLY}])
    terminal = start(api, workdir)
    assert terminal["status"] == "idle", terminal
    final = send_and_wait(api, terminal["id"], "Name the capital of France.", timeout=60)
    assert final["status"] == "completed"
    assert last_reply(api, terminal["id"]) == REPLY
    turns = [r for r in model.requests() if r["path"].endswith(":streamGenerateContent")]
    assert turns[-1]["text"] == "Name the capital of France."
    assert "mcp_cao_send_message" in turns[-1]["tools"]
    assert turns[-1]["system"].startswith("# Developer")  # the profile replaces Gemini's system prompt
    model.set_rules([{"match": "take your time", "delay": 2, "text": "Done, slowly."}])
    turn = api.request("POST", f"/terminals/{terminal['id']}/input", body={"message": "take your time"})["turn"]
    retry_until(lambda: status(api, terminal["id"]) == "processing", 10, 0.02, message="gemini shows its spinner")
    final = api.request("GET", f"/terminals/{terminal['id']}/wait", params={"turn": turn, "timeout": 30}, timeout=35)
    assert final["status"] == "completed"
    assert last_reply(api, terminal["id"]) == "Done, slowly."
    api.request("POST", f"/terminals/{terminal['id']}/exit")
    gone = retry_until(lambda: api.get(f"/terminals/{terminal['id']}")["exit_reason"], 30, 0.1,
                       message="gemini exits on /quit")
    assert gone


def test_tool_permission_then_answer(api: ApiClient, model: ModelServer, workdir: Path) -> None:
    model.set_rules([
        {"match": "make the file", "needs_tools": True, "tool": "run_shell_command",
         "args": {"command": "touch made-by-gemini.txt"}},
        {"on_tool_result": ".", "text": "The file is made."},
    ])
    terminal = start(api, workdir)
    final = send_and_wait(api, terminal["id"], "please make the file", timeout=60)
    assert final["status"] == "waiting_user_answer"
    assert not (workdir / "made-by-gemini.txt").exists()
    api.request("POST", f"/terminals/{terminal['id']}/key", params={"key": "Enter"})  # 1. Allow once
    retry_until(lambda: status(api, terminal["id"]) == "completed", 60, 0.1, message="the turn completes")
    assert last_reply(api, terminal["id"]) == "The file is made."
    assert (workdir / "made-by-gemini.txt").exists()


def test_yolo_runs_the_tool_without_asking(api: ApiClient, model: ModelServer, workdir: Path) -> None:
    model.set_rules([
        {"match": "make the file", "needs_tools": True, "tool": "run_shell_command",
         "args": {"command": "touch yolo.txt"}},
        {"on_tool_result": ".", "text": "Made it without asking."},
    ])
    terminal = start(api, workdir, yolo="true")
    final = send_and_wait(api, terminal["id"], "please make the file", timeout=60)
    assert final["status"] == "completed"
    assert last_reply(api, terminal["id"]) == "Made it without asking."
    assert (workdir / "yolo.txt").exists()


def test_api_error_is_error(api: ApiClient, model: ModelServer, workdir: Path) -> None:
    model.set_rules([{"match": "break now", "error": 400, "message": "scripted failure"}])
    terminal = start(api, workdir)
    final = send_and_wait(api, terminal["id"], "break now", timeout=60)
    assert final["status"] == "error"


def test_send_message_through_cao_mcp(api: ApiClient, model: ModelServer, workdir: Path) -> None:
    sender = start(api, workdir)
    receiver = api.request("POST", "/sessions/g1/terminals", timeout=60,
                           params={"provider": "mock", "agent_profile": "developer"})
    model.set_rules([
        {"match": "tell the other agent", "needs_tools": True, "tool": "send_message",
         "args": {"message": "hello from gemini", "receiver_id": receiver["id"]}},
        {"on_tool_result": ".", "text": "Message sent."},
    ])
    final = send_and_wait(api, sender["id"], "tell the other agent", timeout=60)
    assert final["status"] == "completed"
    assert last_reply(api, sender["id"]) == "Message sent."

    def delivered() -> list[dict]:
        inbox = api.get(f"/terminals/{receiver['id']}/inbox/messages", limit=100)
        return [m for m in inbox if m["message"] == "hello from gemini" and m["sender_id"] == sender["id"]]

    assert retry_until(delivered, 20, 0.1, message="the message reaches the receiver's inbox")


@pytest.fixture
def trusted_by_env(gemini_env: Path) -> None:
    """No stored trust decision at all: cao trusts the working folder through Gemini's own variable."""
    (gemini_env / "trustedFolders.json").unlink()


def test_a_new_folder_works_and_the_users_trust_file_is_untouched(api: ApiClient, model: ModelServer,
                                                                   gemini_env: Path, workdir: Path) -> None:
    before = (gemini_env / "trustedFolders.json").read_text()
    model.set_rules([{"match": "capital of France", "text": REPLY}])
    terminal = start(api, workdir)
    assert terminal["status"] == "idle"  # no trust dialog: it would read waiting_user_answer
    assert send_and_wait(api, terminal["id"], "Name the capital of France.", timeout=60)["status"] == "completed"
    assert (gemini_env / "trustedFolders.json").read_text() == before


def test_reaches_cao_mcp_over_http_with_its_token(trusted_by_env: None, api: ApiClient, model: ModelServer,
                                                  workdir: Path, settings: Settings) -> None:
    """Gemini talks to cao-server's ``/mcp`` itself (no stdio bridge); its token is only in its 0600
    per-terminal settings.json, and cao records the sender from that token."""
    gemini = start(api, workdir)
    assert gemini["status"] == "idle", gemini  # cao saw Gemini's tools/list on /mcp
    assert_token_only_in_its_config(api, settings, gemini, "gemini-home/.gemini/settings.json")
    receiver = api.request("POST", "/sessions/g1/terminals", timeout=60,
                           params={"provider": "mock", "agent_profile": "reviewer"})
    model.set_rules([
        {"match": "tell the reviewer", "needs_tools": True, "tool": "send_message",
         "args": {"receiver_id": receiver["id"], "message": "hello over http"}},
        {"on_tool_result": ".", "text": "Sent: {{tool_result}}"}])
    final = send_and_wait(api, gemini["id"], "please tell the reviewer", timeout=60)
    assert final["status"] == "completed", final
    inbox = retry_until(lambda: api.get(f"/terminals/{receiver['id']}/inbox/messages"), 20,
                        message="message in the receiver's inbox")
    assert [(m["sender_id"], m["message"]) for m in inbox] == [(gemini["id"], "hello over http")]
