"""OpenCode 1.18 for real, driven through cao's REST API against the scripted model server.

The private HOME holds only what a returning user has: ``~/.config/opencode/opencode.json`` naming
an OpenAI-compatible provider and its model, the key through ``{env:…}``. ``OPENCODE_DISABLE_MODELS_FETCH``
is set as a user offline would (OpenCode would fetch models.dev at start). cao's own per-terminal
files and variables are all OpenCode gets besides.
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
from tests.e2e_real.conftest import ModelServer
from tests.helpers import last_reply, send_and_wait, tmux

pytestmark = pytest.mark.e2e_real
REPLY = "The capital of France is Paris.\nSecond line of the reply: done."
LONG = "\n".join(["Top of a long reply."] + [f"row {n} of the long reply" for n in range(1, 120)] + ["The end."])
KEY = "FAKE_OPENCODE_KEY"  # not one of cao's pass-through prefixes: it reaches OpenCode because the config names it


def user_config(url: str) -> dict:
    return {"$schema": "https://opencode.ai/config.json", "model": "fake/fake-model",
            "provider": {"fake": {"npm": "@ai-sdk/openai-compatible", "name": "FakeLLM",
                                  "options": {"baseURL": f"{url}/v1", "apiKey": "{env:" + KEY + "}"},
                                  "models": {"fake-model": {"name": "Fake Model", "tool_call": True}}}}}


@pytest.fixture
def opencode_dir(real_home: Path, model: ModelServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The returning user's ~/.config/opencode; requested before ``real_server`` starts."""
    monkeypatch.setenv(KEY, "sk-fake-opencode-key")
    monkeypatch.setenv("OPENCODE_DISABLE_MODELS_FETCH", "1")
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "OPENCODE_CONFIG", "OPENCODE_CONFIG_CONTENT",
                 "OPENCODE_PERMISSION"):
        monkeypatch.delenv(name, raising=False)
    config = real_home / ".config" / "opencode"
    config.mkdir(parents=True)
    (config / "opencode.json").write_text(json.dumps(user_config(model.url)))
    return config


@pytest.fixture
def api(opencode_dir: Path, real_server: ServerProcess) -> ApiClient:
    return real_server.client


def start(api: ApiClient, workdir: Path, session: str = "o1", **params: str) -> dict:
    return api.request("POST", "/sessions", timeout=120,
                       params={"provider": "opencode", "agent_profile": "developer", "session_name": session,
                               "working_directory": str(workdir), **params})


def status(api: ApiClient, terminal_id: str) -> str:
    return api.get(f"/terminals/{terminal_id}")["status"]


def turns(model: ModelServer) -> list[dict]:
    """The requests of the user's turns (OpenCode's title request has no tools)."""
    return [r for r in model.requests() if r["tools"]]


def test_launch_task_reply_and_exit(api: ApiClient, model: ModelServer, workdir: Path, opencode_dir: Path,
                                    settings: Settings) -> None:
    config_before = (opencode_dir / "opencode.json").read_text()
    model.set_rules([{"match": "capital of France", "needs_tools": True, "text": REPLY},
                     {"match": "^take your time$", "needs_tools": True, "delay": 2, "text": "Done, slowly."}])
    terminal = start(api, workdir)
    assert terminal["status"] == "idle", terminal
    final = send_and_wait(api, terminal["id"], "Name the capital of France.", timeout=90)
    assert final["status"] == "completed", final
    assert last_reply(api, terminal["id"]) == REPLY
    turn = turns(model)[-1]
    assert turn["text"] == "Name the capital of France." and turn["model"] == "fake-model"
    assert "cao_send_message" in turn["tools"]
    assert turn["system"].startswith("You are opencode")  # OpenCode's own prompt; the profile's comes after:
    assert "Instructions from: " in turn["system"] and "# Developer" in turn["system"]
    assert "override these rules." in turn["system"]
    pane = pane_pid(settings, f"{terminal['session_name']}:{terminal['name']}")
    argvs = [read_proc(pid, "cmdline").split(b"\0") for pid in descendants(pane)]
    assert any(b"--mini" in argv and b"--agent" in argv for argv in argvs), argvs
    started = api.request("POST", f"/terminals/{terminal['id']}/input", body={"message": "take your time"})["turn"]
    retry_until(lambda: status(api, terminal["id"]) == "processing", 20, 0.02, message="opencode shows esc interrupt")
    final = api.request("GET", f"/terminals/{terminal['id']}/wait", params={"turn": started, "timeout": 60},
                        timeout=65)
    assert final["status"] == "completed", final
    assert last_reply(api, terminal["id"]) == "Done, slowly."
    api.request("POST", f"/terminals/{terminal['id']}/exit")
    gone = retry_until(lambda: api.get(f"/terminals/{terminal['id']}")["exit_reason"], 30, 0.1,
                       message="opencode exits on /exit")
    assert gone
    assert (opencode_dir / "opencode.json").read_text() == config_before  # cao wrote nothing of the user's


def test_three_tasks_in_a_row_and_a_reply_longer_than_the_screen(api: ApiClient, model: ModelServer,
                                                                 workdir: Path) -> None:
    model.set_rules([{"match": "^long one$", "needs_tools": True, "text": LONG}],
                    default={"text": "Answer to: {{text}}"})
    terminal = start(api, workdir)
    for n in (1, 2, 3):
        final = send_and_wait(api, terminal["id"], f"task number {n}", timeout=90)
        assert final["status"] == "completed", final
        assert last_reply(api, terminal["id"]) == f"Answer to: task number {n}"
    final = send_and_wait(api, terminal["id"], "long one", timeout=90)
    assert final["status"] == "completed", final  # the answer's first row has scrolled off the screen
    assert last_reply(api, terminal["id"]) == LONG
    assert [t["text"] for t in turns(model)] == ["task number 1", "task number 2", "task number 3", "long one"]


def test_permission_prompt_is_waiting_and_nothing_is_typed_into_it(api: ApiClient, model: ModelServer,
                                                                  workdir: Path) -> None:
    model.set_rules([
        {"match": "^please make the file$", "needs_tools": True, "tool": "bash",
         "args": {"command": "touch made-by-opencode.txt", "description": "Create a file"}},
        {"on_tool_result": ".", "text": "The file is made."},
    ])
    terminal = start(api, workdir)
    final = send_and_wait(api, terminal["id"], "please make the file", timeout=90)
    assert final["status"] == "waiting_user_answer", final
    with pytest.raises(Conflict, match="waiting for an answer"):
        api.request("POST", f"/terminals/{terminal['id']}/input", body={"message": "2"})
    assert status(api, terminal["id"]) == "waiting_user_answer"
    assert not (workdir / "made-by-opencode.txt").exists()
    api.request("POST", f"/terminals/{terminal['id']}/key", params={"key": "Enter"})  # Allow once
    retry_until(lambda: status(api, terminal["id"]) == "completed", 60, 0.1, message="the turn completes")
    assert last_reply(api, terminal["id"]) == "The file is made."
    assert (workdir / "made-by-opencode.txt").exists()


def test_yolo_runs_the_tool_without_asking(api: ApiClient, model: ModelServer, workdir: Path) -> None:
    model.set_rules([
        {"match": "^please make the file$", "needs_tools": True, "tool": "bash",
         "args": {"command": "touch yolo.txt", "description": "Create a file"}},
        {"on_tool_result": ".", "text": "Made it without asking."},
    ])
    terminal = start(api, workdir, yolo="true")
    assert terminal["status"] == "idle", terminal
    final = send_and_wait(api, terminal["id"], "please make the file", timeout=90)
    assert final["status"] == "completed", final
    assert last_reply(api, terminal["id"]) == "Made it without asking."
    assert (workdir / "yolo.txt").exists()


def test_api_error_is_error_with_its_text_then_the_next_turn_recovers(api: ApiClient, model: ModelServer,
                                                                      workdir: Path) -> None:
    model.set_rules([{"match": "^break now$", "needs_tools": True, "error": 400, "message": "scripted failure"}])
    terminal = start(api, workdir)
    final = send_and_wait(api, terminal["id"], "break now", timeout=90)
    assert final["status"] == "error", final
    assert final["exit_reason"] is None
    assert last_reply(api, terminal["id"]) == "scripted failure"
    final = send_and_wait(api, terminal["id"], "and now?", timeout=90)
    assert final["status"] == "completed", final
    assert last_reply(api, terminal["id"]) == "OK: and now?"


@pytest.mark.parametrize("yolo", ["false", "true"])
def test_a_profile_without_execute_bash_cannot_run_a_shell_command(api: ApiClient, model: ModelServer,
                                                                   workdir: Path, yolo: str) -> None:
    """The agent's permission denies bash, task and edit: OpenCode does not offer them to the model,
    with and without yolo, although the user's own config allows bash."""
    model.set_rules([{"match": "^run it$", "needs_tools": True, "tool": "bash",
                      "args": {"command": "touch not-allowed.txt", "description": "x"}}],
                    default={"text": "No shell here."})
    terminal = start(api, workdir, agent_profile="reviewer", yolo=yolo)  # reviewer: @builtin, fs_read, fs_list, cao
    final = send_and_wait(api, terminal["id"], "run it", timeout=90)
    assert final["status"] == "completed", final  # no permission prompt: there is nothing to allow
    turn = turns(model)[0]
    assert {"read", "glob", "grep", "cao_send_message"} <= set(turn["tools"])
    assert not {"bash", "task", "edit", "write"} & set(turn["tools"])
    assert not (workdir / "not-allowed.txt").exists()


def test_a_repositorys_config_cannot_reorder_the_agents_rules(api: ApiClient, model: ModelServer,
                                                              workdir: Path) -> None:
    """OpenCode merges the project's ``opencode.json`` first, keeping its key order: were cao's agent named
    there, its ``"*": "allow"`` would come after cao's deny of ``bash`` and win. cao's agent has the terminal's
    own name, which no repository can know."""
    (workdir / "opencode.json").write_text(json.dumps({"agent": {"cao": {"permission": {
        "bash": "allow", "task": "allow", "*": "allow"}}}}))
    model.set_rules([{"match": "^run it$", "needs_tools": True, "tool": "bash",
                      "args": {"command": "touch not-allowed.txt", "description": "x"}}],
                    default={"text": "No shell here."})
    terminal = start(api, workdir, agent_profile="reviewer", yolo="true")
    final = send_and_wait(api, terminal["id"], "run it", timeout=90)
    assert final["status"] == "completed", final
    assert "bash" not in turns(model)[0]["tools"]
    assert not (workdir / "not-allowed.txt").exists()


def test_send_message_through_cao_mcp_over_http(api: ApiClient, model: ModelServer, workdir: Path,
                                                settings: Settings, opencode_dir: Path) -> None:
    """OpenCode talks to cao-server's ``/mcp`` itself (a remote MCP server, no stdio bridge); its token
    is only in its 0600 ``OPENCODE_CONFIG`` file, and cao records the sender from that token. cao's tools
    do not ask, although this user has OpenCode ask about everything."""
    config = json.loads((opencode_dir / "opencode.json").read_text())
    (opencode_dir / "opencode.json").write_text(json.dumps({**config, "permission": {"*": "ask"}}))
    agent = start(api, workdir)
    assert agent["status"] == "idle", agent  # cao saw OpenCode's tools/list on /mcp
    assert_token_only_in_its_config(api, settings, agent, "opencode.json")
    receiver = api.request("POST", "/sessions/o1/terminals", timeout=60,
                           params={"provider": "mock", "agent_profile": "reviewer"})
    model.set_rules([
        {"match": "^please tell the reviewer$", "needs_tools": True, "tool": "send_message",
         "args": {"receiver_id": receiver["id"], "message": "hello over http"}},
        {"on_tool_result": ".", "text": "Sent: {{tool_result}}"}])
    final = send_and_wait(api, agent["id"], "please tell the reviewer", timeout=90)
    assert final["status"] == "completed", final
    inbox = retry_until(lambda: api.get(f"/terminals/{receiver['id']}/inbox/messages"), 20,
                        message="message in the receiver's inbox")
    assert [(m["sender_id"], m["message"]) for m in inbox] == [(agent["id"], "hello over http")]
    assert last_reply(api, agent["id"]) == f"Sent: Message 1 queued for terminal {receiver['id']}."


def test_esc_twice_mid_turn_is_interrupted_not_completed(api: ApiClient, model: ModelServer, workdir: Path) -> None:
    model.set_rules([{"match": "^take your time$", "needs_tools": True, "delay": 30, "text": "too late"}])
    tid = start(api, workdir)["id"]
    assert send_and_wait(api, tid, "hello there", timeout=90)["status"] == "completed"
    turn = api.request("POST", f"/terminals/{tid}/input", body={"message": "take your time"})["turn"]
    retry_until(lambda: status(api, tid) == "processing", 30, message="processing")
    # OpenCode: the first Esc shows "esc again to interrupt"; a second one sent at once reads as part of it.
    api.request("POST", f"/terminals/{tid}/key", params={"key": "Escape"})
    retry_until(lambda: "esc again to interrupt" in api.get(f"/terminals/{tid}/output", params={"mode": "full"})[
        "output"], 20, 0.2, message="OpenCode asks for a second Esc")
    api.request("POST", f"/terminals/{tid}/key", params={"key": "Escape"})
    ended = api.request("GET", f"/terminals/{tid}/wait", params={"turn": turn, "timeout": 50}, timeout=60)
    screen = api.get(f"/terminals/{tid}/output", params={"mode": "full"})["output"]
    assert ended["status"] == "idle" and ended["last_turn_interrupted"], (ended, screen)
    assert last_reply(api, tid) == ""  # not "OK: hello there", the previous turn's reply
    model.set_rules([])
    after = send_and_wait(api, tid, "and now?", timeout=90)
    assert after["status"] == "completed" and not after["last_turn_interrupted"], after
    assert last_reply(api, tid) == "OK: and now?"


def test_the_window_resized_mid_turn(api: ApiClient, model: ModelServer, workdir: Path, settings: Settings) -> None:
    """On a resize OpenCode's minimal interface replays the session into the terminal, without its
    spinner while the turn goes on: the turn still reads as processing, then completed with its reply."""
    model.set_rules([{"match": "^take your time$", "needs_tools": True, "delay": 4, "text": "Done, slowly."}])
    terminal = start(api, workdir)
    assert send_and_wait(api, terminal["id"], "hello there", timeout=90)["status"] == "completed"
    turn = api.request("POST", f"/terminals/{terminal['id']}/input", body={"message": "take your time"})["turn"]
    retry_until(lambda: status(api, terminal["id"]) == "processing", 30, message="processing")
    resized = tmux(settings, "resize-window", "-t", f"{terminal['session_name']}:{terminal['name']}", "-x", "120",
                   "-y", "40")
    assert resized.returncode == 0, resized.stderr
    final = api.request("GET", f"/terminals/{terminal['id']}/wait", params={"turn": turn, "timeout": 60}, timeout=70)
    assert final["status"] == "completed" and not final["last_turn_interrupted"], final
    assert last_reply(api, terminal["id"]) == "Done, slowly."
    final = send_and_wait(api, terminal["id"], "and now?", timeout=90)
    assert final["status"] == "completed", final
    assert last_reply(api, terminal["id"]) == "OK: and now?"
