"""Qwen Code 0.24 for real, driven through cao's REST API against the scripted model server.

The private HOME holds only what a returning user has: ``~/.qwen/settings.json`` choosing an
OpenAI-compatible provider (``modelProviders`` with the key's variable name) and the key in the
environment. Nothing is trusted beforehand; cao's own per-run files are all Qwen gets besides.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cao.client import ApiClient
from cao.errors import Conflict
from cao.settings import Settings
from tests.conftest import ServerProcess, retry_until
from tests.e2e_real.agent_processes import assert_token_only_in_its_config, descendants, pane_pid, read_proc
from tests.e2e_real.conftest import ModelServer, cli_version_fixture
from tests.helpers import last_reply, send_and_wait

pytestmark = pytest.mark.e2e_real
REPLY = "The capital of France is Paris.\nSecond line of the reply: done."
LONG = "\n".join(["Top of a long reply."] + [f"row {n} of the long reply" for n in range(1, 120)] + ["The end."])
KEY = "FAKE_QWEN_KEY"  # not one of cao's pass-through prefixes: it reaches Qwen because its settings name it
qwen_version = cli_version_fixture("@qwen-code/qwen-code")  # each version in the table


def user_settings(url: str, **security: object) -> dict:
    return {"$version": 4, "security": {"auth": {"selectedType": "openai"}, **security},
            "model": {"name": "fake-model"},
            "modelProviders": {"openai": [{"id": "fake-model", "name": "Fake", "baseUrl": f"{url}/v1", "envKey": KEY}]}}


@pytest.fixture
def qwen_dot(qwen_version: str, real_home: Path, model: ModelServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The returning user's ~/.qwen; requested before ``real_server`` starts."""
    monkeypatch.setenv(KEY, "sk-fake-qwen-key")
    for name in ("QWEN_HOME", "QWEN_CODE_SYSTEM_DEFAULTS_PATH", "QWEN_CODE_TRUSTED_FOLDERS_PATH"):
        monkeypatch.delenv(name, raising=False)
    dot = real_home / ".qwen"
    dot.mkdir()
    (dot / "settings.json").write_text(json.dumps(user_settings(model.url)))
    return dot


@pytest.fixture
def api(qwen_dot: Path, real_server: ServerProcess) -> ApiClient:
    return real_server.client


def start(api: ApiClient, workdir: Path, session: str = "q1", **params: str) -> dict:
    return api.request("POST", "/sessions", timeout=90,
                       params={"provider": "qwen_code", "agent_profile": "developer", "session_name": session,
                               "working_directory": str(workdir), **params})


def status(api: ApiClient, terminal_id: str) -> str:
    return api.get(f"/terminals/{terminal_id}")["status"]


def turns(model: ModelServer) -> list[dict]:
    """The requests of the user's turns (Qwen's memory agent after a turn asks with its own prompt)."""
    return [r for r in model.requests() if r["tools"] and not r["text"].startswith("Managed memory")]


def test_launch_task_reply_and_exit(api: ApiClient, model: ModelServer, workdir: Path, qwen_dot: Path,
                                    settings: Settings) -> None:
    settings_before = (qwen_dot / "settings.json").read_text()
    model.set_rules([{"match": "capital of France", "text": REPLY},
                     {"match": "^take your time$", "delay": 2, "text": "Done, slowly."}])
    terminal = start(api, workdir)
    assert terminal["status"] == "idle", terminal  # a new folder: no dialog (Qwen's folder trust is off)
    final = send_and_wait(api, terminal["id"], "Name the capital of France.", timeout=60)
    assert final["status"] == "completed", final
    assert last_reply(api, terminal["id"]) == REPLY
    turn = turns(model)[-1]
    assert turn["text"] == "Name the capital of France." and turn["model"] == "fake-model"
    assert "mcp__cao__send_message" in turn["tools"]
    assert turn["system"].startswith("You are Qwen Code")  # Qwen's own prompt; the profile's is appended:
    pane = pane_pid(settings, f"{terminal['session_name']}:{terminal['name']}")
    qwen_argv = [read_proc(pid, "cmdline").split(b"\0") for pid in descendants(pane)]
    appended = [argv[argv.index(b"--append-system-prompt") + 1] for argv in qwen_argv
                if b"--append-system-prompt" in argv]
    assert appended and appended[0].startswith(b"# Developer")
    assert b"override these rules.\n\n## Available skills\n" in appended[0]  # then cao's skills catalog
    started = api.request("POST", f"/terminals/{terminal['id']}/input", body={"message": "take your time"})["turn"]
    retry_until(lambda: status(api, terminal["id"]) == "processing", 10, 0.02, message="qwen shows its spinner")
    final = api.request("GET", f"/terminals/{terminal['id']}/wait", params={"turn": started, "timeout": 30},
                        timeout=35)
    assert final["status"] == "completed", final
    assert last_reply(api, terminal["id"]) == "Done, slowly."
    api.request("POST", f"/terminals/{terminal['id']}/exit")
    gone = retry_until(lambda: api.get(f"/terminals/{terminal['id']}")["exit_reason"], 30, 0.1,
                       message="qwen exits on /quit")
    assert gone
    assert (qwen_dot / "settings.json").read_text() == settings_before  # cao wrote nothing of the user's
    assert not (qwen_dot / "trustedFolders.json").exists()


def test_three_tasks_in_a_row_and_a_reply_longer_than_the_screen(api: ApiClient, model: ModelServer,
                                                                 workdir: Path) -> None:
    model.set_rules([{"match": "^long one$", "text": LONG}], default={"text": "Answer to: {{text}}"})
    terminal = start(api, workdir)
    for n in (1, 2, 3):
        final = send_and_wait(api, terminal["id"], f"task number {n}", timeout=60)
        assert final["status"] == "completed", final
        assert last_reply(api, terminal["id"]) == f"Answer to: task number {n}"
    final = send_and_wait(api, terminal["id"], "long one", timeout=60)
    assert final["status"] == "completed", final  # the answer's first row has scrolled off the screen
    assert last_reply(api, terminal["id"]) == LONG
    assert [t["text"] for t in turns(model)] == ["task number 1", "task number 2", "task number 3", "long one"]


def test_permission_prompt_is_waiting_and_nothing_is_typed_into_it(api: ApiClient, model: ModelServer,
                                                                  workdir: Path) -> None:
    model.set_rules([
        {"match": "^please make the file$", "needs_tools": True, "tool": "run_shell_command",
         "args": {"command": "touch made-by-qwen.txt"}},
        {"on_tool_result": ".", "text": "The file is made."},
    ])
    terminal = start(api, workdir)
    final = send_and_wait(api, terminal["id"], "please make the file", timeout=60)
    assert final["status"] == "waiting_user_answer", final
    with pytest.raises(Conflict, match="waiting for an answer"):
        api.request("POST", f"/terminals/{terminal['id']}/input", body={"message": "2"})
    assert status(api, terminal["id"]) == "waiting_user_answer"
    assert not (workdir / "made-by-qwen.txt").exists()
    api.request("POST", f"/terminals/{terminal['id']}/key", params={"key": "Enter"})  # 1. Yes, allow once
    retry_until(lambda: status(api, terminal["id"]) == "completed", 60, 0.1, message="the turn completes")
    assert last_reply(api, terminal["id"]) == "The file is made."
    assert (workdir / "made-by-qwen.txt").exists()


def test_yolo_runs_the_tool_without_asking(api: ApiClient, model: ModelServer, workdir: Path) -> None:
    model.set_rules([
        {"match": "^please make the file$", "needs_tools": True, "tool": "run_shell_command",
         "args": {"command": "touch yolo.txt"}},
        {"on_tool_result": ".", "text": "Made it without asking."},
    ])
    terminal = start(api, workdir, yolo="true")
    assert terminal["status"] == "idle", terminal  # the prompt char is * in YOLO mode
    final = send_and_wait(api, terminal["id"], "please make the file", timeout=60)
    assert final["status"] == "completed", final
    assert last_reply(api, terminal["id"]) == "Made it without asking."
    assert (workdir / "yolo.txt").exists()


def test_api_error_is_error_then_the_next_turn_recovers(api: ApiClient, model: ModelServer, workdir: Path) -> None:
    model.set_rules([{"match": "^break now$", "error": 400, "message": "scripted failure"}])
    terminal = start(api, workdir)
    final = send_and_wait(api, terminal["id"], "break now", timeout=60)
    assert final["status"] == "error", final
    assert final["exit_reason"] is None
    final = send_and_wait(api, terminal["id"], "and now?", timeout=60)
    assert final["status"] == "completed", final
    assert last_reply(api, terminal["id"]) == "OK: and now?"  # Qwen resent the failed task before this one


def test_a_profile_without_execute_bash_cannot_run_a_shell_command(api: ApiClient, model: ModelServer,
                                                                   workdir: Path) -> None:
    """Qwen's own --exclude-tools: the shell is not offered, and asking for it by name (through Qwen's
    deferred-tool bridge ``tool_call``) is refused by Qwen, not by a prompt."""
    model.set_rules([
        {"match": "^run it$", "needs_tools": True, "tool": "tool_call",
         "args": {"name": "run_shell_command", "arguments": {"command": "touch not-allowed.txt"}}},
        {"on_tool_result": ".", "text": "Tool said: {{tool_result}}"},
    ])
    terminal = start(api, workdir, agent_profile="reviewer")  # role reviewer: @builtin, fs_read, fs_list, cao
    final = send_and_wait(api, terminal["id"], "run it", timeout=60)
    assert final["status"] == "completed", final  # no permission prompt: there is nothing to allow
    turn = turns(model)[0]
    assert {"read_file", "glob", "tool_call", "mcp__cao__send_message"} <= set(turn["tools"])
    assert not {"run_shell_command", "monitor", "agent", "write_file", "edit"} & set(turn["tools"])
    reply = last_reply(api, terminal["id"])
    assert reply.startswith("Tool said: ") and "run_shell_command" in reply, reply
    assert not (workdir / "not-allowed.txt").exists()


def test_send_message_through_cao_mcp_over_http(api: ApiClient, model: ModelServer, workdir: Path,
                                                settings: Settings) -> None:
    """Qwen talks to cao-server's ``/mcp`` itself (no stdio bridge); its token is only in its 0600
    ``--mcp-config`` file, and cao records the sender from that token."""
    qwen = start(api, workdir)
    assert qwen["status"] == "idle", qwen  # cao saw Qwen's tools/list on /mcp
    assert_token_only_in_its_config(api, settings, qwen, "qwen-mcp.json")
    receiver = api.request("POST", "/sessions/q1/terminals", timeout=60,
                           params={"provider": "mock", "agent_profile": "reviewer"})
    model.set_rules([
        {"match": "^please tell the reviewer$", "needs_tools": True, "tool": "mcp__cao__send_message",
         "args": {"receiver_id": receiver["id"], "message": "hello over http"}},
        {"on_tool_result": ".", "text": "Sent: {{tool_result}}"}])
    final = send_and_wait(api, qwen["id"], "please tell the reviewer", timeout=60)
    assert final["status"] == "completed", final
    inbox = retry_until(lambda: api.get(f"/terminals/{receiver['id']}/inbox/messages"), 20,
                        message="message in the receiver's inbox")
    assert [(m["sender_id"], m["message"]) for m in inbox] == [(qwen["id"], "hello over http")]
    assert last_reply(api, qwen["id"]).startswith("Sent: ")


def test_folder_trust_on_the_folder_cao_was_told_to_work_in(qwen_dot: Path, model: ModelServer, workdir: Path,
                                                            real_server: ServerProcess) -> None:
    """A user who turned Qwen's folder trust on, in a folder Qwen has not seen: cao trusts its working
    directory for this run (no dialog, cao's MCP tools load: Qwen loads none in an untrusted folder),
    and the user's own trustedFolders.json is neither written nor created."""
    (qwen_dot / "settings.json").write_text(json.dumps(user_settings(model.url, folderTrust={"enabled": True})))
    api = real_server.client
    terminal = start(api, workdir)
    assert terminal["status"] == "idle", terminal
    final = send_and_wait(api, terminal["id"], "hello there", timeout=60)
    assert final["status"] == "completed", final
    assert "mcp__cao__send_message" in turns(model)[-1]["tools"]
    assert not (qwen_dot / "trustedFolders.json").exists()
