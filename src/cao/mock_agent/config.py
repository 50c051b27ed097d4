"""The mock agent's configuration, built from its flags by ``main.build_config``."""

from __future__ import annotations

from dataclasses import dataclass, field

from cao.mock_agent.script import Script


@dataclass
class Config:
    name: str | None = None
    model: str = "mock-1"
    system_prompt: str = ""
    script: Script = field(default_factory=Script)
    script_path: str | None = None
    mcp_servers: dict | None = None
    delay: float = 0.2
    yolo: bool = False
    trace_path: str | None = None
