"""A Codex CLI team member's tool hooks and shell denies, in Codex's own hook system.

cao passes them as ``-c hooks.PreToolUse=…``/``hooks.PostToolUse=…`` (the ``-c`` layer: nothing is written to
the user's ``config.toml``). Codex runs a hook only once it is trusted, and otherwise opens "Hooks need review"
at startup; cao trusts exactly the hooks it wrote, for this run, with ``-c hooks.state=…``: Codex merges that
table with the user's own, so the trust they gave their hooks stays, and a hook of theirs or of the repository
that they have not reviewed still asks (cao reports that dialog as ``waiting_user_answer``, never answers it).
The trust hash is Codex's (checked on 0.169.0 and 0.171.0, ``tests/e2e_real/test_team_tool_hooks.py``).

A team's shell rules have no per-terminal home in Codex (its ``.rules`` files are read from ``$CODEX_HOME``
and the repository only), so they become cao's permission guard: the denies the member's first
``PreToolUse`` hook, the allows its ``PermissionRequest`` hook (which answers before Codex asks the person).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from cao import permission_guard
from cao.providers.base import LaunchContext, team_rules, tool_hook_groups

EVENTS = {"pre_tool_use": "PreToolUse", "post_tool_use": "PostToolUse",
          "permission_request": "PermissionRequest"}  # the last only ever cao's guard (not a team event)
SOURCE = "/<session-flags>/config.toml"  # what Codex calls the ``-c`` layer in a hook's trust key
SHELL_TOOL = "Bash"  # the name Codex gives its shell tool (exec_command) in a hook's JSON and matcher
DEFAULT_TIMEOUT_S = 600  # Codex's, part of the hash when a hook sets none


def trust_hash(event: str, matcher: str, handler: dict[str, Any]) -> str:
    """Codex's trust hash of one hook: SHA-256 over the compact, key-sorted JSON of its normalized form."""
    identity = {"event_name": event, "matcher": matcher,
                "hooks": [{"type": "command", "command": handler["command"],
                           "timeout": handler.get("timeout", DEFAULT_TIMEOUT_S), "async": False}]}
    canonical = json.dumps(identity, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def member_hooks(ctx: LaunchContext) -> dict[str, list[dict[str, Any]]]:
    """The profile's tool hooks, with the permission guard first for its team's shell rules: its denies
    before each call, its allows when Codex would ask the person (a command that leaves the sandbox)."""
    hooks = dict(ctx.profile.hooks or {}) if ctx.profile is not None else {}
    denies, allows = ([rule for rule in team_rules(ctx, key) if rule["command"] is not None]
                      for key in ("deny", "allow"))
    if denies:
        hooks["pre_tool_use"] = [permission_guard.tool_hook("deny", denies, SHELL_TOOL),
                                 *hooks.get("pre_tool_use", [])]
    if allows and not ctx.yolo:  # yolo asks nothing
        hooks["permission_request"] = [permission_guard.tool_hook("allow", allows, SHELL_TOOL)]
    return hooks


def overrides(ctx: LaunchContext) -> dict[str, object]:
    """The ``-c`` overrides: each event's hook groups, and ``hooks.state`` trusting each of their handlers."""
    out: dict[str, object] = {}
    state: dict[str, object] = {}
    names = {name: event for event, name in EVENTS.items()}
    for name, groups in tool_hook_groups(member_hooks(ctx), EVENTS, 1).items():
        out[f"hooks.{name}"] = groups
        for index, group in enumerate(groups):
            for position, handler in enumerate(group["hooks"]):
                state[f"{SOURCE}:{names[name]}:{index}:{position}"] = {
                    "trusted_hash": trust_hash(names[name], group["matcher"], handler)}
    if state:
        out["hooks.state"] = state
        out["features.hooks"] = True  # on by default; a user who turned their own off still gets the team's
    return out
