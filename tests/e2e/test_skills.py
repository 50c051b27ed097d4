"""Skills end to end: cao-server seeds the built-ins, each agent's system prompt carries the catalog its
profile allows, the agent loads a skill through cao's MCP endpoint as itself, the owner reads the store
over REST (token required), and ``cao skills`` changes it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cao.client import ApiClient
from cao.errors import InvalidInput, NotFound
from cao.settings import Settings
from tests.e2e.test_cli import cao
from tests.e2e.test_identity import raw
from tests.helpers import last_reply, launch, send_and_wait, write_script
from tests.mcp_helpers import call_tool

pytestmark = pytest.mark.e2e
BUILT_INS = ["cao-flows", "cao-session-management", "cao-supervisor-protocols", "cao-worker-protocols"]


def profile(settings: Settings, name: str, skills: str | None) -> None:
    settings.agent_store_dir.mkdir(parents=True, exist_ok=True)
    line = f"skills: {skills}\n" if skills is not None else ""
    (settings.agent_store_dir / f"{name}.md").write_text(
        f"---\nname: {name}\nrole: developer\n{line}---\nYou work.\n")


def test_the_agent_sees_its_catalog_and_loads_a_skill_as_itself(api: ApiClient, settings: Settings,
                                                                 workdir: Path, tmp_path: Path) -> None:
    script = write_script(tmp_path / "mock.json", [
        {"match": "^cao-", "steps": [{"tool": "load_skill", "args": {"name": "{{body}}"}, "on_error": "continue"},
                                      {"reply": "{{tool_result}}"}]}])
    profile(settings, "flowy", "['cao-f*']")
    terminal = launch(api, workdir, profile="flowy", env={"CAO_MOCK_SCRIPT": str(script)})
    prompt = (settings.run_dir / terminal["id"] / "system_prompt.md").read_text()
    assert prompt.startswith("You work.\n\n## Available skills\n")
    assert "- **cao-flows**: Scheduled and gated agent runs" in prompt and "cao-worker-protocols" not in prompt

    # The agent (a real MCP client) calls load_skill on its own connection, as itself (the task is the name).
    done = send_and_wait(api, terminal["id"], "cao-flows")
    assert done["status"] == "completed", done
    shown = (settings.home / "skills" / "cao-flows" / "SKILL.md").read_text().rstrip("\n")
    assert last_reply(api, terminal["id"]) == shown

    # What its profile does not allow, and what does not exist, are tool errors that say so.
    text, is_error = call_tool(api, terminal["id"], "load_skill", {"name": "cao-worker-protocols"})
    assert is_error and "skill 'cao-worker-protocols' is not available to profile 'flowy' (its skills: cao-f*)" in text
    text, is_error = call_tool(api, terminal["id"], "load_skill", {"name": "../../etc"})
    assert is_error and "invalid skill name" in text
    profile(settings, "flowy", None)  # every skill, read when the tool is called
    text, is_error = call_tool(api, terminal["id"], "load_skill", {"name": "nothing-here"})
    assert is_error and "no skill 'nothing-here'; installed skills: cao-flows" in text
    text, is_error = call_tool(api, terminal["id"], "load_skill", {"name": "cao-worker-protocols"})
    assert not is_error and text.startswith("---\nname: cao-worker-protocols\n")


def test_no_catalog_for_a_profile_without_skills(api: ApiClient, settings: Settings, workdir: Path) -> None:
    profile(settings, "plain", "[]")
    terminal = launch(api, workdir, profile="plain")
    assert (settings.run_dir / terminal["id"] / "system_prompt.md").read_text() == "You work."
    text, is_error = call_tool(api, terminal["id"], "load_skill", {"name": "cao-flows"})
    assert is_error and "its skills: none" in text


def test_rest_routes_need_the_token_and_validate(api: ApiClient, settings: Settings) -> None:
    listed = api.get("/skills")
    assert [s["name"] for s in listed] == BUILT_INS
    assert all(s["origin"] == "built-in" and s["valid"] and s["description"] for s in listed)
    one = api.get("/skills/cao-session-management")
    assert one["content"].startswith("---\nname: cao-session-management\n") and one["files"] == []
    assert one["path"] == str(settings.home / "skills" / "cao-session-management")
    with pytest.raises(NotFound, match="no skill 'nope'"):
        api.get("/skills/nope")
    with pytest.raises(InvalidInput, match="invalid skill name"):
        api.get("/skills/.builtins.json")
    for path in ("/skills", "/skills/cao-flows"):
        assert raw(settings, "GET", path)[0] == 401
        assert raw(settings, "GET", path, token="wrong")[0] == 401


def test_cao_skills_add_show_list_remove(api: ApiClient, settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "greeting"
    folder.mkdir()
    (folder / "SKILL.md").write_text("---\nname: greeting\ndescription: How to greet. Load it to greet.\n---\n"
                                     "Say hello politely.\n")
    (folder / "examples.md").write_text("Hello!\n")
    added = cao("skills", "add", str(folder))
    stored = settings.home / "skills" / "greeting"
    assert added.returncode == 0 and f"Added skill 'greeting' at {stored}" in added.stdout
    again = cao("skills", "add", str(folder))
    assert again.returncode == 1
    assert f"Error: skill 'greeting' already exists; replace it with: cao skills add --force {folder}" in again.stderr
    (folder / "SKILL.md").write_text("---\nname: greeting\ndescription: Greet v2.\n---\nSay hi.\n")
    assert cao("skills", "add", "--force", str(folder)).returncode == 0
    shown = cao("skills", "show", "greeting")
    assert shown.stdout.endswith("Say hi.\n") and "examples.md" in shown.stderr
    listed = json.loads(cao("skills", "list", "--json").stdout)
    assert [(s["name"], s["origin"]) for s in listed] == [*((n, "built-in") for n in BUILT_INS[:3]),
                                                          ("cao-worker-protocols", "built-in"), ("greeting", "local")]
    assert api.get("/skills/greeting")["description"] == "Greet v2."  # the server reads the same store
    table = cao("skills", "list").stdout
    assert table.splitlines()[0].split() == ["NAME", "ORIGIN", "DESCRIPTION"] and "greeting  " in table
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "SKILL.md").write_text("---\nname: other\ndescription: x\n---\nBody\n")
    refused = cao("skills", "add", str(broken))
    assert refused.returncode == 1 and "field 'name' is 'other' but the folder is 'broken'" in refused.stderr
    removed = cao("skills", "remove", "greeting")
    assert removed.returncode == 0 and "Removed skill 'greeting'" in removed.stdout
    gone = cao("skills", "show", "greeting")
    assert gone.returncode == 1 and "no skill 'greeting'" in gone.stderr
    builtin = cao("skills", "remove", "cao-flows")
    assert builtin.returncode == 0 and "it stays removed; bring it back with: cao skills add " in builtin.stderr
    back = builtin.stderr.split("cao skills add ")[1].strip().rstrip(")")
    assert cao("skills", "list").stdout.count("cao-flows") == 0
    assert cao("skills", "add", back).returncode == 0 and "cao-flows" in cao("skills", "list").stdout
