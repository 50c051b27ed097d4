"""A profile's tool restrictions hold in each real CLI, with and without ``--yolo`` (issue 8, item 5).

yolo means "no permission prompts", never "no restrictions". Each test starts one pinned CLI against
the scripted model server with a profile that does not grant ``execute_bash``; the model calls the
CLI's shell tool anyway (``force``: even when the CLI did not offer it) with a command that would
create a marker file. The CLI must refuse it itself: the marker never appears, the turn ends without a
question, and the CLI tells the model so in the tool result of its next request. The positive case
(a profile with the shell, yolo) makes the marker, so the scenario can fail.

Each private HOME holds what a returning user of that CLI has (their API-provider settings and key,
nothing that hides a dialog); cao-server is started after it is seeded.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from cao.client import ApiClient
from cao.settings import Settings
from tests.conftest import ServerProcess, retry_until
from tests.e2e_real.clis import _copilot as seed_copilot
from tests.e2e_real.clis import _opencode as seed_opencode
from tests.e2e_real.conftest import ModelServer
from tests.helpers import last_reply, send_and_wait
from tests.screens.record_codex import seed_codex_home

pytestmark = pytest.mark.e2e_real
MARKER = "restriction-marker.txt"
NO_SHELL = "---\nname: no-shell\ndescription: reads and lists, no shell, no writes\n" \
           "allowedTools: [\"fs_read\", \"fs_list\", \"@cao-mcp-server\"]\n---\nYou review code.\n"


def seed_claude(home: Path, model: ModelServer, monkeypatch: pytest.MonkeyPatch) -> None:
    state = {"hasCompletedOnboarding": True, "numStartups": 5,
             "customApiKeyResponses": {"approved": ["sk-ant-fake-key-0123456789abcdef"[-20:]], "rejected": []}}
    (home / ".claude.json").write_text(json.dumps(state))  # no trust for the folder: cao answers that dialog
    monkeypatch.setenv("ANTHROPIC_BASE_URL", model.url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-fake-key-0123456789abcdef")


def seed_codex(home: Path, model: ModelServer, monkeypatch: pytest.MonkeyPatch) -> None:
    seed_codex_home(home, model.url, key_var="SCRIPTED_MODEL_KEY")
    monkeypatch.setenv("SCRIPTED_MODEL_KEY", "sk-scripted")


def seed_gemini(home: Path, model: ModelServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", model.url)
    monkeypatch.setenv("GEMINI_API_KEY", "fake-gemini-key")
    (home / ".gemini").mkdir()
    settings = {"security": {"auth": {"selectedType": "gemini-api-key"}}}
    (home / ".gemini" / "settings.json").write_text(json.dumps(settings))


def seed_qwen(home: Path, model: ModelServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_QWEN_KEY", "sk-fake-qwen-key")
    for name in ("QWEN_HOME", "QWEN_CODE_SYSTEM_DEFAULTS_PATH", "QWEN_CODE_TRUSTED_FOLDERS_PATH"):
        monkeypatch.delenv(name, raising=False)
    (home / ".qwen").mkdir()
    (home / ".qwen" / "settings.json").write_text(json.dumps({
        "$version": 4, "security": {"auth": {"selectedType": "openai"}}, "model": {"name": "fake-model"},
        "modelProviders": {"openai": [{"id": "fake-model", "name": "Fake", "baseUrl": f"{model.url}/v1",
                                       "envKey": "FAKE_QWEN_KEY"}]}}))


@dataclass(frozen=True)
class Cli:
    provider: str
    seed: Callable[[Path, ModelServer, pytest.MonkeyPatch], None]
    shell_tool: str  # the CLI's own name for its shell tool, and the arguments that run ``command``
    shell_args: Callable[[str], dict]
    refusal: str  # what the CLI tells the model about a call to a tool it does not have (lower case)


CLIS = {cli.provider: cli for cli in (
    Cli("claude_code", seed_claude, "Bash", lambda cmd: {"command": cmd, "description": "make the marker"},
        "no such tool available"),
    Cli("codex", seed_codex, "exec_command", lambda cmd: {"cmd": cmd}, "unsupported call"),
    Cli("gemini_cli", seed_gemini, "run_shell_command", lambda cmd: {"command": cmd}, "not found"),
    Cli("qwen_code", seed_qwen, "run_shell_command", lambda cmd: {"command": cmd}, "matching deny rule"),
    Cli("opencode", seed_opencode, "bash", lambda cmd: {"command": cmd, "description": "run it"},
        "unavailable tool"),
    Cli("copilot_cli", seed_copilot, "bash", lambda cmd: {"command": cmd, "description": "run it"},
        "not available"),
)}


def _pids_with_home(home: Path, ignore: set[int]) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) not in ignore:
            try:
                if f"HOME={home}".encode() in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


# OpenCode's restrictions are tested in test_opencode.py: its refusal of a tool it did not offer is printed
# as a plain paragraph before the answer, and cao reads that paragraph as the reply (not fixed yet).
@pytest.fixture(params=[name for name in CLIS if name not in ("opencode", "copilot_cli")])
def cli(request: pytest.FixtureRequest, real_home: Path, model: ModelServer, settings: Settings,
        monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    """The CLI's returning-user HOME, seeded before cao-server starts; no agent process outlives the test."""
    chosen = CLIS[request.param]
    chosen.seed(real_home, model, monkeypatch)
    store = settings.home / "agent-store"
    store.mkdir(parents=True, exist_ok=True)
    (store / "no-shell.md").write_text(NO_SHELL)
    yield chosen
    cli_processes_end(settings, real_home, model)


def cli_processes_end(settings: Settings, real_home: Path, model: ModelServer) -> None:
    """The test's tmux server and every process with its private HOME end (killed after 15 s)."""
    subprocess.run(["tmux", "-L", settings.tmux_socket or "", "kill-server"], capture_output=True, check=False)
    ours = {os.getpid(), model.process.pid}
    try:
        retry_until(lambda: not _pids_with_home(real_home, ours), 15, 0.1, message="the agent's processes exit")
    finally:
        for pid in _pids_with_home(real_home, ours):  # only this test's: matched by its private HOME
            os.kill(pid, signal.SIGKILL)


@pytest.fixture
def api(cli: Cli, real_server: ServerProcess) -> ApiClient:
    return real_server.client


def returning_user_cli(providers: Iterable[str]) -> Callable[..., Iterator[Cli]]:
    """A ``cli`` fixture over ``providers``: each set up as a returning user has it, its processes ended after."""
    @pytest.fixture(params=list(providers))
    def cli(request: pytest.FixtureRequest, real_home: Path, model: ModelServer, settings: Settings,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
        chosen = CLIS[request.param]
        chosen.seed(real_home, model, monkeypatch)
        yield chosen
        cli_processes_end(settings, real_home, model)

    return cli


def start(api: ApiClient, cli: Cli, workdir: Path, profile: str, yolo: bool) -> dict:
    params = {"provider": cli.provider, "agent_profile": profile, "session_name": "restrict",
              "working_directory": str(workdir)}
    if yolo:
        params["yolo"] = "true"
    return api.request("POST", "/sessions", timeout=120, params=params)


def script_the_shell_call(model: ModelServer, cli: Cli, workdir: Path) -> None:
    model.set_rules([
        {"match": "^make the marker$", "needs_tools": True, "times": 1, "tool": cli.shell_tool, "force": True,
         "args": cli.shell_args(f"touch {workdir / MARKER}")},
        {"on_tool_result": ".", "text": "Tool said: {{tool_result}}"},
    ])


def shell_call_and_its_result(model: ModelServer, cli: Cli) -> tuple[dict, dict]:
    """The request the forced shell call answered, and the next one: it carries the CLI's tool result."""
    requests = model.requests()
    at = next(i for i, r in enumerate(requests) if r["reply_tool"] == cli.shell_tool)
    after = next(r for r in requests[at + 1:] if r["tool_result"] is not None)
    return requests[at], after


@pytest.mark.parametrize("yolo", [False, True], ids=["asking", "yolo"])
def test_a_profile_without_execute_bash_cannot_run_a_shell_command(api: ApiClient, cli: Cli, model: ModelServer,
                                                                   workdir: Path, yolo: bool) -> None:
    script_the_shell_call(model, cli, workdir)
    terminal = start(api, cli, workdir, "no-shell", yolo)
    assert terminal["status"] == "idle", terminal
    final = send_and_wait(api, terminal["id"], "make the marker", timeout=120)
    assert not (workdir / MARKER).exists()
    # No question: there is nothing the person could allow (with yolo there is never one).
    assert final["status"] == "completed", final
    call, result = shell_call_and_its_result(model, cli)
    assert cli.shell_tool not in call["tools"], call["tools"]  # the CLI did not even offer its shell
    assert cli.refusal in result["tool_result"].lower(), result["tool_result"]
    assert last_reply(api, terminal["id"]).startswith("Tool said: ")
    assert terminal["allowed_tools"] == ["fs_read", "fs_list", "@cao-mcp-server"]  # yolo kept them


def test_a_profile_with_the_shell_runs_it_under_yolo(api: ApiClient, cli: Cli, model: ModelServer,
                                                     workdir: Path) -> None:
    """The same scenario with the developer profile: the marker appears, so the test above can fail."""
    script_the_shell_call(model, cli, workdir)
    terminal = start(api, cli, workdir, "developer", yolo=True)
    final = send_and_wait(api, terminal["id"], "make the marker", timeout=120)
    assert final["status"] == "completed", final
    call, result = shell_call_and_its_result(model, cli)
    assert cli.shell_tool in call["tools"]
    assert cli.refusal not in result["tool_result"].lower(), result["tool_result"]
    assert (workdir / MARKER).exists()


def test_a_restricted_yolo_agent_still_uses_caos_tools_unasked(api: ApiClient, cli: Cli, model: ModelServer,
                                                               workdir: Path) -> None:
    """Keeping the restrictions under yolo must not cost orchestration: cao's ``send_message`` runs without a
    prompt (for Codex: under ``--ask-for-approval never`` with the read-only sandbox, not the bypass)."""
    agent = start(api, cli, workdir, "no-shell", yolo=True)
    receiver = api.request("POST", "/sessions/restrict/terminals", timeout=60,
                           params={"provider": "mock", "agent_profile": "reviewer"})
    model.set_rules([
        {"match": "^tell the reviewer$", "needs_tools": True, "times": 1, "tool": "send_message",
         "args": {"receiver_id": receiver["id"], "message": "restricted, yet heard"}},
        {"on_tool_result": ".", "text": "Sent: {{tool_result}}"}])
    final = send_and_wait(api, agent["id"], "tell the reviewer", timeout=120)
    assert final["status"] == "completed", final
    inbox = retry_until(lambda: api.get(f"/terminals/{receiver['id']}/inbox/messages"), 30,
                        message="message in the receiver's inbox")
    assert [(m["sender_id"], m["message"]) for m in inbox] == [(agent["id"], "restricted, yet heard")]
