"""Each real CLI, started with exactly what its provider's ``build_launch`` gives it, reaches an HTTP MCP
server over streamable HTTP with the terminal's bearer token, lists its tools and calls one.

The server is a probe (tests/mcp_http_probe.py: the MCP SDK's server, every request recorded), not
cao-server, so this checks the providers' MCP configuration by itself. The token must reach the
server, and must be in no argv and no environment of the agent's processes (only in its 0600 file).
Each test has a private HOME (what a returning user has: a model provider configured, no trust
decision stored), TMPDIR and tmux socket; cao's own startup-dialog answers are applied as cao would.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cao.private_files import write_private
from cao.providers import get_provider
from cao.providers.base import LaunchContext, Provider
from cao.services.environment import agent_environment, env_argv
from cao.settings import Settings
from cao.status import Status
from tests.conftest import retry_until
from tests.e2e_real.agent_processes import assert_secret_hidden
from tests.e2e_real.conftest import ModelServer
from tests.mcp_http_probe import ECHO_PREFIX, McpHttpProbe
from tests.screens.record_codex import seed_codex_home

pytestmark = pytest.mark.e2e_real
CLAUDE_KEY = "sk-ant-fake-key-0123456789abcdef"
CODEX_KEY_VAR = "SCRIPTED_MODEL_KEY"


def seed_claude(home: Path, model: ModelServer, monkeypatch: pytest.MonkeyPatch) -> None:
    state = {"hasCompletedOnboarding": True, "theme": "dark", "numStartups": 5,
             "customApiKeyResponses": {"approved": [CLAUDE_KEY[-20:]], "rejected": []}}
    (home / ".claude.json").write_text(json.dumps(state))  # no project trusted: cao answers the dialog
    monkeypatch.setenv("ANTHROPIC_BASE_URL", model.url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", CLAUDE_KEY)


def seed_codex(home: Path, model: ModelServer, monkeypatch: pytest.MonkeyPatch) -> None:
    seed_codex_home(home, model.url, key_var=CODEX_KEY_VAR)
    monkeypatch.setenv(CODEX_KEY_VAR, "sk-scripted")


def seed_gemini(home: Path, model: ModelServer, monkeypatch: pytest.MonkeyPatch) -> None:
    (home / ".gemini").mkdir()
    settings = {"security": {"auth": {"selectedType": "gemini-api-key"}}}
    (home / ".gemini" / "settings.json").write_text(json.dumps(settings))
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", model.url)
    monkeypatch.setenv("GEMINI_API_KEY", "fake-gemini-key")
    # No trust decision for the folder: the provider's launch itself trusts the working folder for the run
    # (Gemini loads no MCP server at all in an untrusted folder).


SEEDS: dict[str, Callable[[Path, ModelServer, pytest.MonkeyPatch], None]] = {
    "claude_code": seed_claude, "codex": seed_codex, "gemini_cli": seed_gemini}


class Pane:
    def __init__(self, settings: Settings) -> None:
        self.socket = settings.tmux_socket or ""

    def tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, "-f", "/dev/null", *args], capture_output=True, text=True,
                              check=True).stdout

    def rows(self) -> list[str]:
        return self.tmux("capture-pane", "-p", "-t", "agent").splitlines()

    def scrollback(self) -> list[str]:
        return self.tmux("capture-pane", "-p", "-J", "-S", "-", "-t", "agent").splitlines()

    def pid(self) -> int:
        return int(self.tmux("display-message", "-p", "-t", "agent", "#{pane_pid}").strip())


def home_pids(home: Path) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if f"HOME={home}".encode() in (entry / "environ").read_bytes().split(b"\0"):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


@pytest.fixture
def probe() -> Iterator[McpHttpProbe]:
    server = McpHttpProbe()
    yield server
    server.stop()


@pytest.fixture
def pane(real_home: Path, settings: Settings, model: ModelServer) -> Iterator[Pane]:
    yield Pane(settings)
    subprocess.run(["tmux", "-L", settings.tmux_socket or "", "kill-server"], capture_output=True, check=False)
    try:
        retry_until(lambda: not [p for p in home_pids(real_home) if p != model.process.pid], 15, 0.1,
                    message="the agent's processes end with its tmux server")
    finally:
        for pid in home_pids(real_home):
            if pid != model.process.pid:  # only this test's: matched by its private HOME
                os.kill(pid, signal.SIGKILL)


def start(provider: Provider, ctx: LaunchContext, pane: Pane) -> None:
    """What cao's create_terminal does: files 0600 in a 0700 runtime dir, then ``env -i … argv`` in tmux."""
    spec = provider.build_launch(ctx)
    ctx.runtime_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    for path, content in spec.files.items():
        write_private(path, content)
    env = agent_environment(terminal_id=ctx.terminal_id, api_url="http://127.0.0.1:9", term="xterm-256color",
                            session_env={}, provider_env=spec.env, passthrough=provider.env_passthrough)
    pane.tmux("new-session", "-d", "-s", "agent", "-x", "200", "-y", "50", "-c", str(ctx.working_directory),
              *env_argv(env), *spec.argv)


def answer_dialogs_until_idle(provider: Provider, pane: Pane, ready: Callable[[], bool]) -> None:
    answered: set[str] = set()

    def idle() -> bool:
        rows = pane.rows()
        text = "\n".join(rows)
        for dialog in provider.startup_dialogs:
            if dialog.pattern.pattern not in answered and dialog.pattern.search(text):
                answered.add(dialog.pattern.pattern)
                pane.tmux("send-keys", "-t", "agent", *dialog.keys)
                return False
        return provider.detect(rows) == Status.IDLE and ready()

    retry_until(idle, 60, 0.1, message=f"{provider.name} is idle with the MCP tools listed")


def type_message(provider: Provider, pane: Pane, text: str) -> None:
    pane.tmux("send-keys", "-t", "agent", "-l", text)
    retry_until(lambda: any(text in row for row in pane.rows()), 10, message="the message is in the input box")
    time.sleep(provider.enter_delay)  # the CLI's own input rule (P2): cao waits this long too
    pane.tmux("send-keys", "-t", "agent", "Enter")


@pytest.mark.parametrize("provider_name", list(SEEDS))
def test_the_cli_calls_an_http_mcp_tool_with_the_terminal_token(
    provider_name: str, real_home: Path, model: ModelServer, probe: McpHttpProbe, pane: Pane, workdir: Path,
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    SEEDS[provider_name](real_home, model, monkeypatch)
    model.set_rules([{"match": "call the probe", "needs_tools": True, "tool": "echo_tool",
                      "args": {"text": "over http"}},
                     {"on_tool_result": "probe echo", "text": "Got: {{tool_result}}"}])
    provider = get_provider(provider_name)
    token = secrets.token_urlsafe(32)
    ctx = LaunchContext(terminal_id="abcd1234", working_directory=workdir, runtime_dir=tmp_path / "run" / "abcd1234",
                        api_url=probe.url.removesuffix("/mcp"), mcp_token=token)
    start(provider, ctx, pane)
    answer_dialogs_until_idle(provider, pane, lambda: "tools/list" in probe.rpc_methods())

    assert_secret_hidden(pane.pid(), token)

    type_message(provider, pane, "please call the probe")
    retry_until(lambda: provider.detect(pane.rows()) == Status.COMPLETED and probe.echoed, 60, 0.1,
                message=f"{provider_name} calls the tool and answers")
    assert probe.echoed == ["over http"]
    assert "Got: " in (provider.extract_last_reply(pane.scrollback()) or "")
    assert [r for r in model.requests() if (r["tool_result"] or "").find(ECHO_PREFIX + "over http") >= 0]
    methods = probe.rpc_methods()
    assert methods[0] == "initialize" and "tools/call" in methods
    assert {r.authorization for r in probe.requests} == {f"Bearer {token}"}  # every request, GET stream too
    assert {r.path for r in probe.requests} == {"/mcp"}
