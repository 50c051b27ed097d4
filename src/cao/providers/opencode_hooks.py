"""A team member's tool hooks (``pre_tool_use``/``post_tool_use``) as an OpenCode plugin of its terminal.

OpenCode has no hook commands in its config, but it loads plugins (JavaScript modules, here one listed
as ``file://…`` in the terminal's ``plugin``) and calls their ``tool.execute.before`` before every tool
call, the permission check included, and ``tool.execute.after`` after each one that succeeded. The
generated plugin runs each hook as an argv (split by cao like its own hooks: no shell, nothing of the
agent's in it), with the call's JSON on stdin, and fails the call when a ``pre_tool_use`` hook exits
with 2: OpenCode then gives the model the hook's stderr as the tool's error, and the turn goes on.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from typing import Any

OPENCODE_HOOK_EVENTS = {"pre_tool_use": "tool.execute.before", "post_tool_use": "tool.execute.after"}
# The hooks are data (JSON is a JavaScript literal); everything else is fixed text.
PLUGIN = """\
// cao's tool hooks for this terminal, generated from the team file (cao/providers/opencode_hooks.py).
import { spawn } from "node:child_process";

const HOOKS = %s;

function run(hook, event) {
  return new Promise((resolve) => {
    let stderr = "";
    let child;
    try {
      child = spawn(hook.argv[0], hook.argv.slice(1), {
        env: { ...process.env, ...hook.env }, stdio: ["pipe", "ignore", "pipe"] });
    } catch (error) {
      resolve({ code: null, stderr: String(error) });
      return;
    }
    const timer = setTimeout(() => child.kill("SIGKILL"), hook.timeout_ms);
    child.stderr.on("data", (data) => { stderr += data; });
    child.stdin.on("error", () => {});
    child.on("error", (error) => { clearTimeout(timer); resolve({ code: null, stderr: String(error) }); });
    child.on("close", (code) => { clearTimeout(timer); resolve({ code, stderr }); });
    child.stdin.end(JSON.stringify(event));
  });
}

function matches(matcher, tool) {
  if (!matcher || matcher === "*") return true;
  try {
    return new RegExp(matcher).test(tool);
  } catch {
    return matcher === tool;  // not a regex: the tool's name (a throw here would fail every call)
  }
}

async function fire(name, input, fields) {
  for (const hook of HOOKS[name] ?? []) {
    if (!matches(hook.matcher, input.tool)) continue;
    const event = { hook_event_name: name, session_id: input.sessionID, call_id: input.callID,
                    tool_name: input.tool, ...fields };
    const { code, stderr } = await run(hook, event);
    if (name === "tool.execute.before" && code === 2) {
      throw new Error(stderr.trim() || "stopped by the team's pre_tool_use hook");
    }
  }
}

export const CaoToolHooks = async () => ({
  "tool.execute.before": async (input, output) => fire("tool.execute.before", input, { tool_input: output.args }),
  "tool.execute.after": async (input, output) =>
    fire("tool.execute.after", input, { tool_input: input.args, tool_response: output.output }),
});
"""


def tool_hooks_plugin(hooks: Mapping[str, list[dict[str, Any]]]) -> str | None:
    """The plugin's text for a profile's tool hooks (cagent's shape), or None when there are none."""
    data: dict[str, list[dict[str, Any]]] = {}
    for event, entries in hooks.items():
        name = OPENCODE_HOOK_EVENTS.get(event)
        if name is None:
            continue
        for hook in entries:
            data.setdefault(name, []).append({
                "argv": [*shlex.split(str(hook["command"])), *(hook.get("args") or [])],
                "env": dict(hook.get("env") or {}), "matcher": hook.get("matcher") or "",
                "timeout_ms": max(1, round(float(hook.get("timeout") or 60) * 1000))})
    return PLUGIN % json.dumps(data, indent=2) if data else None
