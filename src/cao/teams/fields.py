"""Every cagent field and what cao does with it: mapped, not yet, or not applicable (and why).

``how`` is ``"mapped"`` (cao acts on it), ``"not_yet"`` (accepted; cao does not act on it yet) or
``"n/a"`` (accepted; it cannot apply to a real CLI, the note says why). Accepted fields that cao does
not act on give a warning naming the reason, when they are set to something other than their default.
docs/teams.md has the same table for people; tests/unit/test_team_fields.py keeps the two in step.
"""

from __future__ import annotations

from typing import NamedTuple


class Field(NamedTuple):
    kind: str  # see loader.KINDS
    how: str
    note: str = ""


CLI_LOOP = "the CLI runs its own model and tool loop; cao sees its screen, not its requests"
AGENT_FIELDS: dict[str, Field] = {
    "model": Field("str", "mapped"),
    "provider": Field("str", "mapped"),  # cao's extension: a cao provider name, with model: the model only
    "description": Field("str", "mapped"),
    "instruction": Field("str", "mapped"),
    "sub_agents": Field("names", "mapped"),
    "handoffs": Field("names", "mapped"),
    "toolsets": Field("toolsets", "mapped"),
    "add_date": Field("bool", "mapped"),
    "add_environment_info": Field("bool", "mapped"),
    "add_prompt_files": Field("str_list", "mapped"),
    "commands": Field("str_map", "mapped"),
    "welcome_message": Field("str", "mapped"),
    "structured_output": Field("structured_output", "mapped"),
    "max_iterations": Field("int", "mapped"),
    "fallback": Field("fallback", "mapped"),
    "hooks": Field("hooks", "mapped"),
    "redact_secrets": Field("bool", "mapped"),
    "skills": Field("bool_or_str_list", "mapped"),
    "permissions": Field("map", "mapped"),
    "rag": Field("str_list", "n/a", "cao has no retrieval tools of its own; give the agent an MCP server that "
                                    "searches your documents (toolsets: - type: mcp)"),
    "add_description_parameter": Field("bool", "n/a", "cao lists each sub-agent's description in the "
                                                      "caller's system prompt instead"),
    "code_mode_tools": Field("bool", "n/a", "the CLI formats its own tool results"),
    "max_consecutive_tool_calls": Field("int", "n/a", CLI_LOOP),
    "max_old_tool_call_tokens": Field("int", "n/a", "the CLI manages its own context window"),
    "num_history_items": Field("int", "n/a", "the CLI manages its own conversation history"),
    "cache": Field("map", "n/a", "a CLI agent works on files: replaying a stored reply would skip the work"),
}
REQUIRED_AGENT_FIELDS = ("model", "instruction")  # description: cao defaults it to ""

TOP_FIELDS: dict[str, Field] = {
    "agents": Field("map", "mapped"),
    "models": Field("map", "mapped"),
    "version": Field("scalar", "mapped"),  # informational
    "metadata": Field("map", "mapped"),  # informational (author, license, readme)
    "cao": Field("map", "mapped"),  # cao's own settings for the team
    "rag": Field("map", "n/a", AGENT_FIELDS["rag"].note),
    "providers": Field("map", "n/a", "each CLI reads its own credentials and endpoint"),
}
CAO_FIELDS: dict[str, Field] = {"max_delegation_depth": Field("int", "mapped")}

MODEL_FIELDS: dict[str, Field] = {
    "provider": Field("str", "mapped"),
    "model": Field("str", "mapped"),
    "max_tokens": Field("int", "n/a", "the CLI sets its own output limit"),
    "temperature": Field("number", "n/a", "the CLI sets its own sampling parameters"),
    "top_p": Field("number", "n/a", "the CLI sets its own sampling parameters"),
    "frequency_penalty": Field("number", "n/a", "the CLI sets its own sampling parameters"),
    "presence_penalty": Field("number", "n/a", "the CLI sets its own sampling parameters"),
    "parallel_tool_calls": Field("bool", "n/a", CLI_LOOP),
    "thinking_budget": Field("scalar", "n/a", "set the CLI's own thinking setting in its configuration"),
    "base_url": Field("str", "mapped"),  # for the CLIs in BASE_URL_PROVIDERS (a warning for the others)
    "token_key": Field("str", "n/a", "each CLI reads its own credentials"),
    "provider_opts": Field("map", "n/a", "the CLI has its own provider options"),
    "track_usage": Field("bool", "n/a", "the CLI reports its own usage"),
}

# The CLIs cao can point at another model endpoint (Provider.endpoint_url), each through its own setting.
BASE_URL_PROVIDERS = ("claude_code", "codex", "gemini_cli")

STRUCTURED_FIELDS: dict[str, Field] = {
    "name": Field("str", "mapped"), "schema": Field("map", "mapped"), "description": Field("str", "mapped"),
    "strict": Field("bool", "mapped"),
}
FALLBACK_FIELDS: dict[str, Field] = {
    "models": Field("str_list", "mapped"), "retries": Field("int", "mapped"), "cooldown": Field("scalar", "mapped"),
}
# Hook events cao runs itself (from what it sees of the terminal), and those only the CLI could run.
CAO_HOOK_EVENTS = ("session_start", "session_end", "on_user_input", "stop", "notification")
# Tool hooks go into the CLI's own hook system: cao writes them for these providers (event → their name).
TOOL_HOOK_EVENTS = ("pre_tool_use", "post_tool_use")
TOOL_HOOK_PROVIDERS = ("claude_code", "codex", "gemini_cli", "qwen_code", "opencode")  # their own hook systems
CLI_HOOK_EVENTS = {
    "tool_response_transform": "the CLI does not let a hook rewrite a tool's result",
    "before_llm_call": "the CLI does not let a hook rewrite its model requests",
}
HOOK_EVENTS = (*CAO_HOOK_EVENTS, *TOOL_HOOK_EVENTS, *CLI_HOOK_EVENTS)
HOOK_FIELDS: dict[str, Field] = {
    "type": Field("str", "mapped"), "command": Field("str", "mapped"), "args": Field("str_list", "mapped"),
    "timeout": Field("scalar", "mapped"), "env": Field("str_map", "mapped"),
    "matcher": Field("str", "mapped"),  # tool hooks only (a warning elsewhere)
}

# Toolset types: how each maps onto cao's tool names (profiles.TOOLS), or why it does not.
TOOLSET_TOOLS: dict[str, tuple[str, ...]] = {
    "filesystem": ("fs_*",), "shell": ("execute_bash",), "fetch": ("web_fetch",), "think": ("@builtin",),
    "todo": ("@builtin",), "mcp": (), "transfer_task": (), "handoff": (),
    "memory": (),  # cao's memory tools (memory_store/recall/forget) come with cao's MCP server (docs/memory.md)
}
TOOLSET_NA: dict[str, str] = {
    "script": "cao does not turn scripts into tools yet; wrap them in an MCP server (type: mcp)",
    "api": "cao does not turn HTTP APIs into tools yet; wrap them in an MCP server (type: mcp)",
    "a2a": "cao does not talk to A2A agents yet",
    "rag": AGENT_FIELDS["rag"].note,
    "user_prompt": "the CLI asks the user itself, in its tmux window",
    "lsp": "the CLI brings its own code intelligence",
}
TOOLSET_FIELDS: dict[str, Field] = {
    "type": Field("str", "mapped"),
    "instruction": Field("str", "mapped"),  # appended to the system prompt
    "command": Field("str", "mapped"), "args": Field("str_list", "mapped"), "env": Field("str_map", "mapped"),
    "name": Field("str", "mapped"),  # cao: the MCP server's name (default: the command's file name)
    "ref": Field("str", "n/a", "Docker MCP catalog references need Docker's MCP gateway; give command/args"),
    "remote": Field("map", "not_yet", "cao does not pass remote (HTTP) MCP servers to CLIs yet"),
    "tools": Field("str_list", "n/a", "the CLI lists an MCP server's tools itself; cao cannot filter them"),
    "defer": Field("bool_or_str_list", "n/a", "the CLI decides when it loads tools"),
    "config": Field("map", "n/a", "passed to the Docker MCP gateway, which cao does not use"),
    "path": Field("str", "n/a", "cao keeps the state itself (memories in its database, see docs/memory.md)"),
    "post_edit": Field("scalar", "n/a", "the CLI runs its own edit hooks"),
}
