"""Small helpers shared by the tmux and e2e tiers."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from cao.client import ApiClient
from cao.errors import NotFound
from cao.settings import Settings


def tmux(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["tmux", "-L", settings.tmux_socket or "", *args], capture_output=True, text=True,
                          check=False)


def tmux_sessions(settings: Settings) -> list[str]:
    result = tmux(settings, "list-sessions", "-F", "#{session_name}")
    return result.stdout.split() if result.returncode == 0 else []


def pane_of(settings: Settings, session: str, window: str) -> str:
    result = tmux(settings, "list-panes", "-t", f"{session}:{window}", "-F", "#{pane_id}")
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def launch(api: ApiClient, workdir: Path, *, session: str = "t1", profile: str = "developer",
           env: dict[str, str] | None = None, **params: str) -> dict:
    return api.request("POST", "/sessions", timeout=60,
                       params={"agent_profile": profile, "provider": "mock", "session_name": session,
                               "working_directory": str(workdir), **params},
                       body={"env_vars": env or {}})


def write_script(path: Path, rules: list[dict], default: list[dict] | None = None) -> Path:
    data: dict = {"rules": rules}
    if default is not None:
        data["default"] = default
    path.write_text(json.dumps(data))
    return path


def send_and_wait(api: ApiClient, terminal_id: str, message: str, timeout: float = 20) -> dict:
    turn = api.request("POST", f"/terminals/{terminal_id}/input", body={"message": message})["turn"]
    return api.request("GET", f"/terminals/{terminal_id}/wait", params={"turn": turn, "timeout": timeout},
                       timeout=timeout + 5)


def screen(api: ApiClient, terminal_id: str, rows: int = 40) -> str:
    """The pane's last rows, for a failure's message."""
    return "\n".join(api.get(f"/terminals/{terminal_id}/output", mode="full")["output"].splitlines()[-rows:])


def last_reply(api: ApiClient, terminal_id: str) -> str:
    """The terminal's last reply, or "" while it has none."""
    try:
        return api.get(f"/terminals/{terminal_id}/output", mode="last")["output"]
    except NotFound:
        return ""
