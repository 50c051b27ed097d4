"""Skills reach the real CLIs, run by cao-server against the scripted model server.

Claude Code, Gemini CLI and OpenCode load them natively: cao copies the skills a profile allows into a
folder of that terminal the CLI reads (Claude: a plugin of its own, --plugin-dir; Gemini: its
per-terminal home; OpenCode: ``skills.paths`` of its per-terminal config), so the model request
lists them and the CLI's own tool (``Skill``, ``activate_skill``, ``skill``) brings a skill's body.
Codex gets cao's catalog in its instructions and loads a skill's text with cao's ``load_skill``.
Either way only the profile's skills are offered, and the user's own CLI folders are not touched.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from cao.client import ApiClient
from cao.services import skills
from cao.settings import Settings
from tests.conftest import ServerProcess
from tests.e2e_real.clis import Cli, every_version, put_first_on_path
from tests.e2e_real.conftest import ModelServer
from tests.e2e_real.test_opencode import opencode_dir  # noqa: F401 (a fixture)
from tests.helpers import last_reply, send_and_wait, tmux

pytestmark = pytest.mark.e2e_real
# The model's call that loads a skill, per CLI.
LOAD = {"claude_code": {"tool": "Skill", "args": {"skill": "cao:team-notes"}},
        "gemini_cli": {"tool": "activate_skill", "args": {"name": "team-notes"}},
        "codex": {"tool": "load_skill", "args": {"name": "team-notes"}}}
RULE = "TEAM RULE 7: every report ends with the word PINEAPPLE."


@pytest.fixture(params=[p for p in every_version() if p.values[0][0].provider in LOAD])
def cli(request: pytest.FixtureRequest, real_home: Path, model: ModelServer, settings: Settings,
        monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    chosen, bin_dir = request.param
    put_first_on_path(bin_dir, monkeypatch)
    chosen.setup(real_home, model, monkeypatch)
    yield chosen
    tmux(settings, "kill-server")


@pytest.fixture
def api(cli: Cli, real_server: ServerProcess) -> ApiClient:
    return real_server.client


def team_notes(tmp_path: Path, settings: Settings) -> None:
    """A skill of the user's own (with a second file), and a profile that allows it and cao-flows only."""
    folder = tmp_path / "team-notes"
    folder.mkdir()
    (folder / "SKILL.md").write_text("---\nname: team-notes\ndescription: House rules of this team. Load it "
                                     f"before writing any report.\n---\n# Team notes\n\n{RULE}\n")
    (folder / "checklist.md").write_text("- spell check\n")
    skills.add_skill(settings.home, folder)
    (settings.agent_store_dir / "skilled.md").write_text(
        "---\nname: skilled\nrole: developer\nskills: ['team-*', cao-flows]\n---\nYou write reports.\n")


def test_the_agent_sees_its_skills_and_loads_one(api: ApiClient, cli: Cli, model: ModelServer, workdir: Path,
                                                 tmp_path: Path, settings: Settings, real_home: Path) -> None:
    team_notes(tmp_path, settings)
    model.set_rules([{"match": "write the report", "needs_tools": True, "times": 1, **LOAD[cli.provider]},
                     {"on_tool_result": ".", "text": "Report done. PINEAPPLE"}])
    terminal = api.request("POST", "/sessions", timeout=120, params={
        "provider": cli.provider, "agent_profile": "skilled", "session_name": "sk", "working_directory": str(workdir)})
    assert terminal["status"] == "idle", api.get(f"/terminals/{terminal['id']}/output")["output"][-3000:]
    done = send_and_wait(api, terminal["id"], "please write the report", timeout=90)
    assert done["status"] == "completed", done
    assert last_reply(api, terminal["id"]) == "Report done. PINEAPPLE"

    requests = [r for r in model.requests() if r["tools"]]
    asked = next(r for r in requests if r["text"] == "please write the report")
    loaded = next(r for r in requests if r["tool_result"] is not None)
    if cli.provider == "claude_code":
        # Claude Code lists the skills itself (with their descriptions), only those the profile allows.
        assert "Skill" in asked["tools"]
        assert "- cao:team-notes: House rules of this team. Load it before writing any report." in asked["system"]
        assert "- cao:cao-flows: Scheduled and gated agent runs" in asked["system"]
        assert "cao-worker-protocols" not in asked["system"] and "## Available skills" not in asked["system"]
        # The Skill tool sent the body beside its result; the copy lives in the terminal's own folder.
        assert RULE in loaded["text"]
        copy = settings.run_dir / terminal["id"] / "skills-plugin" / "skills" / "team-notes"
        assert not (real_home / ".claude" / "skills").exists()
    elif cli.provider == "gemini_cli":
        assert "activate_skill" in asked["tools"]
        assert "team-notes" in asked["system"] and "House rules of this team." in asked["system"]
        assert "cao-flows" in asked["system"] and "cao-worker-protocols" not in asked["system"]
        assert "## Available skills" not in asked["system"]
        assert RULE in loaded["tool_result"]  # activated without asking (cao's policy allows its own skills)
        copy = settings.run_dir / terminal["id"] / "gemini-home" / ".agents" / "skills" / "team-notes"
        assert not (real_home / ".gemini" / "skills").exists() and not (real_home / ".agents").exists()
    else:
        assert "## Available skills" in asked["system"]
        assert "- **team-notes**: House rules of this team. Load it before writing any report." in asked["system"]
        assert "- **cao-flows**:" in asked["system"] and "cao-worker-protocols" not in asked["system"]
        assert RULE in loaded["tool_result"] and "checklist.md" in loaded["tool_result"]
        copy = None
    if copy is not None:
        assert RULE in (copy / "SKILL.md").read_text() and (copy / "checklist.md").is_file()
        assert stat.S_IMODE((copy / "SKILL.md").stat().st_mode) == 0o600
    assert [p.name for p in workdir.iterdir()] == []  # nothing written into the project


@pytest.fixture
def ripgrep(real_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """OpenCode's skill tool lists a skill's files with ripgrep, which OpenCode downloads on first use
    (offline here): the real ripgrep that Codex's npm package ships, first on PATH."""
    found = sorted(Path(os.environ["PATH"].split(":")[0]).parent.glob("@openai/codex-linux-*/vendor/*/codex-path/rg"))
    if not found:
        pytest.skip("no ripgrep binary for OpenCode (Codex's package ships one)")
    monkeypatch.setenv("PATH", f"{found[0].parent}:{os.environ['PATH']}")


@pytest.mark.usefixtures("opencode_dir", "ripgrep")  # both before cao-server starts
def test_opencode_finds_its_skills_in_the_folder_cao_gives_it(real_home: Path, real_server: ServerProcess,
                                                              model: ModelServer, workdir: Path, tmp_path: Path,
                                                              settings: Settings) -> None:
    """OpenCode reads ``skills.paths`` of the terminal's own config; its ``skill`` tool loads one."""
    api = real_server.client
    team_notes(tmp_path, settings)
    model.set_rules([{"match": "write the report", "needs_tools": True, "times": 1, "tool": "skill",
                      "args": {"name": "team-notes"}},
                     {"on_tool_result": "TEAM RULE 7", "text": "Report done. PINEAPPLE"}])
    terminal = api.request("POST", "/sessions", timeout=120, params={
        "provider": "opencode", "agent_profile": "skilled", "session_name": "oc", "working_directory": str(workdir)})
    assert terminal["status"] == "idle", terminal
    done = send_and_wait(api, terminal["id"], "please write the report", timeout=90)
    assert done["status"] == "completed", done
    assert last_reply(api, terminal["id"]) == "Report done. PINEAPPLE"
    loaded = next(r for r in model.requests() if r["tool_result"] is not None)
    assert RULE in loaded["tool_result"]
    copy = settings.run_dir / terminal["id"] / "skills" / "team-notes"
    assert (copy / "checklist.md").is_file() and not (copy.parent / "cao-worker-protocols").exists()
    assert not (real_home / ".config" / "opencode" / "skills").exists() and [p.name for p in workdir.iterdir()] == []
