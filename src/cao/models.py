"""Stored records (SQLModel tables) and the public shapes the API returns.

The tables' DDL is owned by ``cao.migrations``; these classes must match it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from pydantic import BaseModel
from sqlmodel import Field, SQLModel

from cao.status import Status


def utcnow() -> datetime:
    return datetime.now(UTC)


class SessionRecord(SQLModel, table=True):
    __tablename__ = "sessions"
    name: str = Field(primary_key=True)
    working_directory: str
    conductor_id: str | None = None
    env_json: str = "{}"  # the user's --env pairs, applied to every window of the session
    team_json: str | None = None  # the team it runs (cao launch team.yaml), see cao/teams/models.py
    created_at: datetime = Field(default_factory=utcnow)

    @property
    def env(self) -> dict[str, str]:
        return json.loads(self.env_json or "{}")


class TerminalRecord(SQLModel, table=True):
    __tablename__ = "terminals"
    id: str = Field(primary_key=True)
    session_name: str = Field(index=True)
    window_name: str
    provider: str
    agent_profile: str | None = None
    working_directory: str
    status: str = Status.UNKNOWN.value
    exit_reason: str | None = None  # set when the agent exited or its window vanished
    caller_id: str | None = None
    allowed_tools_json: str | None = None
    model: str | None = None
    mcp_token: str | None = Field(default=None, repr=False)  # the terminal's MCP capability token
    created_at: datetime = Field(default_factory=utcnow)
    status_changed_at: datetime = Field(default_factory=utcnow)
    last_active: datetime = Field(default_factory=utcnow)

    @property
    def allowed_tools(self) -> list[str] | None:
        return None if self.allowed_tools_json is None else json.loads(self.allowed_tools_json)


class InboxMessageRecord(SQLModel, table=True):
    __tablename__ = "inbox_messages"
    id: int | None = Field(default=None, primary_key=True)
    sender_id: str
    receiver_id: str = Field(index=True)
    message: str
    status: str = "pending"
    attempts: int = 0
    error: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    next_attempt_at: datetime | None = None
    delivered_at: datetime | None = None


class InboxMessage(BaseModel):
    id: int
    sender_id: str
    receiver_id: str
    message: str
    status: str  # pending | delivered | failed
    attempts: int
    error: str | None
    created_at: datetime
    delivered_at: datetime | None


# --- API shapes -------------------------------------------------------------------------


class Terminal(BaseModel):
    id: str
    name: str  # tmux window name
    session_name: str
    provider: str
    agent_profile: str | None
    working_directory: str
    status: Status
    exit_reason: str | None = None
    caller_id: str | None
    allowed_tools: list[str] | None
    model: str | None
    turn: int = 0  # inputs sent through cao since the server adopted the terminal
    turns_finished: int = 0
    # The last finished turn ended back at the prompt without a reply or error (the agent was
    # interrupted, e.g. Esc): status is idle, and there is no reply for it.
    last_turn_interrupted: bool = False
    created_at: datetime
    last_active: datetime
    status_changed_at: datetime | None = None  # when the status last changed (the UI's "for 2 min")


class McpConnection(BaseModel):
    url: str
    headers: dict[str, str]


class SessionSummary(BaseModel):
    id: str
    name: str
    status: str  # "active" (a client is attached) or "detached"
    working_directory: str | None
    agent_profile: str | None
    conductor_id: str | None
    terminals: int
    conductor_status: Status | None = None


class TreeNode(BaseModel):
    id: str
    agent_profile: str | None
    status: Status
    children: list[TreeNode] = []


class SessionDetail(BaseModel):
    session: SessionSummary
    terminals: list[Terminal]
    tree: list[TreeNode] = []  # who created whom: roots are terminals no other terminal here created


class Restored(BaseModel):
    session_name: str
    window_name: str


class Success(BaseModel):
    success: bool = True


class InputAccepted(BaseModel):
    success: bool = True
    turn: int


class Output(BaseModel):
    output: str
    mode: str


class Health(BaseModel):
    status: str = "ok"
    service: str = "cao"
    version: str
    terminal_backend: str = "tmux"
    tmux_version: str | None
    terminals: int


class DeleteResult(BaseModel):
    success: bool
    deleted: list[str]
    errors: list[str] = []
