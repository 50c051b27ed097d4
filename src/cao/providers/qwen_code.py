"""Provider for Qwen Code (``qwen``, tested with 0.24.4). See docs/providers/qwen_code.md.

Nothing of the user's is written: ``~/.qwen`` (settings, keys, history) is read by Qwen as usual.
Per terminal, cao adds three files in the runtime directory and points Qwen at them with its own
switches: cao's MCP endpoint (``--mcp-config``, the only file holding the terminal's token), a
system-defaults layer (``QWEN_CODE_SYSTEM_DEFAULTS_PATH``: the lowest settings layer, so the user's
own settings still win) that keeps the transcript in the normal screen (tmux scrollback holds whole
replies) and turns off the self-update, the feedback survey and follow-up suggestions; and a copy of
the user's trusted folders that trusts the working directory for this run (``QWEN_CODE_TRUSTED_FOLDERS_PATH``).
A team member's tool hooks and permissions go into the system-defaults layer too: Qwen runs that layer's
hooks as system hooks (in any folder, trusted or not, alongside the user's own) and unions every layer's
``permissions`` lists, where a deny outranks any allow and holds in yolo mode.

Screen cues (plain rows): input box ``>   Type your message`` (``*`` in YOLO mode) between two rules,
on screen while Qwen works too; busy ``⠧ Counting electrons... (2s · esc to cancel)`` above it;
task echo ``  > task``; answer ``  ◆︎ text`` with continuation rows indented by four spaces; error
``  ✕ [API Error: …]``; questions (``Allow execution of``…) replace the input box.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from cao.providers.base import (
    CAO_SERVER,
    LaunchContext,
    LaunchSpec,
    Provider,
    cao_mcp_http,
    permission_tools,
    profile_mcp_servers,
    tool_hook_groups,
    ungranted_tools,
)
from cao.status import Status

RULE_RE = re.compile(r"^─{20,}$")
INPUT_RE = re.compile(r"^[>*!] ")  # the input row under the box's top rule (> default, * yolo, ! shell)
PLACEHOLDER_RE = re.compile(r"^[>*!]   Type your message")  # the input row of an empty box
BUSY_RE = re.compile(r"\besc to cancel\)")
ECHO_RE = re.compile(r"^  > \S")
ANSWER_RE = re.compile(r"^  ◆\ufe0e? ")
ERROR_RE = re.compile(r"^  ✕ ")
CANCELLED_RE = re.compile(r"^  ●\ufe0e? Request cancelled\.")  # Esc mid-turn (the task's echo is removed)
ITEM_RE = re.compile(r"^ {0,3}\S")  # the first row of any history item (continuation rows are indented more)
QUESTION_RE = re.compile(r"Allow execution of|Waiting for user confirmation|Do you trust this folder\?|"
                         r"Connect a Provider|Apply this change\?|Allow (?:edit|write)")
CAO_TOOL_TIMEOUT_MS = 3_900_000  # longer than the longest handoff (3600 s)
# cao's tool vocabulary → Qwen Code's built-in tools, passed to --exclude-tools when not allowed.
NATIVE_TOOLS = {
    "execute_bash": ("run_shell_command", "monitor", "task_stop", "agent"),
    "fs_read": ("read_file", "zoom_image"),
    "fs_write": ("write_file", "edit", "notebook_edit"),
    "fs_list": ("list_directory", "glob", "grep_search"),
    "web_fetch": ("web_fetch", "web_search"),
}
# cao's layer under the user's settings (see the module docstring); "$version" is Qwen's settings format.
CAO_DEFAULTS: dict[str, Any] = {
    "$version": 4,
    # follow-up suggestions: a side request after each turn, and Enter in the box would accept one
    "ui": {"useTerminalBuffer": False, "enableUserFeedback": False, "enableFollowupSuggestions": False},
    "general": {"enableAutoUpdate": False},
    "mcp": {"toolIdleTimeoutMs": CAO_TOOL_TIMEOUT_MS},  # a handoff may send nothing for a long time
}
QWEN_HOOK_EVENTS = {"pre_tool_use": "PreToolUse", "post_tool_use": "PostToolUse"}
LEGACY_MS_TIMEOUT = 1000  # Qwen reads a hook timeout of 1000 or more as milliseconds, below it as seconds
# The prompt file goes in as one argument, read by the shell (tmux refuses commands over ~16 KB).
SH_APPEND_PROMPT = 'p=$(cat "$1"); shift; exec "$@" --append-system-prompt "$p"'


def _json_object(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # missing, or JSON with comments: cao's entries alone
    return data if isinstance(data, dict) else {}


def _merged(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        out[key] = _merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def qwen_rule(rule: dict[str, Any], key: str) -> list[str]:
    """A permissions rule (cao/teams/permissions.py) as Qwen Code's rule strings: ``run_shell_command(git status *)``
    for the command as whole words and anything after it, a whole tool as its Qwen tools. Qwen has no exact
    command rule: ``run_shell_command(rm -rf build)`` is that command with any arguments after it too. An exact
    deny then denies a little more, which holds; an exact allow would allow more than written, so none is
    written (the loader warns; a ``fallback`` from another CLI may still carry one)."""
    if rule["command"] is not None:
        if key == "allow" and not rule["prefix"]:
            return []
        return [f"run_shell_command({rule['command']}{' *' if rule['prefix'] else ''})"]
    return permission_tools(rule, key, NATIVE_TOOLS)


def _appended(own: Any, extra: dict[str, list[Any]]) -> dict[str, Any]:
    """``own`` (a settings object of lists, e.g. the administrator's ``hooks``) with ``extra``'s lists after its own."""
    merged = dict(own) if isinstance(own, dict) else {}
    for key, items in extra.items():
        mine = merged.get(key)
        merged[key] = [*(mine if isinstance(mine, list) else []), *items]
    return merged


def qwen_home() -> Path:
    configured = os.environ.get("QWEN_HOME")
    return Path(configured).expanduser() if configured else Path.home() / ".qwen"


class QwenCodeProvider(Provider):
    name: ClassVar[str] = "qwen_code"
    binary: ClassVar[str] = "qwen"
    package_hint: ClassVar[str] = "npm install -g @qwen-code/qwen-code"
    exit_command: ClassVar[str] = "/quit"
    bracketed_paste: ClassVar[bool] = True
    # On Esc, Qwen removes the task's echo a frame before it prints "Request cancelled.": that frame
    # shows the previous answer last, as a completed turn would.
    completed_settle_s: ClassVar[float] = 0.3
    busy_cue: ClassVar[re.Pattern[str] | None] = re.compile(r"esc to cancel")
    env_passthrough: ClassVar[tuple[str, ...]] = ("QWEN_", "DASHSCOPE_", "NO_PROXY", "HTTPS_PROXY", "HTTP_PROXY")
    tested_versions: ClassVar[tuple[str, ...]] = ("0.24.4",)

    def blocked_tools(self, ctx: LaunchContext) -> list[str]:
        """Qwen's tools outside the profile's allowed ones (yolo changes approvals, not restrictions)."""
        return ungranted_tools(ctx.allowed_tools or None, NATIVE_TOOLS)

    def mcp_servers(self, ctx: LaunchContext) -> dict[str, dict[str, Any]]:
        allowed = set(ctx.allowed_tools or ("*",))
        servers: dict[str, dict[str, Any]] = {}
        if allowed & {"*", "@cao-mcp-server", f"@{CAO_SERVER}"}:
            # ``httpUrl`` is streamable HTTP in Qwen (``url`` would be the old SSE transport); without
            # ``alwaysLoadTools`` Qwen defers MCP tools behind its tool_search (the model sees only names)
            http = cao_mcp_http(ctx)
            servers[CAO_SERVER] = {"httpUrl": http["url"], "headers": http["headers"],
                                   "timeout": CAO_TOOL_TIMEOUT_MS, "trust": True, "alwaysLoadTools": True}
        for name, server in profile_mcp_servers(ctx).items():
            config = server.model_dump(exclude_none=True)
            config.pop("type", None)
            servers[name] = config
        return servers

    @staticmethod
    def provider_keys() -> dict[str, str]:
        """The key variables the user's settings name (``modelProviders.*[].envKey``), from cao's env."""
        providers = _json_object(qwen_home() / "settings.json").get("modelProviders")
        keys = {model.get("envKey") for models in (providers.values() if isinstance(providers, dict) else ())
                if isinstance(models, list) for model in models if isinstance(model, dict)}
        return {k: os.environ[k] for k in keys if isinstance(k, str) and os.environ.get(k)}

    @staticmethod
    def trusted_folders(ctx: LaunchContext) -> dict[str, Any]:
        """The user's trust rules plus the working directory (unless the user decided about it)."""
        real = os.environ.get("QWEN_CODE_TRUSTED_FOLDERS_PATH") or str(qwen_home() / "trustedFolders.json")
        rules = _json_object(Path(real))
        rules.setdefault(str(ctx.working_directory), "TRUST_FOLDER")
        return rules

    def build_launch(self, ctx: LaunchContext) -> LaunchSpec:
        system = os.environ.get("QWEN_CODE_SYSTEM_DEFAULTS_PATH") or "/etc/qwen-code/system-defaults.json"
        defaults, trust = ctx.runtime_dir / "qwen-defaults.json", ctx.runtime_dir / "qwen-trusted-folders.json"
        mcp = ctx.runtime_dir / "qwen-mcp.json"
        servers = self.mcp_servers(ctx)
        layer = _merged(_json_object(Path(system)), CAO_DEFAULTS)
        if ctx.profile is not None and ctx.profile.hooks:
            layer["hooks"] = _appended(layer.get("hooks"), self.tool_hooks(ctx.profile.hooks))
        if ctx.profile is not None and ctx.profile.permissions:
            layer["permissions"] = _appended(layer.get("permissions"), {
                key: [name for rule in rules for name in qwen_rule(rule, key)]
                for key, rules in ctx.profile.permissions.items()})
        files = {defaults: json.dumps(layer, indent=2) + "\n",
                 trust: json.dumps(self.trusted_folders(ctx), indent=2) + "\n",
                 mcp: json.dumps({"mcpServers": servers}, indent=2) + "\n"}
        env = {**self.provider_keys(), "QWEN_CODE_SYSTEM_DEFAULTS_PATH": str(defaults),
               "QWEN_CODE_TRUSTED_FOLDERS_PATH": str(trust),
               # one process: the relaunch for a larger heap would add a second Node process per terminal
               "QWEN_CODE_NO_RELAUNCH": "true"}
        # An explicit mode: a new user's default is "auto", where a model classifier approves tools.
        argv = [self.resolve_binary(), "--approval-mode", "yolo" if ctx.yolo else "default", "--mcp-config", str(mcp)]
        if ctx.model:
            argv += ["-m", ctx.model]
        blocked = self.blocked_tools(ctx)
        if blocked:
            argv.append("--exclude-tools=" + ",".join(blocked))
        prompt = ctx.system_prompt
        if prompt:
            path = ctx.runtime_dir / "system_prompt.md"
            files[path] = prompt + "\n"
            argv = ["/bin/sh", "-c", SH_APPEND_PROMPT, "cao-qwen", str(path), *argv]
        return LaunchSpec(argv=argv, env=env, files=files, uses_cao_mcp=CAO_SERVER in servers)

    @staticmethod
    def tool_hooks(hooks: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
        """A member's tool hooks as Qwen's ``PreToolUse``/``PostToolUse`` (Claude Code's shape, timeouts in s)."""
        groups = tool_hook_groups(hooks, QWEN_HOOK_EVENTS, 1)
        for entry in (hook for event in groups.values() for group in event for hook in group["hooks"]):
            if entry.get("timeout", 0) >= LEGACY_MS_TIMEOUT:
                entry["timeout"] *= 1000
        return groups

    # --- the screen ---------------------------------------------------------------------------

    @staticmethod
    def _input_box(lines: Sequence[str]) -> int | None:
        """Index of the input box's top rule: a rule, an input row, and a rule again below."""
        for i in range(len(lines) - 2, 0, -1):
            if INPUT_RE.match(lines[i]) and RULE_RE.match(lines[i - 1]) and \
                    any(RULE_RE.match(line) for line in lines[i + 1:i + 12]):
                return i - 1
        return None

    def detect(self, lines: Sequence[str]) -> Status:
        lines = [line.rstrip() for line in lines]
        box = self._input_box(lines)
        ask = max((i for i, line in enumerate(lines) if QUESTION_RE.search(line)), default=None)
        if ask is not None and (box is None or box < ask):
            return Status.WAITING_USER_ANSWER
        if box is None:
            return Status.PROCESSING if any(BUSY_RE.search(line) for line in lines) else Status.UNKNOWN
        if any(BUSY_RE.search(line) for line in lines[max(0, box - 4):box]):  # the spinner sits on the box
            return Status.PROCESSING
        history = [line for line in lines[:box] if line.strip()]
        if not history:
            return Status.UNKNOWN  # the box is drawn before the banner; input is lost until then
        items = [line for line in history if ITEM_RE.match(line)]
        echo = max((i for i, line in enumerate(items) if ECHO_RE.match(line)), default=-1)
        last = next((line for line in reversed(items[echo + 1:]) if ANSWER_RE.match(line) or
                     ERROR_RE.match(line) or CANCELLED_RE.match(line)), None)
        if last is None:
            # Only continuation rows on screen: the tail of a reply longer than the screen.
            return Status.COMPLETED if not items else Status.IDLE
        if CANCELLED_RE.match(last):
            return Status.IDLE
        return Status.ERROR if ERROR_RE.match(last) else Status.COMPLETED

    def ended_unanswered(self, lines: Sequence[str]) -> bool:
        """Esc before the model sent anything: Qwen rewinds the turn (its echo and "Request cancelled."
        go) and puts the message back into the box, which is not empty then."""
        lines = [line.rstrip() for line in lines]
        box = self._input_box(lines)
        return box is not None and not PLACEHOLDER_RE.match(lines[box + 1])

    def extract_last_reply(self, lines: Sequence[str]) -> str | None:
        start = next((i for i in range(len(lines) - 1, -1, -1) if ANSWER_RE.match(lines[i])), None)
        if start is None:
            return None
        first = lines[start].rstrip()
        body = [first[ANSWER_RE.match(first).end():]]  # type: ignore[union-attr]
        for raw in lines[start + 1:]:
            line = raw.rstrip()
            if line and not line.startswith("    "):
                break  # the next item (an echo, a tool, an error), or the input box
            body.append(line[4:])
        while len(body) > 1 and not body[-1]:
            body.pop()
        return "\n".join(body)
