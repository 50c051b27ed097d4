"""Flow files: Markdown with YAML frontmatter (the public CAO's format, plus cao's own fields).

Parsing checks every field and names the one that is wrong and how to fix it. What a run needs
from the outside world (the profile, the provider, the script on disk) is checked by ``check``.
"""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cao import validation
from cao.errors import CaoError, InvalidInput
from cao.profile_files import split
from cao.services.flows import cron, template

FLOW_NAME = re.compile(r"^[A-Za-z0-9_-]{1,59}$")  # the session is cao-flow-<name>: 64 characters at most
WHEN_BUSY = ("skip", "replace")
DEFAULT_TIMEOUT_S = 1800.0
DEFAULT_SCRIPT_TIMEOUT_S = 30.0
DEFAULT_KEEP_RUNS = 100
DEFAULT_CATCH_UP_S = 86400.0  # catch_up: true runs a fire missed within the last day
# prestart by default: the agent (a real CLI takes seconds to start) waits ready, and the prompt goes in at the fire.
DEFAULT_PRESTART_S = 30.0
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}
KNOWN_FIELDS = ("name", "schedule", "agent_profile", "provider", "engine", "script", "timezone", "timeout",
                "script_timeout", "working_directory", "yolo", "env", "when_busy", "catch_up", "keep_runs",
                "prestart")


@dataclass(frozen=True)
class FlowSpec:
    name: str
    schedule: str
    agent_profile: str
    prompt_template: str
    provider: str | None = None
    script: str | None = None  # absolute path
    timezone: str | None = None  # None: the server's local zone
    timeout: float = DEFAULT_TIMEOUT_S
    script_timeout: float = DEFAULT_SCRIPT_TIMEOUT_S
    working_directory: str | None = None  # absolute; None: the flow file's directory
    yolo: bool = False
    env: dict[str, str] = field(default_factory=dict)
    when_busy: str = "skip"
    catch_up: float = 0.0  # grace window in seconds; 0: missed fires are only recorded
    keep_runs: int = DEFAULT_KEEP_RUNS
    prestart: float = DEFAULT_PRESTART_S  # seconds before a fire to start the agent; 0: at the fire

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FlowSpec:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


def session_of(name: str) -> str:
    """The tmux session of a flow's runs."""
    return f"cao-flow-{name}"


def flow_name(value: Any) -> str:
    if not isinstance(value, str) or not FLOW_NAME.fullmatch(value):
        raise InvalidInput(f"name: invalid flow name {validation.shown(value)}: use 1-59 letters, digits, '_' "
                           "or '-' (the flow's tmux session is cao-flow-<name>)")
    return value


def duration(value: Any, what: str) -> float:
    """Seconds from a number or ``90s``, ``30m``, ``2h``, ``1d``."""
    if isinstance(value, bool):
        raise InvalidInput(f"{what}: expected a duration such as 600, '30m' or '2h', not {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.fullmatch(str(value))
        if not match:
            raise InvalidInput(f"{what}: {validation.shown(value)} is not a duration; use seconds (600) or "
                               "'90s', '30m', '2h', '1d'")
        seconds = float(match.group(1)) * _UNIT_S[match.group(2)]
    if seconds <= 0:
        raise InvalidInput(f"{what}: must be longer than 0 seconds")
    return seconds


def _flag(value: Any, what: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput(f"{what}: expected true or false, not {validation.shown(value)}")
    return value


def _catch_up(value: Any) -> float:
    if value is False or value is None:
        return 0.0
    if value is True:
        return DEFAULT_CATCH_UP_S
    return duration(value, "catch_up (true, false or a grace window such as '6h')")


def _prestart(value: Any) -> float:
    if value is None:
        return DEFAULT_PRESTART_S
    if value is False or value == 0:
        return 0.0
    return duration(value, "prestart (a duration such as '30s', or 0 to start the agent at the fire)")


def _path(value: Any, base: Path, what: str) -> Path:
    if not isinstance(value, str) or not value.strip() or "\x00" in value:
        raise InvalidInput(f"{what}: expected a path (relative to the flow file's folder {base})")
    path = Path(value).expanduser()
    return (path if path.is_absolute() else base / path).resolve()


def _env(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise InvalidInput("env: expected a mapping of NAME: value")
    pairs = {str(k): v if isinstance(v, str) else str(v).lower() if isinstance(v, bool) else str(v)
             for k, v in value.items()}
    try:
        return validation.env_vars(pairs)
    except InvalidInput as exc:
        raise InvalidInput(f"env: {exc}") from None


def parse_fields(data: dict[str, Any], body: str, base: Path) -> FlowSpec:
    """A FlowSpec from frontmatter fields and the body; relative paths are taken from ``base``."""
    unknown = [str(k) for k in data if k not in KNOWN_FIELDS]
    if unknown:
        raise InvalidInput(f"unknown field(s) {', '.join(map(repr, unknown))}; flow files know: "
                           f"{', '.join(KNOWN_FIELDS)}")
    for required in ("name", "schedule", "agent_profile"):
        if data.get(required) in (None, ""):
            raise InvalidInput(f"field {required!r} is required")
    name = flow_name(data["name"])
    tz_name = data.get("timezone")
    if tz_name is not None and not isinstance(tz_name, str):
        raise InvalidInput("timezone: expected an IANA name such as 'Europe/Berlin'")
    schedule = str(data["schedule"]).strip()
    cron.trigger(schedule, cron.zone(tz_name))
    profile = validation.name(str(data["agent_profile"]), "agent_profile")
    provider = data.get("provider")
    if provider is not None:
        provider = validation.name(str(provider), "provider")
    if data.get("engine") not in (None, "v2"):
        raise InvalidInput(f"engine: {data['engine']!r} is not supported; leave the field out")
    when_busy = data.get("when_busy", "skip")
    if when_busy not in WHEN_BUSY:
        raise InvalidInput(f"when_busy: {validation.shown(when_busy)} is not one of: {', '.join(WHEN_BUSY)} "
                           "(skip: a fire while a run works is recorded and skipped; replace: the working run "
                           "is stopped and a new one starts)")
    keep = data.get("keep_runs", DEFAULT_KEEP_RUNS)
    if isinstance(keep, bool) or not isinstance(keep, int) or not 1 <= keep <= 100_000:
        raise InvalidInput(f"keep_runs: expected a whole number from 1 to 100000, not {validation.shown(keep)}")
    body = body.strip()
    if not body:
        raise InvalidInput("the prompt is empty: write it below the frontmatter's closing '---' line")
    script = data.get("script")
    if script is None and template.placeholders(body):
        names = ", ".join(f"[[{n}]]" for n in template.placeholders(body))
        raise InvalidInput(f"the prompt uses {names} but the flow has no script to fill them; add a 'script' "
                           "whose output has these keys, or remove the placeholders")
    workdir = data.get("working_directory")
    return FlowSpec(
        name=name, schedule=schedule, agent_profile=profile, prompt_template=body, provider=provider,
        script=str(_path(script, base, "script")) if script is not None else None,
        timezone=tz_name or None,
        timeout=duration(data.get("timeout", DEFAULT_TIMEOUT_S), "timeout"),
        script_timeout=duration(data.get("script_timeout", DEFAULT_SCRIPT_TIMEOUT_S), "script_timeout"),
        working_directory=str(_path(workdir, base, "working_directory")) if workdir is not None else str(base),
        yolo=_flag(data.get("yolo", False), "yolo"), env=_env(data.get("env") or {}),
        when_busy=when_busy, catch_up=_catch_up(data.get("catch_up", False)), keep_runs=keep,
        prestart=_prestart(data.get("prestart")))


def parse_text(text: str, source: str, base: Path) -> FlowSpec:
    data, body = split(text, source)
    try:
        return parse_fields(data, body, base)
    except InvalidInput as exc:
        raise InvalidInput(f"{source}: {exc}") from None


def read_file(path: Path) -> FlowSpec:
    path = path.expanduser().resolve()
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot read the flow file: {exc.strerror or exc}") from None
    return parse_text(text, str(path), path.parent)


def check_script(spec: FlowSpec) -> None:
    """The gating script exists and is executable (it is run directly, never through a shell)."""
    if spec.script is None:
        return
    path = Path(spec.script)
    if not path.is_file():
        raise InvalidInput(f"script: {path} does not exist (the path is relative to the flow file's folder)")
    if not os.access(path, os.X_OK):
        raise InvalidInput(f"script: {path} is not executable; make it so with: chmod +x {path} "
                           "(and give it a #! line)")


def check_working_directory(spec: FlowSpec) -> None:
    try:
        validation.working_directory(spec.working_directory)
    except InvalidInput as exc:
        raise InvalidInput(f"working_directory: {exc}") from None


def check_environment(spec: FlowSpec, home: Path) -> None:
    """Everything a run needs from outside the file (profile, provider, script, folder); nothing is stored
    when this fails."""
    from cao.profiles import load_profile  # pydantic models: only the server needs them
    from cao.providers import DEFAULT_PROVIDER, get_provider

    try:
        profile = load_profile(spec.agent_profile, home)
    except CaoError as exc:
        raise InvalidInput(f"agent_profile: {exc}") from None
    try:
        get_provider(spec.provider or profile.provider or DEFAULT_PROVIDER)
    except CaoError as exc:
        raise InvalidInput(f"provider: {exc}") from None
    check_script(spec)
    check_working_directory(spec)
