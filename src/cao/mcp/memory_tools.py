"""The memory tools (the public CAO's names): memory_store, memory_recall, memory_forget.

Each acts as the calling terminal (its token), in its own scopes only. Registered on import through
``cao.mcp.tools.TOOL_SETS``; cao-server imports this module.
"""

from __future__ import annotations

import json
from typing import Any

from cao.mcp.protocol import CallContext, Tool
from cao.mcp.tools import TOOL_SETS, guard
from cao.services.memory import service
from cao.services.memory.config import SCOPES
from cao.services.memory.records import Memory
from cao.services.memory.scopes import MAX_LIMIT
from cao.services.runtime import Runtime

SCOPE = {"type": "string", "enum": list(SCOPES),
         "description": "session (this session), project (this git repository or folder), agent (your profile), "
                        "or global (everywhere)"}
KEY = {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,59}$", "maxLength": 60,
       "description": "short id such as build-commands (lowercase letters, digits, '-')"}


def _schema(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


def _public(memory: Memory) -> dict[str, Any]:
    item = {"key": memory.key, "scope": memory.scope, "scope_id": memory.scope_id, "content": memory.content,
            "updated_at": memory.updated_at.isoformat()}
    if memory.score is not None:
        item["score"] = memory.score
    return item


class MemoryTools:
    def __init__(self, rt: Runtime, me: str) -> None:
        self.rt = rt
        self.me = me

    async def store(self, args: dict[str, Any], _ctx: CallContext) -> str:
        stored = service.remember(self.rt, self.me, args["content"], args.get("key"), args.get("scope"))
        result: dict[str, Any] = {"success": True, "key": stored.memory.key, "scope": stored.memory.scope,
                                  "scope_id": stored.memory.scope_id, "action": stored.action}
        if stored.masked:
            result["masked_secrets"] = list(stored.masked)
            result["note"] = "secrets in the content were replaced by [secret:<kind>] before storing"
        return json.dumps(result)

    async def recall(self, args: dict[str, Any], _ctx: CallContext) -> str:
        found = service.recall(self.rt, self.me, args.get("query") or "", args.get("scope"), args.get("limit"))
        return json.dumps({"success": True, "memories": [_public(m) for m in found]})

    async def forget(self, args: dict[str, Any], _ctx: CallContext) -> str:
        memory = service.forget(self.rt, self.me, args["key"], args.get("scope"))
        return json.dumps({"success": True, "deleted": True, "key": memory.key, "scope": memory.scope})

    def definitions(self) -> list[Tool]:
        return [
            Tool("memory_store", "Remember something for later work: facts about the project, decisions, "
                 "commands that work, the user's preferences. The same key in the same scope is replaced. "
                 "Secrets are masked. Default scope: project.",
                 _schema({"content": {"type": "string", "description": "what to remember (at most 16 KiB)"},
                          "key": KEY, "scope": SCOPE}, ["content"]), guard(self.store)),
            Tool("memory_recall", "Search what was remembered, most relevant first (full-text search). "
                 "Without scope: your session, project, agent and global memories. An empty query lists the "
                 "most recent.",
                 _schema({"query": {"type": "string", "description": "words to look for", "maxLength": 1000},
                          "scope": SCOPE,
                          "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 10}},
                         ["query"]), guard(self.recall)),
            Tool("memory_forget", "Forget a memory by its key. Without scope: the one of your scopes that has it.",
                 _schema({"key": KEY, "scope": SCOPE}, ["key"]), guard(self.forget)),
        ]


def memory_tools(rt: Runtime, terminal_id: str) -> list[Tool]:
    if not rt.settings.memory.enabled:
        return []
    return MemoryTools(rt, terminal_id).definitions()


TOOL_SETS.append(memory_tools)
