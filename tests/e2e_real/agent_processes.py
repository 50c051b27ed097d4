"""The processes of an agent's tmux pane, read from /proc: to prove what is (not) in their argv and env."""

from __future__ import annotations

from pathlib import Path

from cao.client import ApiClient
from cao.settings import Settings
from tests.helpers import tmux


def read_proc(pid: int, name: str) -> bytes:
    """/proc/<pid>/<name>, or nothing for a process that has ended meanwhile (a CLI's short-lived child)."""
    try:
        return Path(f"/proc/{pid}/{name}").read_bytes()
    except OSError:
        return b""


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo += children.get(current, [])
    return found


def pane_pid(settings: Settings, target: str) -> int:
    """The pid of the process tmux started in the pane ``target`` (``session:window`` or a session)."""
    result = tmux(settings, "display-message", "-p", "-t", target, "#{pane_pid}")
    assert result.returncode == 0, result.stderr
    return int(result.stdout.strip())


def assert_secret_hidden(agent_pid: int, secret: str) -> list[bytes]:
    """The secret is in no argv and no environment of the agent or its children; returns their argvs."""
    assert read_proc(agent_pid, "environ") and read_proc(agent_pid, "cmdline"), f"process {agent_pid} is gone"
    argvs = []
    for pid in descendants(agent_pid):
        cmdline = read_proc(pid, "cmdline")
        assert secret.encode() not in cmdline, f"the token is in the argv of {pid}: {cmdline[:200]!r}"
        assert secret.encode() not in read_proc(pid, "environ"), f"the token is in the environment of {pid}"
        argvs.append(cmdline)
    return argvs


def terminal_token(api: ApiClient, settings: Settings, terminal_id: str) -> str:
    """The terminal's MCP token, from the owner's ``GET /terminals/{id}/mcp-config`` (cao's HTTP endpoint)."""
    config = api.get(f"/terminals/{terminal_id}/mcp-config")
    assert config["url"] == settings.api_url + "/mcp", config
    scheme, _, token = config["headers"]["Authorization"].partition(" ")
    assert scheme == "Bearer" and len(token) >= 16, config
    return token


def assert_token_only_in_its_config(api: ApiClient, settings: Settings, terminal: dict, config_file: str) -> str:
    """The agent reaches cao's MCP over HTTP: no stdio bridge below it, its token in no argv or environment,
    only in its own 0600 CLI config under the terminal's runtime dir. Returns the token."""
    token = terminal_token(api, settings, terminal["id"])
    argvs = assert_secret_hidden(pane_pid(settings, f"{terminal['session_name']}:{terminal['name']}"), token)
    bridges = [argv for argv in argvs  # a process whose program (not some prompt text) is cao's stdio bridge
               if any(part in (b"cao.mcp.server", b"cao-mcp-server") or part.endswith(b"/cao-mcp-server")
                      for part in argv.split(b"\0")[:3])]
    assert not bridges, bridges
    runtime = settings.run_dir / terminal["id"]
    holders = [path for path in runtime.rglob("*")
               if path.is_file() and not path.is_symlink() and token.encode() in path.read_bytes()]
    assert holders == [runtime / config_file], holders
    assert holders[0].stat().st_mode & 0o777 == 0o600
    return token
