"""Read a team file: YAML → checked fields → a ``Team`` (with warnings for what cao ignores).

Every problem is collected before failing, so one run of ``cao team validate`` lists them all;
each names the file, the line, the key and the fix.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cao import validation
from cao.errors import InvalidTeam
from cao.profile_files import find
from cao.settings import Settings
from cao.teams import durations, envtext, graph, modelref, permissions, sections, yamlsrc
from cao.teams import fields as F
from cao.teams.checks import Checker
from cao.teams.models import DEFAULT_MAX_DEPTH, Member, Team

MAX_PROMPT_FILE_BYTES = 256 * 1024
DEFAULT_RETRIES = 2  # cagent's defaults
DEFAULT_COOLDOWN_S = 60.0


def load_team(path: str | os.PathLike[str], home: Path | None = None, env: Mapping[str, str] | None = None) -> Team:
    """Load and check the team file at ``path``; raise ``InvalidTeam`` listing every problem.

    ``sub_agents``/``handoffs`` may also name agent profiles installed in ``home`` (default: CAO_HOME);
    ``${env.X}`` placeholders take their values from ``env`` (default: this process's environment)."""
    file = Path(path).expanduser().resolve()
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InvalidTeam(f"{file}: not UTF-8 text") from None
    except OSError as exc:
        raise InvalidTeam(f"{file}: cannot read the team file: {exc.strerror or exc}") from None
    store = home if home is not None else Settings.from_env().home
    return parse_team(text, source=str(file), base_dir=file.parent, env=env,
                      installed=lambda name: bool(validation.NAME.fullmatch(name)) and find(name, store) is not None)


def parse_team(text: str, *, source: str, base_dir: Path, installed: Callable[[str], bool] = lambda _name: False,
               env: Mapping[str, str] | None = None) -> Team:
    data, lines = yamlsrc.load(text, source)
    check = Checker(source, lines)
    if not isinstance(data, dict):
        raise InvalidTeam(f"{source}: a team file is a YAML mapping with an 'agents:' section")
    top = check.fields(data, (), F.TOP_FIELDS, "top-level")
    models, base_urls = _models(check, top.get("models") or {})
    agents = top.get("agents")
    if not agents:
        check.error(("agents",), "is required: a mapping of agent names to their model and instruction")
        agents = {}
    members: dict[str, Member] = {}
    for name, raw in agents.items():
        member = _member(check, name, raw, models, base_dir)
        if member is not None and isinstance(raw, dict) and raw.get("model") in base_urls:
            member.base_url = _base_url(check, ("agents", name, "model"), base_urls[raw["model"]], member.provider)
        if member is not None:
            members[name] = _expand_env(member, os.environ if env is None else env)
    settings = check.fields(top.get("cao") or {}, ("cao",), F.CAO_FIELDS, "cao")
    depth = settings.get("max_delegation_depth", DEFAULT_MAX_DEPTH)
    if depth < 1:
        check.error(("cao", "max_delegation_depth"), "must be at least 1 (1: the root's sub-agents may not "
                                                     "delegate further)")
    if not check.errors:
        for path, problem in graph.problems(members, installed):
            check.error(path, problem)
    if check.errors:
        count = len(check.errors)
        raise InvalidTeam(f"{source}: {count} problem{'s' if count > 1 else ''}:\n" + "\n".join(check.errors))
    return Team(source=source, members=members, max_depth=depth, warnings=check.warnings)


def _models(check: Checker, raw: dict[str, Any]) -> tuple[dict[str, tuple[str, str]], dict[str, str]]:
    """Named models → (cao provider, model), and the named models' ``base_url``s."""
    out, base_urls = {}, {}
    for name, entry in raw.items():
        path = ("models", name)
        if not isinstance(entry, dict):
            check.error(path, "must be a mapping with provider and model")
            continue
        known = check.fields(entry, path, F.MODEL_FIELDS, "model")
        vendor, model = known.get("provider"), known.get("model")
        if not vendor or not model:
            check.error(path, "needs both provider (e.g. anthropic) and model (e.g. claude-sonnet-4-5)")
            continue
        provider = modelref.provider_for(vendor)
        if provider is None:
            check.error((*path, "provider"), modelref.unknown_vendor(vendor))
            continue
        out[name] = (provider, model)
        if "base_url" in known:
            url = urlsplit(known["base_url"])
            if url.scheme not in ("http", "https") or not url.hostname or url.username or url.password:
                check.error((*path, "base_url"), "must be an http:// or https:// URL without user or password "
                                                 "(e.g. http://127.0.0.1:4000); the CLI reads its key itself")
            else:
                base_urls[name] = known["base_url"]
    return out, base_urls


def _base_url(check: Checker, path: yamlsrc.Path, url: str, provider: str) -> str | None:
    if provider in F.BASE_URL_PROVIDERS:
        return url
    check.warn(path, f"the model's base_url is not applied: cao points only {', '.join(F.BASE_URL_PROVIDERS)} at "
                     f"another endpoint, not {provider}; set it in {provider}'s own configuration")
    return None


def _resolve_model(check: Checker, path: yamlsrc.Path, known: dict[str, Any],
                   models: dict[str, tuple[str, str]]) -> tuple[str, str | None] | None:
    ref, explicit = known.get("model"), known.get("provider")
    if explicit is not None:
        provider = modelref.provider_for(explicit)
        if provider is None:
            check.error((*path, "provider"), modelref.unknown_vendor(explicit))
            return None
        return provider, ref or None
    if ref is None:
        check.error(path, "needs model: provider/model (e.g. anthropic/claude-sonnet-4-5), a named model of the "
                          "models: section, or provider: plus model:")
        return None
    return _model_ref(check, (*path, "model"), ref, models)


def _model_ref(check: Checker, path: yamlsrc.Path, ref: str,
               models: dict[str, tuple[str, str]]) -> tuple[str, str] | None:
    """A ``provider/model`` or named-model reference → (cao provider, model)."""
    if ref in models:
        return models[ref]
    parts = modelref.split(ref)
    if parts is None:
        named = ", ".join(models) or "none"
        check.error(path, f"{ref!r} is neither provider/model (e.g. openai/gpt-5) nor a named model "
                          f"(models: section has: {named})")
        return None
    provider = modelref.provider_for(parts[0])
    if provider is None:
        check.error(path, modelref.unknown_vendor(parts[0]))
        return None
    return provider, parts[1]


def _member(check: Checker, name: str, raw: Any, models: dict[str, tuple[str, str]],
            base_dir: Path) -> Member | None:
    path = ("agents", name)
    if not validation.NAME.fullmatch(name):
        check.error(path, "is not a valid agent name (use 1-64 letters, digits, '_' or '-', not starting with '-')")
        return None
    if not isinstance(raw, dict):
        check.error(path, "must be a mapping with at least model and instruction")
        return None
    fallback = fallback_section(check, (*path, "fallback"), raw.get("fallback"), models)
    known = check.fields(raw, path, F.AGENT_FIELDS, "agent")
    resolved = _resolve_model(check, path, known, models)
    provider = resolved[0] if resolved else None
    hooks, tool_hooks = sections.hooks(check, (*path, "hooks"), raw.get("hooks"), provider)
    rules = permissions.section(check, (*path, "permissions"), raw.get("permissions"), provider)
    if "instruction" not in known:
        check.error(path, "needs instruction: the agent's system prompt")
    commands = command_names(check, (*path, "commands"), known.get("commands", {}))
    servers, tools, instructions = sections.toolsets(check, (*path, "toolsets"), known.get("toolsets"))
    if resolved is None or "instruction" not in known:
        return None
    return Member(
        name=name, description=known.get("description", ""), instruction=known["instruction"],
        provider=resolved[0], model=resolved[1], sub_agents=known.get("sub_agents", []),
        handoffs=known.get("handoffs", []), add_date=known.get("add_date", False),
        add_environment_info=known.get("add_environment_info", False),
        prompt_files=prompt_files(check, (*path, "add_prompt_files"), known.get("add_prompt_files", []), base_dir)
        + [(f"toolset {i}", text) for i, text in instructions],
        welcome_message=known.get("welcome_message"), commands=commands, mcp_servers=servers,
        allowed_tools=tools, structured_output=sections.structured(check, (*path, "structured_output"),
                                                           known.get("structured_output")), hooks=hooks,
        tool_hooks=tool_hooks, permissions=rules, max_iterations=max(known.get("max_iterations", 0), 0),
        redact_secrets=known.get("redact_secrets", False), fallback=fallback,
        skills=_skills(check, (*path, "skills"), known.get("skills", True)))


def _expand_env(member: Member, env: Mapping[str, str]) -> Member:
    """cagent expands ``${env.X}`` in instructions, toolset instructions, descriptions and welcome messages
    (commands: when they are run)."""
    member.instruction = envtext.expand(member.instruction, env)
    member.description = envtext.expand(member.description, env)
    if member.welcome_message is not None:
        member.welcome_message = envtext.expand(member.welcome_message, env)
    member.prompt_files = [(source, envtext.expand(text, env) if source.startswith("toolset ") else text)
                           for source, text in member.prompt_files]
    return member


def _skills(check: Checker, path: yamlsrc.Path, value: bool | list[str]) -> list[str] | None:
    """cagent's ``skills``: true (every skill in cao's store), false (none), or names and sources to include;
    a source (a URL or a folder) is not fetched: add it to the store with ``cao skills add`` and name it."""
    if value is True:
        return None
    if value is False:
        return []
    names = []
    for index, entry in enumerate(value):
        if "://" in entry or "/" in entry:
            check.warn((*path, index), f"{entry!r} is a skill source: cao takes skills from its store only; add it "
                                       "with cao skills add FOLDER and name the skill here")
        else:
            names.append(entry)
    return names


def command_names(check: Checker, path: yamlsrc.Path, commands: dict[str, str]) -> dict[str, str]:
    for command in commands:
        if not validation.NAME.fullmatch(command):
            check.error((*path, command), "is not a valid command name (letters, digits, '_', '-')")
    return commands


def prompt_files(check: Checker, path: yamlsrc.Path, names: list[str], base_dir: Path, *,
                 inside: bool = False) -> list[tuple[str, str]]:
    """(path, text) of each file, relative to ``base_dir``; with ``inside``, a file outside it is an error."""
    out = []
    for index, name in enumerate(names):
        file = (base_dir / Path(name).expanduser()).resolve()
        if inside and not file.is_relative_to(base_dir.resolve()):
            check.error((*path, index), f"{file} is outside the profile's folder {base_dir}: a profile (which "
                                        "may come from a URL) adds only files next to it; move the file there")
            continue
        try:
            if file.stat().st_size > MAX_PROMPT_FILE_BYTES:
                check.error((*path, index), f"{file} is larger than {MAX_PROMPT_FILE_BYTES // 1024} KiB")
                continue
            out.append((str(file), file.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or "not UTF-8 text"
            where = "the profile" if inside else "the team file"
            check.error((*path, index), f"cannot read {file} ({reason}); paths are relative to {where}")
    return out


def fallback_section(check: Checker, path: yamlsrc.Path, raw: Any, models: dict[str, tuple[str, str]]
              ) -> dict[str, Any] | None:
    """{"models": [[provider, model], ...], "retries": n, "cooldown": seconds}, or None."""
    if not isinstance(raw, dict):
        return None  # a wrong type is reported with the agent's fields
    known = check.fields(raw, path, F.FALLBACK_FIELDS, "fallback")
    chain = []
    for index, ref in enumerate(known.get("models", [])):
        resolved = _model_ref(check, (*path, "models", index), ref, models)
        if resolved is not None:
            chain.append(list(resolved))
    retries = known.get("retries", DEFAULT_RETRIES)
    if retries < -1:
        check.error((*path, "retries"), "must be -1 (no retries), 0 or more")
    cooldown = durations.seconds(known.get("cooldown", DEFAULT_COOLDOWN_S))
    if cooldown is None or cooldown < 0:
        check.error((*path, "cooldown"), "must be a duration (30s, 1m, 2m30s) or seconds")
        cooldown = 0.0
    retries = max(retries, 0)
    return {"models": chain, "retries": retries, "cooldown": cooldown} if chain or retries else None
