"""Team files end to end: one YAML file starts a team of mock agents; the team's rules hold at run time.

The mock agents are real MCP clients of cao-server; where a test calls a tool itself it speaks MCP as
that terminal (the SDK client with the terminal's own token), as the agent would.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from cao.client import ApiClient
from cao.errors import CaoError
from tests.conftest import ServerProcess, retry_until
from tests.helpers import last_reply, send_and_wait
from tests.mcp_helpers import call_tool, run_as

TEAM = """\
cao:
  max_delegation_depth: 2
agents:
  root:
    model: mock/mock-large
    description: Leads the review
    instruction: You lead the review of a change.
    sub_agents: [reviewer, summarizer, sloppy]
    welcome_message: Review team ready.
    add_date: true
    add_environment_info: true
    commands:
      review: "ask the team about ${env.CHANGE || 'HEAD'}"
  reviewer:
    model: mock/mock-1
    description: Reviews code
    instruction: You review code.
    sub_agents: [linter]
    structured_output:
      name: review
      schema:
        type: object
        properties:
          verdict: {type: string, enum: [approve, reject]}
          issues: {type: array, items: {type: string}}
        required: [verdict, issues]
        additionalProperties: false
  summarizer:
    model: mock/mock-1
    description: Summarizes
    instruction: You summarize.
  sloppy:
    model: mock/mock-1
    description: Never follows the format
    instruction: You chat.
    structured_output: {name: verdict, schema: {type: object, required: [ok]}}
  linter:
    model: mock/mock-1
    description: Lints
    instruction: You lint.
    sub_agents: [deep]
  deep:
    model: mock/mock-1
    description: Too deep
    instruction: You are one level too deep.
"""
VALID = json.dumps({"verdict": "approve", "issues": []})
SCRIPT = {"rules": [
    {"agent": "root", "match": "ask the team", "steps": [
        {"tool": "handoff", "args": {"agent_profile": "reviewer", "message": "review {{body}}"}},
        {"tool": "handoff", "args": {"agent_profile": "summarizer", "message": "summarize {{body}}"}},
        {"reply": "TEAM SAYS\n{{tool_results}}"}]},
    {"agent": "reviewer", "match": "Your reply is not valid review output", "steps": [{"reply": VALID}]},
    {"agent": "reviewer", "match": "fixable", "steps": [{"reply": "Looks fine to me!"}]},
    {"agent": "reviewer", "steps": [{"reply": "```json\n" + VALID + "\n```"}]},
    {"agent": "summarizer", "steps": [{"reply": "summary of {{body}}"}]},
    {"agent": "sloppy", "steps": [{"reply": "I think it is ok"}]},
]}


@pytest.fixture
def team_file(tmp_path: Path) -> Path:
    path = tmp_path / "team.yaml"
    path.write_text(TEAM)
    return path


@pytest.fixture
def root(api: ApiClient, workdir: Path, team_file: Path, tmp_path: Path) -> dict:
    script = tmp_path / "script.json"
    script.write_text(json.dumps(SCRIPT))
    launched = api.request("POST", "/teams/launch", timeout=60, body={
        "file": str(team_file), "session_name": "t1", "working_directory": str(workdir),
        "env_vars": {"CAO_MOCK_SCRIPT": str(script)}})
    assert launched["agent"] == "root" and launched["welcome_message"] == "Review team ready."
    return launched["terminal"]


def tool(api: ApiClient, caller: str, name: str, arguments: dict[str, Any]) -> Any:
    async def body(session: Any) -> Any:
        return await session.call_tool(name, arguments)

    return run_as(api, caller, body)


def test_a_three_agent_team_from_one_file(api: ApiClient, root: dict) -> None:
    assert root["agent_profile"] == "root" and root["provider"] == "mock"
    final = send_and_wait(api, root["id"], "ask the team about the parser change", timeout=90)
    assert final["status"] == "completed"
    reply = last_reply(api, root["id"])
    assert "TEAM SAYS" in reply
    assert VALID in reply  # the reviewer's fenced JSON came back as the checked object
    assert "summary of summarize ask the team about the parser change" in reply
    assert [t["id"] for t in api.get("/sessions/t1")["terminals"]] == [root["id"]]  # workers removed


def test_the_root_is_told_its_instruction_team_and_context(api: ApiClient, root: dict) -> None:
    send_and_wait(api, root["id"], "/system-prompt", timeout=30)
    prompt = last_reply(api, root["id"])
    assert "You lead the review of a change." in prompt
    assert "## Your team" in prompt and "- reviewer: Reviews code" in prompt
    assert re.search(r"Today's date: \d{4}-\d\d-\d\d", prompt)
    assert "Working directory:" in prompt and "CPU architecture:" in prompt


def test_delegation_outside_sub_agents_is_refused_naming_the_allowed(api: ApiClient, root: dict) -> None:
    for target in ("linter", "developer"):  # a team member not among root's sub_agents; an installed profile
        text, is_error = call_tool(api, root["id"], "handoff", {"agent_profile": target, "message": "hi"})
        assert is_error
        assert f"root may not hand off to '{target}'" in text and "reviewer, summarizer, sloppy" in text
    text, is_error = call_tool(api, root["id"], "assign", {"agent_profile": "linter", "message": "hi"})
    assert is_error and "root may not assign to 'linter'" in text
    assert len(api.get("/sessions/t1")["terminals"]) == 1  # nothing was started


def test_the_depth_limit_stops_a_chain_of_delegations(api: ApiClient, root: dict) -> None:
    def assign(caller: str, target: str) -> tuple[str, bool]:
        return call_tool(api, caller, "assign", {"agent_profile": target, "message": "go deeper"})

    text, is_error = assign(root["id"], "reviewer")
    assert not is_error, text
    reviewer = re.search(r"terminal ([a-f0-9]{8})", text).group(1)
    text, is_error = assign(reviewer, "linter")
    assert not is_error, text
    linter = re.search(r"terminal ([a-f0-9]{8})", text).group(1)
    text, is_error = assign(linter, "deep")
    assert is_error
    assert "delegation depth limit reached: root → reviewer → linter → deep" in text
    assert "the team allows 2" in text


def test_structured_output_comes_back_as_data_with_its_schema(api: ApiClient, root: dict) -> None:
    async def listing(session: Any) -> Any:
        return (await session.list_tools()).tools

    tools = {t.name: t for t in run_as(api, root["id"], listing)}
    assert tools["handoff_reviewer"].output_schema["required"] == ["verdict", "issues"]
    assert "handoff_summarizer" not in tools  # no structured output: the generic handoff serves it
    result = tool(api, root["id"], "handoff_reviewer", {"message": "review the diff"})
    assert not result.is_error and result.structured_content == {"verdict": "approve", "issues": []}


def test_invalid_structured_output_is_asked_for_once_more(api: ApiClient, root: dict) -> None:
    result = tool(api, root["id"], "handoff", {"agent_profile": "reviewer", "message": "a fixable review"})
    assert not result.is_error, result.content
    assert result.structured_content == {"verdict": "approve", "issues": []}


def test_structured_output_invalid_twice_is_a_clear_error(api: ApiClient, root: dict) -> None:
    result = tool(api, root["id"], "handoff_sloppy", {"message": "judge it"})
    assert result.is_error
    text = result.content[0].text
    assert "did not return valid verdict output after being asked twice" in text
    assert "first it is not a JSON object, then it is not a JSON object" in text


def test_cli_launches_a_team_file_and_runs_a_named_command(api: ApiClient, settings: Any, team_file: Path,
                                                           tmp_path: Path, workdir: Path) -> None:
    from click.testing import CliRunner

    from cao.cli import cli

    script = tmp_path / "cli-script.json"
    script.write_text(json.dumps({"rules": [{"agent": "root", "steps": [{"reply": "got: {{task}}"}]}]}))
    result = CliRunner().invoke(cli, [
        "launch", str(team_file), "/review", "--rm", "--session-name", "t2", "--working-directory", str(workdir),
        "--env", f"CAO_MOCK_SCRIPT={script}"], env={"CHANGE": "abc123"})
    assert result.exit_code == 0, result.output
    assert "got: ask the team about abc123" in result.stdout
    assert "Review team ready." in result.stderr


PLACEHOLDER_TEAM = """\
agents:
  root:
    model: mock/m
    description: Reviews ${env.PROJECT || 'code'}
    instruction: "You review ${env.PROJECT || 'something'} ${env.STRICT ? 'strictly' : 'gently'}."
    welcome_message: Ready to review ${env.PROJECT}.
"""


def test_env_placeholders_take_the_launching_shells_values(api: ApiClient, tmp_path: Path, workdir: Path) -> None:
    from click.testing import CliRunner

    from cao.cli import cli

    (tmp_path / "placeholders.yaml").write_text(PLACEHOLDER_TEAM)
    result = CliRunner().invoke(cli, [
        "launch", str(tmp_path / "placeholders.yaml"), "--headless", "--session-name", "t7",
        "--working-directory", str(workdir)], env={"PROJECT": "the parser", "STRICT": "1"})
    assert result.exit_code == 0, result.output
    assert "Ready to review the parser." in result.stderr  # cao-server's own environment has no PROJECT
    root = api.get("/sessions/cao-t7")["session"]["conductor_id"]
    send_and_wait(api, root, "/system-prompt", timeout=30)
    assert last_reply(api, root).startswith("You review the parser strictly.")
    assert api.get("/teams/sessions/cao-t7")["members"]["root"]["description"] == "Reviews the parser"


def test_session_send_runs_a_named_command_and_the_team_is_listed(api: ApiClient, root: dict) -> None:
    from click.testing import CliRunner

    from cao.cli import cli

    team = api.get("/teams/sessions/cao-t1")
    assert team["members"]["root"]["commands"] == {"review": "ask the team about ${env.CHANGE || 'HEAD'}"}
    assert team["members"]["reviewer"]["structured_output"] == "review" and team["max_delegation_depth"] == 2
    result = CliRunner().invoke(cli, ["session", "send", "t1", "/review"], env={"CHANGE": "feature-x"})
    assert result.exit_code == 0, result.output
    assert "TEAM SAYS" in result.stdout and "summarize ask the team about feature-x" in result.stdout
    result = CliRunner().invoke(cli, ["session", "send", "t1", "/nope"])
    assert result.exit_code == 1 and "root has no command /nope; its commands: /review" in result.output


SECRET_TEAM = """\
agents:
  root:
    model: mock/m
    instruction: You lead.
    sub_agents: [keeper, developer]
  keeper:
    model: mock/m
    instruction: You keep things.
    redact_secrets: true
"""
TOKEN = "ghp_" + "Ab1" * 12


def test_redact_secrets_and_an_installed_profile_as_sub_agent(api: ApiClient, settings: Any, workdir: Path,
                                                              tmp_path: Path) -> None:
    (tmp_path / "secret-team.yaml").write_text(SECRET_TEAM)
    script = tmp_path / "secret-script.json"
    script.write_text(json.dumps({"rules": [
        {"agent": "keeper", "steps": [{"reply": f"I got: {{{{body}}}} and my own key is sk_live_{'9' * 24}"}]}]}))
    root = api.request("POST", "/teams/launch", timeout=60, body={
        "file": str(tmp_path / "secret-team.yaml"), "session_name": "t3", "working_directory": str(workdir),
        "env_vars": {"CAO_MOCK_SCRIPT": str(script)}})["terminal"]
    text, is_error = call_tool(api, root["id"], "handoff", {
        "agent_profile": "keeper", "message": f"store token={TOKEN} and postgres://me:pw12345678@db/x"})
    assert not is_error, text
    assert TOKEN not in text and "pw12345678" not in text and "sk_live_" + "9" * 24 not in text
    assert "I got: store token=[secret:github-token] and postgres://me:[secret:url-password]@db/x" in text
    assert "my own key is [secret:stripe-key]" in text
    (saved,) = [p for p in settings.terminal_logs_dir.glob("*.snapshot.json") if '"keeper"' in p.read_text()]
    scrollback = saved.with_name(saved.name.replace(".snapshot.json", ".scrollback")).read_text()
    # its screen showed the key; the saved scrollback does not
    assert "I got: store token=[secret:github-token]" in scrollback and "sk_live_" not in scrollback
    # developer is an installed (built-in) profile, not defined in the file: the team mixes both.
    text, is_error = call_tool(api, root["id"], "handoff", {"agent_profile": "developer", "message": "hello dev"})
    assert not is_error and "hello dev" in text, text
    # The keeper's output through cao's API (cao terminal output, flows' results) is masked too; its live pane
    # is the CLI's own.
    keeper = api.request("POST", "/teams/launch", timeout=60, body={
        "file": str(tmp_path / "secret-team.yaml"), "agent": "keeper", "session_name": "t3k",
        "working_directory": str(workdir), "env_vars": {"CAO_MOCK_SCRIPT": str(script)}})["terminal"]
    send_and_wait(api, keeper["id"], f"keep token={TOKEN}", timeout=30)
    full = api.get(f"/terminals/{keeper['id']}/output", mode="full")["output"]
    assert "keep token=[secret:github-token]" in full and TOKEN not in full and "sk_live_" not in full
    assert "my own key is [secret:stripe-key]" in last_reply(api, keeper["id"])


FALLBACK_TEAM = """\
agents:
  root:
    model: mock/m
    instruction: You lead.
    sub_agents: [writer, doomed, limited]
  writer:
    model: mock/broken
    instruction: You write.
    fallback:
      models: [mock/good]
      retries: 1
      cooldown: 10m
  doomed:
    model: mock/broken
    instruction: You fail.
    fallback: {models: [mock/also-broken], retries: 0}
  limited:
    model: mock/limited
    instruction: You are rate limited.
    fallback: {models: [mock/good], retries: 3}
"""
FALLBACK_SCRIPT = {"rules": [
    {"agent": "root", "steps": [{"reply": "noted"}]},
    {"agent": "writer", "match": "(?s)Assigned by.*This is attempt 2", "steps": [
        {"reply": "done"}, {"tool": "send_message", "args": {"message": "assigned poem by {{model}}"}}]},
    {"agent": "writer", "match": "This is attempt 2|STICKY", "steps": [{"reply": "written by {{model}}: {{body}}"}]},
    {"agent": "limited", "match": "This is attempt 2", "steps": [{"reply": "answered by {{model}}: {{body}}"}]},
    {"agent": "limited", "steps": [{"fail": "API Error: 429 rate limit reached for requests"}]},
    {"steps": [{"fail": "API Error: 529 overloaded"}]},
]}


def test_fallback_retries_then_moves_to_the_next_model_and_sticks(api: ApiClient, workdir: Path,
                                                                  tmp_path: Path) -> None:
    (tmp_path / "fallback-team.yaml").write_text(FALLBACK_TEAM)
    script = tmp_path / "fallback-script.json"
    script.write_text(json.dumps(FALLBACK_SCRIPT))
    root = api.request("POST", "/teams/launch", timeout=60, body={
        "file": str(tmp_path / "fallback-team.yaml"), "session_name": "t4", "working_directory": str(workdir),
        "env_vars": {"CAO_MOCK_SCRIPT": str(script)}})["terminal"]
    text, is_error = call_tool(api, root["id"], "handoff", {"agent_profile": "writer", "message": "a poem"})
    assert not is_error, text
    assert text.startswith("written by good: a poem")
    assert "mock/broken: worker" in text and "reported an error 2 times" in text and "This is attempt 2" in text
    # A fallback that worked is tried first for the cooldown: no failure this time.
    text, is_error = call_tool(api, root["id"], "handoff", {"agent_profile": "writer", "message": "STICKY note"})
    assert not is_error and text.startswith("written by good: STICKY note"), text
    text, is_error = call_tool(api, root["id"], "handoff", {"agent_profile": "doomed", "message": "try"})
    assert is_error
    assert re.search(r"^mock/broken: worker \w+ \(doomed.*reported an error; it is kept for inspection; "
                     r"mock/also-broken: worker \w+ \(doomed.*reported an error", text), text
    # A rate limit is not retried (cagent: 429 moves on at once), though retries is 3.
    text, is_error = call_tool(api, root["id"], "handoff", {"agent_profile": "limited", "message": "go"})
    assert not is_error and text.startswith("answered by good"), text
    assert re.search(r"mock/limited: worker \w+ \(limited.*hit a rate limit \(not retried\)", text), text


def test_the_team_rules_hold_after_a_server_restart(api: ApiClient, server: ServerProcess, root: dict) -> None:
    server.stop()
    server.start()
    text, is_error = call_tool(api, root["id"], "handoff", {"agent_profile": "linter", "message": "hi"})
    assert is_error and "root may not hand off to 'linter'" in text
    text, is_error = call_tool(api, root["id"], "handoff", {"agent_profile": "summarizer", "message": "notes"})
    assert not is_error and "summary of notes" in text, text


def test_team_fields_in_installed_profiles_work_without_a_team_file(api: ApiClient, settings: Any, workdir: Path,
                                                                     tmp_path: Path) -> None:
    store = settings.agent_store_dir
    store.mkdir(parents=True, exist_ok=True)
    (store / "lead.md").write_text("---\nname: lead\nprovider: mock\nsub_agents: [checker]\n---\nYou lead.\n")
    (store / "checker.md").write_text("---\nname: checker\nprovider: mock\nstructured_output:\n  name: verdict\n"
                                      "  schema: {type: object, required: [ok]}\n---\nYou check.\n")
    script = tmp_path / "profiles-script.json"
    script.write_text(json.dumps({"rules": [{"agent": "checker", "steps": [{"reply": '{"ok": true}'}]}]}))
    lead = api.request("POST", "/sessions", timeout=60, params={
        "agent_profile": "lead", "session_name": "t5", "working_directory": str(workdir)},
        body={"env_vars": {"CAO_MOCK_SCRIPT": str(script)}})
    send_and_wait(api, lead["id"], "/system-prompt", timeout=30)
    prompt = last_reply(api, lead["id"])
    assert prompt.startswith("You lead.") and "## Your team" in prompt and "- checker:" in prompt
    result = tool(api, lead["id"], "handoff_checker", {"message": "check it"})
    assert not result.is_error and result.structured_content == {"ok": True}
    text, is_error = call_tool(api, lead["id"], "assign", {"agent_profile": "developer", "message": "hi"})
    assert is_error and "lead may not assign to 'developer': its profile lets it delegate to checker" in text


HELPER = """\
---
name: helper
provider: mock
add_prompt_files: [helper-guide.md]
welcome_message: Helper ready.
commands:
  fix: "fix ${env.TARGET || 'the build'}"
toolsets:
  - type: filesystem
  - type: mcp
    command: ./search-server
    args: [--docs]
    instruction: Search the docs first.
---
You help.
"""


def test_a_profiles_toolsets_prompt_files_commands_and_welcome_message(api: ApiClient, settings: Any,
                                                                       workdir: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from cao.cli import cli

    store = settings.agent_store_dir
    store.mkdir(parents=True, exist_ok=True)
    (store / "helper.md").write_text(HELPER)
    (store / "helper-guide.md").write_text("Follow the house style.\n")
    helper = api.request("POST", "/sessions", timeout=60, params={
        "agent_profile": "helper", "session_name": "t8", "working_directory": str(workdir)})
    assert helper["allowed_tools"] == ["@cao-mcp-server", "fs_*", "@search-server"]  # not the developer defaults
    servers = json.loads((settings.run_dir / helper["id"] / "mcp.json").read_text())["mcpServers"]
    assert servers["search-server"] == {"command": "./search-server", "args": ["--docs"], "env": {}}
    send_and_wait(api, helper["id"], "/system-prompt", timeout=30)
    prompt = last_reply(api, helper["id"])
    assert prompt.startswith("You help.") and "Follow the house style." in prompt
    assert "Search the docs first." in prompt

    script = tmp_path / "helper-script.json"
    script.write_text(json.dumps({"rules": [{"agent": "helper", "steps": [{"reply": "got: {{task}}"}]}]}))
    result = CliRunner().invoke(cli, [
        "launch", "--agents", "helper", "/fix", "--rm", "--session-name", "t9", "--working-directory",
        str(workdir), "--env", f"CAO_MOCK_SCRIPT={script}"], env={"TARGET": "the docs"})
    assert result.exit_code == 0, result.output
    assert "got: fix the docs" in result.stdout and "Helper ready." in result.stderr
    result = CliRunner().invoke(cli, ["session", "send", "t8", "/nope"])
    assert result.exit_code == 1 and "helper has no command /nope; its commands: /fix" in result.output
    result = CliRunner().invoke(cli, ["team", "commands", str(store / "helper.md")])
    assert result.exit_code == 0 and "/fix" in result.output and "fix ${env.TARGET" in result.output

    (store / "helper.md").write_text(HELPER.replace("type: filesystem", "type: filesytem"))
    with pytest.raises(CaoError, match=r"toolsets\[0\]\.type: unknown toolset type 'filesytem'"):
        api.request("POST", "/sessions", timeout=60, params={  # never more tools than the toolsets meant
            "agent_profile": "helper", "session_name": "t10", "working_directory": str(workdir)})


def test_an_assigned_task_falls_back_too_and_the_caller_is_told(api: ApiClient, workdir: Path, tmp_path: Path) -> None:
    (tmp_path / "fallback-team.yaml").write_text(FALLBACK_TEAM)
    script = tmp_path / "fallback-script.json"
    script.write_text(json.dumps(FALLBACK_SCRIPT))
    root = api.request("POST", "/teams/launch", timeout=60, body={
        "file": str(tmp_path / "fallback-team.yaml"), "session_name": "t6", "working_directory": str(workdir),
        "env_vars": {"CAO_MOCK_SCRIPT": str(script)}})["terminal"]
    text, is_error = call_tool(api, root["id"], "assign", {"agent_profile": "writer", "message": "a poem"})
    assert not is_error, text

    def inbox() -> list[str] | None:
        got = [m["message"] for m in api.get(f"/terminals/{root['id']}/inbox/messages", status="delivered")]
        return got if len(got) >= 2 else None

    first, second = retry_until(inbox, 60, message="the fallback notice and the result")
    assert re.match(r"The worker you assigned failed \(mock/broken: worker \w+ \(writer.*reported an error\); "
                    r"cao moved the task to worker \w+ \(mock/good\)", first), first
    assert second == "assigned poem by good"


LIMIT_TEAM = """\
agents:
  root:
    model: mock/m
    instruction: You lead.
    sub_agents: [chatty, terse]
  chatty:
    model: mock/m
    instruction: You chat.
    max_iterations: 2
  terse:
    model: mock/m
    instruction: You answer once.
    max_iterations: 1
    structured_output: {name: answer, schema: {type: object, required: [n]}}
"""


def test_max_iterations_bounds_a_delegated_task(api: ApiClient, workdir: Path, tmp_path: Path) -> None:
    (tmp_path / "limit-team.yaml").write_text(LIMIT_TEAM)
    script = tmp_path / "limit-script.json"
    script.write_text(json.dumps({"rules": [{"agent": "root", "steps": [{"reply": "noted"}]},
                                            {"steps": [{"reply": "chatting about {{body}}"}]}]}))
    root = api.request("POST", "/teams/launch", timeout=60, body={
        "file": str(tmp_path / "limit-team.yaml"), "session_name": "t7", "working_directory": str(workdir),
        "env_vars": {"CAO_MOCK_SCRIPT": str(script)}})["terminal"]
    text, is_error = call_tool(api, root["id"], "handoff", {"agent_profile": "terse", "message": "count"})
    assert is_error and "did not return valid answer output (it is not a JSON object), and its max_iterations " \
                        "leaves no turn to ask again" in text, text
    text, is_error = call_tool(api, root["id"], "assign", {"agent_profile": "chatty", "message": "the weather"})
    assert not is_error, text
    worker = re.search(r"terminal ([a-f0-9]{8})", text).group(1)
    retry_until(lambda: api.get(f"/terminals/{worker}")["turns_finished"] >= 1, 30, message="task done")
    api.request("POST", f"/terminals/{worker}/inbox/messages", body={"message": "and tomorrow?"})

    def notice() -> str | None:
        got = [m["message"] for m in api.get(f"/terminals/{root['id']}/inbox/messages", status="delivered")]
        return next((m for m in got if "max_iterations" in m), None)

    assert f"The chatty worker {worker} took the 2 turn(s) its max_iterations allows" in retry_until(notice, 30)
    retry_until(lambda: worker not in [t["id"] for t in api.get("/sessions/t7")["terminals"]], 30,
                message="worker removed")
