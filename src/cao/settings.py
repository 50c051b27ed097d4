"""Settings, read once from the environment. Import-light: the CLI imports this on every run."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from cao.services.memory.config import MemorySettings

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9889


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() not in {"0", "false", "no", "off"}


@dataclass(frozen=True)
class Settings:
    home: Path
    api_host: str = DEFAULT_HOST
    api_port: int = DEFAULT_PORT
    tmux_socket: str | None = None
    database_url: str | None = None
    auto_start: bool = True
    eager_inbox: bool = False  # type messages into busy agents whose CLI queues input (see docs/orchestration.md)
    auth: bool = True  # CAO_AUTH=off: no owner token on the API (docs/security.md)
    memory: MemorySettings = field(default_factory=MemorySettings)  # CAO_MEMORY_* (docs/memory.md)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        home = Path(env.get("CAO_HOME") or Path.home() / ".cao").expanduser()
        port_text = env.get("CAO_API_PORT") or str(DEFAULT_PORT)
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            from cao.errors import InvalidInput

            raise InvalidInput(f"CAO_API_PORT={port_text!r} is not a port number (1-65535)")
        return cls(
            home=home,
            api_host=env.get("CAO_API_HOST") or DEFAULT_HOST,
            api_port=int(port_text),
            tmux_socket=env.get("CAO_TMUX_SOCKET") or None,
            database_url=env.get("CAO_DATABASE_URL") or None,
            auto_start=_flag(env.get("CAO_AUTO_START"), True),
            eager_inbox=_flag(env.get("CAO_EAGER_INBOX_DELIVERY"), False),
            auth=_flag(env.get("CAO_AUTH"), True),
            memory=MemorySettings.from_env(env),
        )

    @property
    def api_url(self) -> str:
        host = f"[{self.api_host}]" if ":" in self.api_host else self.api_host
        return f"http://{host}:{self.api_port}"

    @property
    def db_dir(self) -> Path:
        return self.home / "db"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def terminal_logs_dir(self) -> Path:
        return self.home / "logs" / "terminal"

    @property
    def run_dir(self) -> Path:
        """FIFOs, per-terminal launch files and the server's pid file."""
        return self.home / "run"

    @property
    def api_token_file(self) -> Path:
        """The owner's API token (0600), made at the server's first start, read by the CLI."""
        return self.run_dir / "api-token"

    @property
    def agent_store_dir(self) -> Path:
        return self.home / "agent-store"

    @property
    def flows_dir(self) -> Path:
        """Flow files written by ``POST /flows`` from fields (the public CAO's form)."""
        return self.home / "flows"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.db_dir / 'cao.db'}"

    def ensure_dirs(self) -> None:
        for path in (self.home, self.db_dir, self.logs_dir, self.terminal_logs_dir, self.run_dir,
                     self.agent_store_dir, self.flows_dir):
            path.mkdir(parents=True, exist_ok=True, mode=0o700)
