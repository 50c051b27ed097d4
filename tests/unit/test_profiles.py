from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

import pytest

from cao.errors import InvalidInput, InvalidProfile, ProfileNotFound
from cao.profiles import (
    AgentProfile,
    McpServerConfig,
    builtin_profiles_dir,
    list_profiles,
    load_profile,
    parse_profile,
    resolve_allowed_tools,
)

MCP = "mcpServers:\n  cao-mcp-server:\n    type: stdio\n    command: cao-mcp-server\n    args: []\n"


def write(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.md"
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------- parsing


def test_parse_full_profile() -> None:
    text = (
        "---\nname: dev\ndescription: Writes code\nprovider: claude_code\nmodel: opus\nrole: developer\n"
        "allowedTools: [fs_read, '@builtin']\nskills: [python]\nprompt: short\nunknown_key: {a: 1}\n"
        + MCP + "    env: {TOKEN_FILE: x}\n    timeout: 30\n    extra: kept\n"
        "---\n\n# Dev\n\nYou write code.\n"
    )
    p = parse_profile(text, source="dev.md")
    assert p.name == "dev"
    assert p.description == "Writes code"
    assert (p.provider, p.model, p.role, p.prompt) == ("claude_code", "opus", "developer", "short")
    assert p.allowedTools == ["fs_read", "@builtin"]
    assert p.skills == ["python"]
    assert p.system_prompt == "# Dev\n\nYou write code."
    server = p.mcpServers["cao-mcp-server"]
    assert isinstance(server, McpServerConfig)
    assert (server.type, server.command, server.args, server.env, server.timeout) == (
        "stdio", "cao-mcp-server", [], {"TOKEN_FILE": "x"}, 30)
    assert server.model_extra == {"extra": "kept"}
    assert not hasattr(p, "unknown_key")


class Ok(NamedTuple):
    test_id: str
    text: str
    default_name: str | None
    name: str
    body: str


OK_CASES = [
    Ok("name-from-default", "---\ndescription: d\n---\nbody\n", "stem", "stem", "body"),
    Ok("frontmatter-name-wins", "---\nname: real\n---\nbody", "stem", "real", "body"),
    Ok("empty-frontmatter", "---\n---\nhello", "stem", "stem", "hello"),
    Ok("crlf-and-bom", "\ufeff---\r\nname: w\r\n---\r\nline1\r\nline2\r\n", None, "w", "line1\r\nline2"),
    Ok("null-values-are-absent", "---\nname: n\ndescription:\nrole:\n---\n", None, "n", ""),
    Ok("dashes-in-body-kept", "---\nname: n\n---\na\n---\nb\n", None, "n", "a\n---\nb"),
    Ok("frontmatter-system-prompt-ignored", "---\nname: n\nsystem_prompt: nope\n---\nyes", None, "n", "yes"),
]


@pytest.mark.parametrize("case", OK_CASES, ids=[c.test_id for c in OK_CASES])
def test_parse_ok(case: Ok) -> None:
    p = parse_profile(case.text, source="x.md", default_name=case.default_name)
    assert (p.name, p.system_prompt) == (case.name, case.body)
    if case.test_id == "null-values-are-absent":
        assert (p.description, p.role) == ("", None)


class Bad(NamedTuple):
    test_id: str
    text: str
    message: str


BAD_CASES = [
    Bad("no-frontmatter", "# just markdown\n", "x.md: missing YAML frontmatter"),
    Bad("unterminated", "---\nname: a\nbody\n", "x.md: missing YAML frontmatter"),
    Bad("bad-yaml", "---\nname: [a\n---\n", "x.md: invalid YAML frontmatter at line"),
    Bad("not-a-mapping", "---\n- a\n- b\n---\n", "x.md: the frontmatter must be a YAML mapping"),
    Bad("missing-name", "---\ndescription: d\n---\n", "x.md: field 'name' is required"),
    Bad("name-not-string", "---\nname: [a]\n---\n", "x.md: field 'name' must be a string"),
    Bad("bad-name-chars", "---\nname: ../etc\n---\n", "x.md: field 'name' '../etc' is not a valid profile name"),
    Bad("name-too-long", "---\nname: " + "a" * 65 + "\n---\n", "is not a valid profile name"),
    Bad("tools-not-list", "---\nname: a\nallowedTools: fs_read\n---\n",
        "x.md: field 'allowedTools' must be a list of strings"),
    Bad("tools-not-strings", "---\nname: a\nallowedTools: [1]\n---\n",
        "x.md: field 'allowedTools' must be a list of strings"),
    Bad("tool-unknown", "---\nname: a\nallowedTools: [fs-read]\n---\n",
        "x.md: field 'allowedTools' has unknown tool 'fs-read'"),
    Bad("role-unknown", "---\nname: a\nrole: boss\n---\n",
        "x.md: field 'role' 'boss' is not a known role (valid: supervisor, reviewer, developer)"),
    Bad("description-not-string", "---\nname: a\ndescription: {x: 1}\n---\n",
        "x.md: field 'description' must be a string"),
    Bad("skills-not-list", "---\nname: a\nskills: python\n---\n", "x.md: field 'skills' must be a list"),
    Bad("servers-not-mapping", "---\nname: a\nmcpServers: [x]\n---\n", "x.md: field 'mcpServers' must be a mapping"),
    Bad("server-not-mapping", "---\nname: a\nmcpServers: {s: cmd}\n---\n",
        "x.md: field 'mcpServers.s' must be a mapping with at least 'command'"),
    Bad("server-no-command", "---\nname: a\nmcpServers: {s: {args: []}}\n---\n",
        "x.md: field 'mcpServers.s.command' is required"),
    Bad("server-args-not-list", "---\nname: a\nmcpServers: {s: {command: c, args: x}}\n---\n",
        "x.md: field 'mcpServers.s.args' must be a list of strings"),
    Bad("server-env-not-strings", "---\nname: a\nmcpServers: {s: {command: c, env: {P: 1}}}\n---\n",
        "x.md: field 'mcpServers.s.env' must be a mapping of strings to strings"),
    Bad("server-bad-name", "---\nname: a\nmcpServers: {'a b': {command: c}}\n---\n",
        "x.md: field 'mcpServers' has invalid server name 'a b'"),
]


@pytest.mark.parametrize("case", BAD_CASES, ids=[c.test_id for c in BAD_CASES])
def test_parse_errors_name_source_and_field(case: Bad) -> None:
    with pytest.raises(InvalidProfile) as info:
        parse_profile(case.text, source="x.md")
    message = str(info.value)
    assert case.message in message
    assert "\n" not in message
    assert message.startswith("x.md: ")


# ---------------------------------------------------------------- built-ins


def test_builtin_dir_is_the_repo_agent_store() -> None:
    assert builtin_profiles_dir() == Path(__file__).resolve().parents[2] / "agent_store"


@pytest.mark.parametrize("name,role", [("code_supervisor", "supervisor"), ("developer", "developer"),
                                       ("reviewer", "reviewer")])
def test_builtin_profiles_are_valid(name: str, role: str, tmp_path: Path) -> None:
    p = load_profile(name, tmp_path)
    assert (p.name, p.role) == (name, role)
    assert p.description
    server = p.mcpServers["cao-mcp-server"]
    assert (server.type, server.command, server.args) == ("stdio", "cao-mcp-server", [])
    assert "Security constraints" in p.system_prompt
    assert ".ssh" in p.system_prompt and "*.pem" in p.system_prompt
    assert "send_message" in p.system_prompt


def test_supervisor_prompt_delegates() -> None:
    text = (builtin_profiles_dir() / "code_supervisor.md").read_text()
    for word in ("assign", "handoff", "send_message", "absolute paths", "inbox"):
        assert word in text


# ---------------------------------------------------------------- lookup and listing


def test_local_shadows_builtin(tmp_path: Path) -> None:
    write(tmp_path / "agent-store", "developer", "---\nname: developer\ndescription: mine\n---\nlocal body")
    assert load_profile("developer", tmp_path).system_prompt == "local body"
    infos = {i.name: i for i in list_profiles(tmp_path)}
    assert infos["developer"].source == "local"
    assert infos["developer"].description == "mine"
    assert infos["reviewer"].source == "built-in"


def test_broken_local_file_is_reported_not_skipped(tmp_path: Path) -> None:
    write(tmp_path / "agent-store", "developer", "---\nname: developer\nallowedTools: x\n---\n")
    with pytest.raises(InvalidProfile, match="field 'allowedTools' must be a list of strings"):
        load_profile("developer", tmp_path)
    info = next(i for i in list_profiles(tmp_path) if i.name == "developer")
    assert (info.loadable, info.source) == (False, "local")
    assert "allowedTools" in info.error


def test_name_must_match_file(tmp_path: Path) -> None:
    write(tmp_path / "agent-store", "alpha", "---\nname: beta\n---\n")
    with pytest.raises(InvalidProfile, match=re.escape("field 'name' is 'beta' but the file is named alpha.md")):
        load_profile("alpha", tmp_path)


def test_list_is_sorted_and_flags_unusable_file_names(tmp_path: Path) -> None:
    store = tmp_path / "agent-store"
    write(store, "zeta", "---\nrole: reviewer\nprovider: codex\n---\n")
    write(store, "bad name", "---\n---\n")
    (store / "notes.txt").write_text("ignored")
    infos = list_profiles(tmp_path)
    names = [i.name for i in infos]
    assert names == sorted(names)
    assert {"code_supervisor", "developer", "reviewer", "zeta", "bad name"} <= set(names)
    zeta = next(i for i in infos if i.name == "zeta")
    assert (zeta.role, zeta.provider, zeta.loadable, zeta.error) == ("reviewer", "codex", True, None)
    assert zeta.path == store / "zeta.md"
    assert not next(i for i in infos if i.name == "bad name").loadable


def test_unknown_profile_lists_installed(tmp_path: Path) -> None:
    write(tmp_path / "agent-store", "mine", "---\n---\n")
    with pytest.raises(ProfileNotFound) as info:
        load_profile("nope", tmp_path)
    assert str(info.value) == (
        "unknown agent profile 'nope'; installed profiles: code_supervisor, developer, mine, reviewer "
        "(install one with: cao install NAME|FILE|URL)")


@pytest.mark.parametrize("name", ["../developer", "a/b", "", "x" * 65, "-rf", "dev.md"])
def test_load_rejects_bad_names(name: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as info:
        load_profile(name, tmp_path)
    assert not isinstance(info.value, ProfileNotFound)


# ---------------------------------------------------------------- tool restrictions


def prof(**fields: object) -> AgentProfile:
    return AgentProfile.model_validate({"name": "p", **fields})


SERVERS = {"cao-mcp-server": {"command": "cao-mcp-server"}, "docs": {"command": "docs-mcp"}}


class Tools(NamedTuple):
    test_id: str
    profile: AgentProfile | None
    expected: list[str]


TOOL_CASES = [
    Tools("none-profile", None, ["@builtin", "fs_*", "execute_bash", "web_fetch", "@cao-mcp-server"]),
    Tools("no-role-no-list", prof(), ["@builtin", "fs_*", "execute_bash", "web_fetch", "@cao-mcp-server"]),
    Tools("supervisor", prof(role="supervisor"), ["@cao-mcp-server", "fs_read", "fs_list"]),
    Tools("reviewer", prof(role="reviewer"), ["@builtin", "fs_read", "fs_list", "@cao-mcp-server"]),
    Tools("developer", prof(role="developer"),
          ["@builtin", "fs_*", "execute_bash", "web_fetch", "@cao-mcp-server"]),
    Tools("explicit-beats-role", prof(role="developer", allowedTools=["fs_read"]), ["fs_read"]),
    Tools("explicit-empty", prof(allowedTools=[]), []),
    Tools("servers-appended-once", prof(role="supervisor", mcpServers=SERVERS),
          ["@cao-mcp-server", "fs_read", "fs_list", "@docs"]),
    Tools("servers-appended-to-explicit", prof(allowedTools=["fs_read"], mcpServers=SERVERS),
          ["fs_read", "@cao-mcp-server", "@docs"]),
    Tools("star-alone", prof(allowedTools=["*"], mcpServers=SERVERS), ["*"]),
    Tools("star-absorbs-rest", prof(allowedTools=["fs_read", "*"], mcpServers=SERVERS), ["*"]),
    Tools("duplicates-removed", prof(allowedTools=["fs_read", "fs_read"]), ["fs_read"]),
]


@pytest.mark.parametrize("case", TOOL_CASES, ids=[c.test_id for c in TOOL_CASES])
def test_resolve_allowed_tools(case: Tools) -> None:
    assert resolve_allowed_tools(case.profile) == case.expected


def test_resolve_does_not_alias_defaults() -> None:
    resolve_allowed_tools(prof(role="supervisor")).append("execute_bash")
    assert "execute_bash" not in resolve_allowed_tools(prof(role="supervisor"))


def test_resolve_unknown_role() -> None:
    with pytest.raises(InvalidProfile, match=re.escape("unknown role 'boss' (valid: supervisor, reviewer, developer)")):
        resolve_allowed_tools(prof(role="boss"))


def test_the_system_prompt_is_the_profile_body_then_cao_s_parts(tmp_path):
    from cao.providers.base import LaunchContext

    profile = AgentProfile(name="dev", description="d", system_prompt="  You are a developer.\n")
    ctx = LaunchContext(terminal_id="abcdef01", working_directory=tmp_path, runtime_dir=tmp_path, profile=profile,
                        prompt_parts=("## Skills\n- a", "", "  ## Memories\n- b  "))
    assert ctx.system_prompt == "You are a developer.\n\n## Skills\n- a\n\n## Memories\n- b"
    assert LaunchContext(terminal_id="abcdef01", working_directory=tmp_path, runtime_dir=tmp_path).system_prompt == ""
