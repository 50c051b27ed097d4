"""Kimi CLI 1.51 for real, driven through cao's REST API against the scripted model server.

The private HOME holds only what a returning user has: ``~/.kimi/config.toml`` naming an
OpenAI-compatible provider (``openai_legacy``, Chat Completions) at the model server, its key and
model. cao gives each terminal its own Kimi share directory and per-terminal files; the user's
``~/.kimi`` is read, never written (each test checks it is byte for byte as it was).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from cao.client import ApiClient
from cao.errors import Conflict
from cao.settings import Settings
from tests.conftest import ServerProcess, retry_until
from tests.e2e_real.agent_processes import assert_token_only_in_its_config
from tests.e2e_real.conftest import ModelServer, cli_version_fixture
from tests.helpers import last_reply, send_and_wait, tmux

pytestmark = pytest.mark.e2e_real
REPLY = "The capital of France is Paris.\n\nSecond paragraph of the reply: done."
# 32 paragraphs: 64 rows, longer than the screen (50)
LONG = "\n\n".join(["Top of a long reply."] + [f"row {n} of the long reply" for n in range(1, 31)] + ["The end."])
KEY = "sk-fake-kimi-key"
kimi_version = cli_version_fixture("kimi-cli")  # each version of the table, first on PATH (``[1.51.0]``)


def user_config(url: str) -> str:
    return (f'default_model = "fake"\ntelemetry = false\n\n[providers.local]\ntype = "openai_legacy"\n'
            f'base_url = "{url}/v1"\napi_key = "{KEY}"\n\n[models.fake]\nprovider = "local"\n'
            f'model = "fake-model"\nmax_context_size = 100000\n')


def paced(model: ModelServer, rules: list[dict], default: dict | None = None) -> None:
    """The rules, each text streamed as a model streams (``pace``): Kimi draws what arrives while it comes and
    drops what it has not drawn 0.5 s after the turn ended ("UI loop timed out" in its log), which a burst of
    a whole reply at once on a loaded machine can outrun."""
    model.set_rules([{"pace": 0.02, **rule} if "text" in rule else rule for rule in rules],
                    {**(default or {"text": "OK: {{text}}"}), "pace": 0.02})


def snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.fixture
def kimi_dir(real_home: Path, kimi_version: str, model: ModelServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The returning user's ~/.kimi; requested before ``real_server`` starts. Unchanged afterwards."""
    for name in [k for k in os.environ if k.startswith(("KIMI_", "MOONSHOT_"))]:
        monkeypatch.delenv(name)
    share = real_home / ".kimi"
    share.mkdir()
    (share / "config.toml").write_text(user_config(model.url))
    before = snapshot(share)
    yield share
    assert snapshot(share) == before  # cao (and Kimi, in cao's terminals) wrote nothing of the user's


@pytest.fixture
def api(kimi_dir: Path, real_server: ServerProcess) -> ApiClient:
    return real_server.client


def start(api: ApiClient, workdir: Path, session: str = "k1", **params: str) -> dict:
    return api.request("POST", "/sessions", timeout=120,
                       params={"provider": "kimi_cli", "agent_profile": "developer", "session_name": session,
                               "working_directory": str(workdir), **params})


def status(api: ApiClient, terminal_id: str) -> str:
    return api.get(f"/terminals/{terminal_id}")["status"]


def turns(model: ModelServer) -> list[dict]:
    """The requests of the user's turns (each offers Kimi's tools)."""
    return [r for r in model.requests() if r["tools"]]


def test_launch_task_reply_three_in_a_row_a_long_one_and_exit(api: ApiClient, model: ModelServer,
                                                              workdir: Path) -> None:
    paced(model, [{"match": "capital of France", "needs_tools": True, "text": REPLY},
                     {"match": "^take your time$", "needs_tools": True, "delay": 2, "text": "Done, slowly."},
                     {"match": "^long one$", "needs_tools": True, "text": LONG, "pace": 0.05}],
                    default={"text": "Answer to: {{text}}"})
    terminal = start(api, workdir)
    assert terminal["status"] == "idle", terminal
    final = send_and_wait(api, terminal["id"], "Name the capital of France.", timeout=90)
    assert final["status"] == "completed", final
    assert last_reply(api, terminal["id"]) == REPLY
    turn = turns(model)[-1]
    assert turn["text"] == "Name the capital of France." and turn["model"] == "fake-model"
    assert "send_message" in turn["tools"] and "Shell" in turn["tools"]
    assert turn["system"].startswith("You are Kimi Code CLI")  # Kimi's own prompt, the profile's as its role:
    assert "# Developer" in turn["system"]
    started = api.request("POST", f"/terminals/{terminal['id']}/input", body={"message": "take your time"})["turn"]
    retry_until(lambda: status(api, terminal["id"]) == "processing", 20, 0.02, message="kimi shows its spinner")
    final = api.request("GET", f"/terminals/{terminal['id']}/wait", params={"turn": started, "timeout": 60},
                        timeout=65)
    assert final["status"] == "completed", final
    assert last_reply(api, terminal["id"]) == "Done, slowly."
    for n in (1, 2, 3):
        final = send_and_wait(api, terminal["id"], f"task number {n}", timeout=90)
        assert final["status"] == "completed", final
        assert last_reply(api, terminal["id"]) == f"Answer to: task number {n}"
    final = send_and_wait(api, terminal["id"], "long one", timeout=90)
    assert final["status"] == "completed", final  # the answer's first row has scrolled off the screen
    assert last_reply(api, terminal["id"]) == LONG
    api.request("POST", f"/terminals/{terminal['id']}/exit")
    gone = retry_until(lambda: api.get(f"/terminals/{terminal['id']}")["exit_reason"], 30, 0.1,
                       message="kimi exits on /exit")
    assert gone


def test_permission_prompt_is_waiting_and_nothing_is_typed_into_it(api: ApiClient, model: ModelServer,
                                                                  workdir: Path) -> None:
    paced(model, [
        {"match": "^please make the file$", "needs_tools": True, "tool": "Shell",
         "args": {"command": "touch made-by-kimi.txt"}},
        {"on_tool_result": ".", "text": "The file is made."},
    ])
    terminal = start(api, workdir)
    final = send_and_wait(api, terminal["id"], "please make the file", timeout=90)
    assert final["status"] == "waiting_user_answer", final
    with pytest.raises(Conflict, match="waiting for an answer"):
        api.request("POST", f"/terminals/{terminal['id']}/input", body={"message": "3"})
    assert status(api, terminal["id"]) == "waiting_user_answer"
    assert not (workdir / "made-by-kimi.txt").exists()
    api.request("POST", f"/terminals/{terminal['id']}/key", params={"key": "Enter"})  # [1] Approve once
    retry_until(lambda: status(api, terminal["id"]) == "completed", 60, 0.1, message="the turn completes")
    assert last_reply(api, terminal["id"]) == "The file is made."
    assert (workdir / "made-by-kimi.txt").exists()


def test_api_error_with_its_text_then_esc_mid_turn_is_interrupted(api: ApiClient, model: ModelServer,
                                                                   workdir: Path) -> None:
    paced(model, [{"match": "^break now$", "needs_tools": True, "error": 400, "message": "scripted failure"},
                  {"match": "^take your time$", "needs_tools": True, "delay": 30, "text": "too late"}])
    tid = start(api, workdir)["id"]
    final = send_and_wait(api, tid, "break now", timeout=90)
    assert final["status"] == "error", final
    assert final["exit_reason"] is None
    reply = last_reply(api, tid)
    assert reply.startswith("LLM provider error: Error code: 400") and "scripted failure" in reply, reply
    final = send_and_wait(api, tid, "hello there", timeout=90)
    assert final["status"] == "completed", final  # the next turn recovers
    assert last_reply(api, tid) == "OK: hello there"
    turn = api.request("POST", f"/terminals/{tid}/input", body={"message": "take your time"})["turn"]
    retry_until(lambda: status(api, tid) == "processing", 30, message="processing")
    api.request("POST", f"/terminals/{tid}/key", params={"key": "Escape"})
    ended = api.request("GET", f"/terminals/{tid}/wait", params={"turn": turn, "timeout": 50}, timeout=60)
    screen = api.get(f"/terminals/{tid}/output", params={"mode": "full"})["output"]
    assert ended["status"] == "idle" and ended["last_turn_interrupted"], (ended, screen)
    assert "Interrupted by user" in screen
    assert last_reply(api, tid) == ""  # not "OK: hello there", the previous turn's reply
    after = send_and_wait(api, tid, "and now?", timeout=90)
    assert after["status"] == "completed" and not after["last_turn_interrupted"], after
    assert last_reply(api, tid) == "OK: and now?"


@pytest.mark.parametrize("yolo", ["false", "true"])
def test_a_profile_without_execute_bash_cannot_run_a_shell_command(api: ApiClient, model: ModelServer,
                                                                   workdir: Path, yolo: str) -> None:
    """The agent file excludes Shell (and Agent, the background tasks, the write tools): Kimi does not
    offer them to the model, and a call to Shell anyway (``force``) finds no such tool, with and without yolo."""
    paced(model, [{"match": "^run it$", "needs_tools": True, "tool": "Shell", "force": True,
                      "args": {"command": "touch not-allowed.txt"}},
                     {"on_tool_result": ".", "text": "The tool said: {{tool_result}}"}],
                    default={"text": "No shell here."})
    terminal = start(api, workdir, agent_profile="reviewer", yolo=yolo)  # reviewer: @builtin, fs_read, fs_list, cao
    final = send_and_wait(api, terminal["id"], "run it", timeout=90)
    assert final["status"] == "completed", final  # no permission prompt: there is nothing to allow
    turn = turns(model)[0]
    assert {"ReadFile", "Glob", "Grep", "send_message"} <= set(turn["tools"])
    assert not {"Shell", "Agent", "TaskOutput", "WriteFile", "StrReplaceFile"} & set(turn["tools"])
    assert "not found" in last_reply(api, terminal["id"]).lower()
    assert not (workdir / "not-allowed.txt").exists()


def test_send_message_through_cao_mcp_over_http_without_asking(api: ApiClient, model: ModelServer, workdir: Path,
                                                               settings: Settings) -> None:
    """Kimi talks to cao-server's ``/mcp`` itself (streamable HTTP, no stdio bridge); its token is only in
    its 0600 ``kimi-mcp.json``, cao records the sender from that token, and cao's tools do not ask
    (approved in the session cao starts), although Kimi asks before any other MCP tool without yolo."""
    agent = start(api, workdir)
    assert agent["status"] == "idle", agent  # cao saw Kimi's tools/list on /mcp
    assert_token_only_in_its_config(api, settings, agent, "kimi-mcp.json")
    receiver = api.request("POST", "/sessions/k1/terminals", timeout=60,
                           params={"provider": "mock", "agent_profile": "reviewer"})
    paced(model, [
        {"match": "^please tell the reviewer$", "needs_tools": True, "tool": "send_message",
         "args": {"receiver_id": receiver["id"], "message": "hello over http"}},
        {"on_tool_result": ".", "text": "Sent: {{tool_result}}"}])
    final = send_and_wait(api, agent["id"], "please tell the reviewer", timeout=90)
    assert final["status"] == "completed", final
    inbox = retry_until(lambda: api.get(f"/terminals/{receiver['id']}/inbox/messages"), 20,
                        message="message in the receiver's inbox")
    assert [(m["sender_id"], m["message"]) for m in inbox] == [(agent["id"], "hello over http")]
    assert last_reply(api, agent["id"]) == f"Sent: Message 1 queued for terminal {receiver['id']}."


def test_yolo_a_five_second_tool_run_with_the_window_resized_mid_turn(api: ApiClient, model: ModelServer,
                                                                      workdir: Path, settings: Settings) -> None:
    """Under yolo the Shell command runs without asking; the resize leaves a stale spinner row in the history."""
    paced(model, [
        {"match": "^run the slow command$", "needs_tools": True, "tool": "Shell",
         "args": {"command": "touch started && sleep 5 && echo slept-well"}},
        {"on_tool_result": "slept-well", "text": "The command slept and finished."},
    ])
    terminal = start(api, workdir, yolo="true")
    tid = terminal["id"]
    turn = api.request("POST", f"/terminals/{tid}/input", body={"message": "run the slow command"})["turn"]
    retry_until(lambda: (workdir / "started").exists(), 60, 0.1, message="the command started")
    assert status(api, tid) == "processing"  # "⠦ Using Shell (…)": a tool running is work, not a finished turn
    target = f"{terminal['session_name']}:{terminal['name']}"
    assert tmux(settings, "resize-window", "-t", target, "-x", "100", "-y", "30").returncode == 0
    assert status(api, tid) == "processing"
    final = api.request("GET", f"/terminals/{tid}/wait", params={"turn": turn, "timeout": 90}, timeout=100)
    assert final["status"] == "completed", final
    assert last_reply(api, tid) == "The command slept and finished."
    assert send_and_wait(api, tid, "after the resize", timeout=90)["status"] == "completed"
    assert last_reply(api, tid) == "OK: after the resize"


def test_a_person_typing_into_the_idle_pane(api: ApiClient, model: ModelServer, workdir: Path,
                                            settings: Settings) -> None:
    paced(model, [{"match": "^hello from a person$", "needs_tools": True, "text": "Hello, person."},
                  {"match": "^and now cao$", "needs_tools": True, "text": "Hello, cao."}])
    terminal = start(api, workdir)
    tid, target = terminal["id"], f"{terminal['session_name']}:{terminal['name']}"
    tmux(settings, "send-keys", "-t", target, "-l", "hello from a person")
    retry_until(lambda: "hello from a person" in api.get(f"/terminals/{tid}/output", mode="full")["output"],
                20, 0.1, message="the typed text shows in the pane")
    assert status(api, tid) == "idle"  # text in the input row is not a turn
    tmux(settings, "send-keys", "-t", target, "Enter")
    retry_until(lambda: last_reply(api, tid) == "Hello, person.", 90, 0.1,
                message="the person's turn is seen through to its end")
    retry_until(lambda: status(api, tid) == "completed", 10, 0.1,  # once the screen has held (0.6 s)
                message="completed once held")
    assert send_and_wait(api, tid, "and now cao", timeout=90)["status"] == "completed"
    assert last_reply(api, tid) == "Hello, cao."
