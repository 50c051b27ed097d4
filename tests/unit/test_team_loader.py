"""Team files: every cagent field parsed, mapped or warned about; every error names the key, its line and the fix."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import NamedTuple

import pytest

from cao.errors import InvalidTeam
from cao.teams import durations
from cao.teams.loader import load_team, parse_team
from cao.teams.members import profile
from cao.teams.models import Team


def parse(text: str, base_dir: Path | None = None) -> Team:
    return parse_team(textwrap.dedent(text), source="team.yaml", base_dir=base_dir or Path("/nonexistent"))


def errors_of(text: str, base_dir: Path | None = None) -> str:
    with pytest.raises(InvalidTeam) as caught:
        parse(text, base_dir)
    return str(caught.value)


ROOT = """\
agents:
  root:
    model: mock/m
    instruction: hi
"""


def test_a_minimal_team() -> None:
    team = parse(ROOT)
    root = team.members["root"]
    assert (root.provider, root.model, root.instruction, root.description) == ("mock", "m", "hi", "")
    assert root.allowed_tools is None and team.warnings == [] and team.max_depth == 5


class ModelCase(NamedTuple):
    test_id: str
    yaml: str
    provider: str
    model: str | None


MODEL_CASES = [
    ModelCase("anthropic", "model: anthropic/claude-sonnet-4-5", "claude_code", "claude-sonnet-4-5"),
    ModelCase("openai", "model: openai/gpt-5-mini", "codex", "gpt-5-mini"),
    ModelCase("google", "model: google/gemini-2.5-flash", "gemini_cli", "gemini-2.5-flash"),
    ModelCase("mock", "model: mock/mock-large", "mock", "mock-large"),
    ModelCase("cao-provider-as-vendor", "model: qwen_code/qwen3-coder", "qwen_code", "qwen3-coder"),
    ModelCase("explicit-provider", "provider: opencode\n        model: anthropic/claude-haiku", "opencode",
              "anthropic/claude-haiku"),
    ModelCase("explicit-provider-no-model", "provider: gemini_cli", "gemini_cli", None),
    ModelCase("named-model", "model: claude", "claude_code", "claude-sonnet-4-0"),
]


@pytest.mark.parametrize("case", MODEL_CASES, ids=[c.test_id for c in MODEL_CASES])
def test_model_to_provider(case: ModelCase) -> None:
    team = parse(f"""\
    models:
      claude: {{provider: anthropic, model: claude-sonnet-4-0}}
    agents:
      root:
        {case.yaml}
        instruction: hi
    """)
    assert (team.members["root"].provider, team.members["root"].model) == (case.provider, case.model)


class ErrorCase(NamedTuple):
    test_id: str
    yaml: str
    expected: str


ERROR_CASES = [
    ErrorCase("unknown-agent-field", "agents:\n  root:\n    model: mock/m\n    instruction: x\n    modle: y\n",
              "team.yaml:5: agents.root.modle: unknown agent field; did you mean 'model'?"),
    ErrorCase("unknown-top-field", "agentz: {}\nagents:\n  root: {model: mock/m, instruction: x}\n",
              "team.yaml:1: agentz: unknown top-level field; did you mean 'agents'?"),
    ErrorCase("wrong-bool", ROOT + "    add_date: 'yes'\n",
              "team.yaml:5: agents.root.add_date: must be true or false (got the string 'yes')"),
    ErrorCase("wrong-int", "cao:\n  max_delegation_depth: two\n" + ROOT,
              "team.yaml:2: cao.max_delegation_depth: must be a whole number"),
    ErrorCase("depth-zero", "cao:\n  max_delegation_depth: 0\n" + ROOT,
              "team.yaml:2: cao.max_delegation_depth: must be at least 1"),
    ErrorCase("wrong-list", ROOT + "    sub_agents: helper\n",
              "team.yaml:5: agents.root.sub_agents: must be a list of agent names (got the string 'helper')"),
    ErrorCase("wrong-commands", ROOT + "    commands: [a, b]\n",
              "team.yaml:5: agents.root.commands: must be a mapping of names to strings (got a list)"),
    ErrorCase("bad-command-name", ROOT + "    commands:\n      'my review': x\n",
              "team.yaml:6: agents.root.commands.my review: is not a valid command name"),
    ErrorCase("no-instruction", "agents:\n  root:\n    model: mock/m\n",
              "team.yaml:2: agents.root: needs instruction"),
    ErrorCase("no-model", "agents:\n  root:\n    instruction: x\n", "team.yaml:2: agents.root: needs model:"),
    ErrorCase("bad-vendor", "agents:\n  root:\n    model: dmr/ai/qwen3\n    instruction: x\n",
              "team.yaml:3: agents.root.model: Docker Model Runner has no coding CLI cao can drive; use one of"),
    ErrorCase("not-a-ref", "agents:\n  root:\n    model: claude\n    instruction: x\n",
              "team.yaml:3: agents.root.model: 'claude' is neither provider/model (e.g. openai/gpt-5) nor a named "
              "model (models: section has: none)"),
    ErrorCase("bad-provider", "agents:\n  root:\n    provider: cursor\n    instruction: x\n",
              "team.yaml:3: agents.root.provider: 'cursor' is not a provider cao knows"),
    ErrorCase("model-missing-fields", "models:\n  c: {provider: anthropic}\n" + ROOT,
              "team.yaml:2: models.c: needs both provider"),
    ErrorCase("unknown-model-field", "models:\n  c: {provider: anthropic, model: x, temprature: 1}\n" + ROOT,
              "team.yaml:2: models.c.temprature: unknown model field; did you mean 'temperature'?"),
    ErrorCase("bad-agent-name", "agents:\n  'the root':\n    model: mock/m\n    instruction: x\n",
              "team.yaml:2: agents.the root: is not a valid agent name"),
    ErrorCase("no-agents", "models: {}\n", "agents: is required: a mapping of agent names"),
    ErrorCase("undefined-sub-agent", ROOT + "    sub_agents: [helper]\n",
              "team.yaml:5: agents.root.sub_agents[0]: 'helper' is not an agent of this file (agents: root) nor an "
              "installed profile; define it under agents:, install it (cao install NAME|FILE|URL) or remove it"),
    ErrorCase("undefined-handoff", ROOT + "    handoffs:\n      - root2\n",
              "team.yaml:6: agents.root.handoffs[0]: 'root2' is not an agent of this file"),
    ErrorCase("self-cycle", ROOT + "    sub_agents: [root]\n",
              "team.yaml:5: agents.root.sub_agents[0]: delegation cycle root → root"),
    ErrorCase("three-cycle", "agents:\n  a: {model: mock/m, instruction: x, sub_agents: [b]}\n"
              "  b: {model: mock/m, instruction: x, handoffs: [c]}\n"
              "  c: {model: mock/m, instruction: x, sub_agents: [a]}\n",
              "team.yaml:2: agents.a.sub_agents[0]: delegation cycle a → b → c → a"),
    ErrorCase("toolset-without-type", ROOT + "    toolsets:\n      - command: x\n",
              "team.yaml:6: agents.root.toolsets[0]: needs type:"),
    ErrorCase("unknown-toolset-type", ROOT + "    toolsets:\n      - type: filesytem\n",
              "agents.root.toolsets[0].type: unknown toolset type 'filesytem'; did you mean 'filesystem'?"),
    ErrorCase("unknown-toolset-key", ROOT + "    toolsets:\n      - type: shell\n        comand: x\n",
              "team.yaml:7: agents.root.toolsets[0].comand: unknown shell toolset field; did you mean 'command'?"),
    ErrorCase("mcp-without-command", ROOT + "    toolsets:\n      - type: mcp\n",
              "team.yaml:6: agents.root.toolsets[0]: an mcp toolset needs command:"),
    ErrorCase("structured-without-schema", ROOT + "    structured_output: {name: x}\n",
              "team.yaml:5: agents.root.structured_output: needs name: and schema:"),
    ErrorCase("structured-not-object", ROOT + "    structured_output: {name: x, schema: {type: array}}\n",
              "agents.root.structured_output.schema.type: must be object"),
    ErrorCase("structured-unknown-key", ROOT + "    structured_output: {name: x, schema: {}, shema: {}}\n",
              "agents.root.structured_output.shema: unknown structured_output field; did you mean 'schema'?"),
    ErrorCase("fallback-unknown-key", ROOT + "    fallback:\n      model: [openai/gpt-5]\n",
              "team.yaml:6: agents.root.fallback.model: unknown fallback field; did you mean 'models'?"),
    ErrorCase("fallback-bad-model", ROOT + "    fallback:\n      models: [gpt-5]\n",
              "team.yaml:6: agents.root.fallback.models[0]: 'gpt-5' is neither provider/model (e.g. openai/gpt-5) "
              "nor a named model"),
    ErrorCase("fallback-retries-below-minus-one", ROOT + "    fallback:\n      retries: -2\n",
              "team.yaml:6: agents.root.fallback.retries: must be -1 (no retries), 0 or more"),
    ErrorCase("fallback-bad-cooldown", ROOT + "    fallback:\n      cooldown: later\n",
              "team.yaml:6: agents.root.fallback.cooldown: must be a duration"),
    ErrorCase("fallback-bad-retries", ROOT + "    fallback:\n      retries: many\n",
              "team.yaml:6: agents.root.fallback.retries: must be a whole number"),
    ErrorCase("hook-unknown-event", ROOT + "    hooks:\n      on_start: []\n",
              "team.yaml:6: agents.root.hooks.on_start: unknown hook event field"),
    ErrorCase("hook-not-a-list", ROOT + "    hooks:\n      stop: echo\n",
              "team.yaml:6: agents.root.hooks.stop: must be a list of hooks"),
    ErrorCase("hook-unknown-key", ROOT + "    hooks:\n      stop:\n        - type: command\n          cmd: x\n",
              "team.yaml:8: agents.root.hooks.stop[0].cmd: unknown hook field"),
    ErrorCase("hook-without-command", ROOT + "    hooks:\n      stop:\n        - type: command\n",
              "team.yaml:7: agents.root.hooks.stop[0]: needs command:"),
    ErrorCase("hook-bad-type", ROOT + "    hooks:\n      stop:\n        - type: http\n          command: x\n",
              "team.yaml:7: agents.root.hooks.stop[0].type: unknown hook type 'http'; use command"),
    ErrorCase("hook-bad-timeout", ROOT + "    hooks:\n      stop:\n        - command: x\n          timeout: soon\n",
              "team.yaml:8: agents.root.hooks.stop[0].timeout: must be seconds (e.g. 30) or a duration"),
    ErrorCase("hook-unsplittable", ROOT + "    hooks:\n      stop:\n        - command: \"x 'y\"\n",
              "team.yaml:7: agents.root.hooks.stop[0].command: cannot be split into a program and its arguments"),
    ErrorCase("duplicate-key", ROOT + "    model: mock/n\n",
              "team.yaml:5: agents.root.model: the key appears twice (first on line 3); keep one"),
    ErrorCase("yaml-syntax", "agents:\n  root: [\n", "team.yaml:3: invalid YAML"),
    ErrorCase("not-a-mapping", "- a\n- b\n", "team.yaml: a team file is a YAML mapping"),
    ErrorCase("prompt-file-missing", ROOT + "    add_prompt_files: [missing.md]\n",
              "team.yaml:5: agents.root.add_prompt_files[0]: cannot read /nonexistent/missing.md"),
]


@pytest.mark.parametrize("case", ERROR_CASES, ids=[c.test_id for c in ERROR_CASES])
def test_errors_name_key_line_and_fix(case: ErrorCase) -> None:
    assert case.expected in errors_of(case.yaml)


def test_every_problem_is_listed_at_once() -> None:
    message = errors_of(ROOT + "    modle: x\n    add_date: 1\n")
    assert message.startswith("team.yaml: 2 problems:\n")
    assert "agents.root.modle" in message and "agents.root.add_date" in message


class WarnCase(NamedTuple):
    test_id: str
    yaml: str
    expected: str


WARN_CASES = [
    WarnCase("tool-hooks", "hooks: {pre_tool_use: [{type: command, command: ./check.sh, matcher: shell}]}",
             "agents.root.hooks.pre_tool_use: accepted but ignored: cao installs tool hooks only in the CLIs' own hook "
             "systems of claude_code, codex, gemini_cli, qwen_code, opencode, not in mock's"),
    WarnCase("transform-hook", "hooks: {tool_response_transform: [{command: ./x}]}",
             "agents.root.hooks.tool_response_transform: accepted but ignored (not applicable to CLI agents)"),
    WarnCase("builtin-hook", "hooks: {stop: [{type: builtin, command: redact_secrets}]}",
             "agents.root.hooks.stop[0]: the redact_secrets builtin on stop is accepted but ignored: the CLI does "
             "not let a hook rewrite its model requests or tool results"),
    WarnCase("hook-matcher", "hooks: {stop: [{command: ./x, matcher: y}]}",
             "agents.root.hooks.stop[0].matcher: accepted but ignored: only tool hooks have a matcher"),
    WarnCase("skills-source", "skills: [cao-flows, 'https://example.com/s']",
             "agents.root.skills[1]: 'https://example.com/s' is a skill source: cao takes skills from its store only"),
    WarnCase("permissions", "permissions: {allow: [shell]}",
             "agents.root.permissions: accepted but not applied: mock has no allow/deny list cao can write"),
    WarnCase("rag", "rag: [docs]", "agents.root.rag: accepted but ignored (not applicable to CLI agents)"),
    WarnCase("add_description_parameter", "add_description_parameter: true",
             "cao lists each sub-agent's description in the caller's system prompt instead"),
    WarnCase("code_mode_tools", "code_mode_tools: true", "the CLI formats its own tool results"),
    WarnCase("max_consecutive_tool_calls", "max_consecutive_tool_calls: 5", "the CLI runs its own model"),
    WarnCase("max_old_tool_call_tokens", "max_old_tool_call_tokens: 100", "its own context window"),
    WarnCase("num_history_items", "num_history_items: 10", "its own conversation history"),
    WarnCase("cache", "cache: {enabled: true}", "replaying a stored reply would skip the work"),
    WarnCase("toolset-memory-path", "toolsets: [{type: memory, path: ./m.db}]",
             "toolsets[0].path: accepted but ignored (not applicable to CLI agents): cao keeps the state itself"),
    WarnCase("toolset-script", "toolsets: [{type: script}]",
             "toolsets[0]: toolset type 'script' accepted but ignored: cao does not turn scripts into tools yet"),
    WarnCase("toolset-ref", "toolsets: [{type: mcp, ref: 'docker:duckduckgo'}]",
             "toolsets[0].ref: accepted but ignored (not applicable to CLI agents): Docker MCP catalog"),
    WarnCase("toolset-defer", "toolsets: [{type: mcp, command: srv, defer: true}]", "toolsets[0].defer"),
    WarnCase("schema-keyword", "structured_output: {name: x, schema: {properties: {a: {pattern: '^x'}}}}",
             "structured_output.schema.properties.a.pattern: this JSON Schema keyword is shown to the agent but "
             "not checked"),
]


@pytest.mark.parametrize("case", WARN_CASES, ids=[c.test_id for c in WARN_CASES])
def test_accepted_fields_cao_ignores_warn_with_line_and_reason(case: WarnCase) -> None:
    team = parse(ROOT + f"    {case.yaml}\n")
    assert any(case.expected in w and w.startswith("team.yaml:5: ") for w in team.warnings), team.warnings


@pytest.mark.parametrize(("yaml", "skills"), [("", None), ("skills: true\n", None), ("skills: false\n", []),
                                              ("skills: [cao-*, notes]\n", ["cao-*", "notes"])])
def test_skills_choose_from_the_store(yaml: str, skills: list[str] | None) -> None:
    member = parse(ROOT + (f"    {yaml}" if yaml else "")).members["root"]
    assert member.skills == skills
    assert profile(parse(ROOT), member).skills == skills  # what the skills delivery reads


def test_fallback_resolves_its_models() -> None:
    team = parse("models:\n  fast: {provider: google, model: gemini-2.5-flash}\n" + ROOT
                 + "    fallback:\n      models: [openai/gpt-5-mini, fast]\n      cooldown: 2m\n")
    assert team.members["root"].fallback == {"models": [["codex", "gpt-5-mini"], ["gemini_cli", "gemini-2.5-flash"]],
                                             "retries": 2, "cooldown": 120.0}
    assert parse(ROOT + "    fallback: {retries: -1}\n").members["root"].fallback is None


def test_hooks_cao_runs_become_argv_with_a_timeout() -> None:
    team = parse(ROOT + "    hooks:\n      session_start:\n        - type: command\n"
                 "          command: ./setup.sh --quiet 'a b'\n          args: [x]\n          timeout: 1m30s\n"
                 "          env: {A: b}\n      stop:\n        - command: notify\n")
    assert team.members["root"].hooks == {
        "session_start": [{"argv": ["./setup.sh", "--quiet", "a b", "x"], "timeout": 90.0, "env": {"A": "b"}}],
        "stop": [{"argv": ["notify"], "timeout": 60.0, "env": {}}]}
    assert team.warnings == []


def test_tool_hooks_of_a_claude_code_member_go_to_its_profile() -> None:
    team = parse("agents:\n  root:\n    model: anthropic/claude-sonnet-4-5\n    instruction: x\n    hooks:\n"
                 "      pre_tool_use:\n        - {command: ./check.sh, args: [-q], matcher: Bash, timeout: 5s}\n")
    root = team.members["root"]
    assert root.tool_hooks == {"pre_tool_use": [{"command": "./check.sh", "args": ["-q"], "matcher": "Bash",
                                                 "timeout": 5.0, "env": {}}]}
    assert root.hooks == {} and team.warnings == []


@pytest.mark.parametrize(("value", "seconds"), [(30, 30.0), ("45", 45.0), ("30s", 30.0), ("1m", 60.0),
                                                ("2m30s", 150.0), ("1h", 3600.0), ("500ms", 0.5), ("soon", None),
                                                ("", None), (True, None), ("1m soon", None)])
def test_durations(value: object, seconds: float | None) -> None:
    assert durations.seconds(value) == seconds


def test_default_values_of_ignored_fields_do_not_warn() -> None:
    team = parse(ROOT + "    max_iterations: 0\n    code_mode_tools: false\n    redact_secrets: false\n")
    assert team.warnings == []


def test_model_fields_a_cli_sets_itself_warn() -> None:
    team = parse("models:\n  c: {provider: anthropic, model: x, max_tokens: 64000, temperature: 0.2}\n"
                 "agents:\n  root: {model: c, instruction: x}\n")
    assert ["max_tokens" in team.warnings[0], "temperature" in team.warnings[1]] == [True, True]
    assert team.warnings[0].startswith("team.yaml:2: models.c.max_tokens: accepted but ignored")


def test_mapped_fields(tmp_path: Path) -> None:
    (tmp_path / "guide.md").write_text("Use tabs.\n")
    team = parse("""\
    cao: {max_delegation_depth: 3}
    version: "2"
    metadata: {author: me}
    agents:
      root:
        model: mock/m
        description: Lead
        instruction: |
          Lead the team.
        sub_agents: [dev]
        handoffs: [dev]
        add_date: true
        add_environment_info: true
        add_prompt_files: [guide.md]
        welcome_message: Hello
        redact_secrets: true
        max_iterations: 20
        commands:
          df: "Check disk space"
        toolsets:
          - type: filesystem
          - type: shell
          - type: think
          - type: fetch
          - type: mcp
            command: /usr/bin/files-server
            args: [--root, .]
            env: {LEVEL: debug}
            instruction: Use the files server for big files.
      dev:
        model: mock/m
        instruction: Code.
        structured_output:
          name: result
          description: what was done
          strict: true
          schema:
            properties: {done: {type: boolean}}
            required: [done]
    """, base_dir=tmp_path)
    root, dev = team.members["root"], team.members["dev"]
    assert team.max_depth == 3 and team.warnings == []
    assert root.description == "Lead" and root.instruction == "Lead the team.\n"
    assert root.sub_agents == ["dev"] and root.handoffs == ["dev"] and root.delegates == ["dev"]
    assert root.add_date and root.add_environment_info and root.welcome_message == "Hello" and root.redact_secrets
    assert root.max_iterations == 20
    assert root.prompt_files == [(str(tmp_path / "guide.md"), "Use tabs.\n"),
                                 ("toolset 4", "Use the files server for big files.")]
    assert root.commands == {"df": "Check disk space"}
    assert root.allowed_tools == ["@cao-mcp-server", "fs_*", "execute_bash", "@builtin", "web_fetch"]
    assert root.mcp_servers == {"files-server": {"command": "/usr/bin/files-server", "args": ["--root", "."],
                                                 "env": {"LEVEL": "debug"}}}
    so = dev.structured_output
    assert so is not None and (so.name, so.description, so.strict) == ("result", "what was done", True)
    assert so.schema == {"type": "object", "properties": {"done": {"type": "boolean"}}, "required": ["done"]}


def test_anchors_and_merge_keys_work() -> None:
    team = parse("""\
    base: &base {model: mock/m, instruction: shared}
    agents:
      root: {<<: *base, sub_agents: [b]}
      b: *base
    """.replace("base: &base", "metadata: &base"))
    assert team.members["b"].instruction == "shared" and team.members["root"].sub_agents == ["b"]


def test_load_team_reads_a_file_and_json_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(ROOT + "    structured_output: {name: r, schema: {type: object}}\n    add_prompt_files: []\n")
    team = load_team(path)
    assert team.source == str(path)
    assert Team.from_json(team.to_json()) == team


def test_sub_agents_may_name_installed_profiles(tmp_path: Path) -> None:
    store = tmp_path / "agent-store"
    store.mkdir()
    (store / "helper.md").write_text("---\nname: helper\n---\nHelp.\n")
    path = tmp_path / "t.yaml"
    path.write_text(ROOT + "    sub_agents: [helper, developer]\n")  # developer: a built-in profile
    team = load_team(path, home=tmp_path)
    assert team.members["root"].delegates == ["helper", "developer"] and list(team.members) == ["root"]
    path.write_text(ROOT + "    sub_agents: [nobody]\n")
    with pytest.raises(InvalidTeam, match="'nobody' is not an agent of this file"):
        load_team(path, home=tmp_path)


def test_unreadable_file() -> None:
    with pytest.raises(InvalidTeam, match="cannot read the team file"):
        load_team("/nonexistent/team.yaml")
