"""Flow files: every field parsed and validated; each error names the field and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from cao.errors import InvalidInput
from cao.services.flows import spec as flow_spec
from cao.services.flows.spec import FlowSpec, check_script, parse_text

UPSTREAM = """---
name: morning-review
schedule: "30 7 * * *"
agent_profile: reviewer
provider: claude_code
script: ./check.sh
---
Review [[commits]] new commits.
"""


def parse(text: str, base: Path = Path("/flows")) -> FlowSpec:
    return parse_text(text, "f.flow.md", base)


def flow(extra: str = "", body: str = "Do the thing.") -> str:
    return f"---\nname: f\nschedule: '0 9 * * 1-5'\nagent_profile: developer\n{extra}---\n{body}\n"


def test_the_public_cao_format_parses() -> None:
    spec = parse(UPSTREAM, Path("/srv/flows"))
    assert (spec.name, spec.schedule, spec.agent_profile, spec.provider) == (
        "morning-review", "30 7 * * *", "reviewer", "claude_code")
    assert spec.script == "/srv/flows/check.sh"  # relative to the flow file's folder
    assert spec.prompt_template == "Review [[commits]] new commits."
    assert spec.working_directory == "/srv/flows"


def test_defaults() -> None:
    spec = parse(flow())
    assert (spec.provider, spec.timezone, spec.when_busy, spec.yolo, spec.env) == (None, None, "skip", False, {})
    assert (spec.timeout, spec.script_timeout, spec.catch_up, spec.keep_runs) == (1800, 30, 0, 100)


def test_cao_fields() -> None:
    spec = parse(flow("timezone: Europe/Berlin\ntimeout: 2h\nscript_timeout: 90s\nworking_directory: ../proj\n"
                      "yolo: true\nenv: {GREETING: hi, N: 3}\nwhen_busy: replace\ncatch_up: 6h\nkeep_runs: 5\n"))
    assert spec.timezone == "Europe/Berlin" and spec.timeout == 7200 and spec.script_timeout == 90
    assert spec.working_directory == "/proj" and spec.yolo is True and spec.env == {"GREETING": "hi", "N": "3"}
    assert (spec.when_busy, spec.catch_up, spec.keep_runs) == ("replace", 6 * 3600, 5)
    assert parse(flow("catch_up: true\n")).catch_up == flow_spec.DEFAULT_CATCH_UP_S
    assert parse(flow("prestart: 45s\n")).prestart == 45 and parse(flow("prestart: 0\n")).prestart == 0
    assert parse(flow("")).prestart == flow_spec.DEFAULT_PRESTART_S == 30  # by default the agent waits ready
    assert parse(flow("prestart: false\n")).prestart == 0


def test_round_trip_through_json() -> None:
    spec = parse(flow("env: {A: b}\ncatch_up: true\n"))
    assert FlowSpec.from_json(spec.to_json()) == spec


@pytest.mark.parametrize(("extra", "body", "needle"), [
    ("", "", "the prompt is empty"),
    ("timezone: Mars/Olympus\n", "x", "timezone: unknown time zone 'Mars/Olympus'"),
    ("timeout: soon\n", "x", "timeout: 'soon' is not a duration"),
    ("timeout: 0\n", "x", "timeout: must be longer than 0"),
    ("when_busy: queue\n", "x", "when_busy: 'queue' is not one of: skip, replace"),
    ("catch_up: maybe\n", "x", "catch_up"),
    ("keep_runs: 0\n", "x", "keep_runs: expected a whole number"),
    ("prestart: soon\n", "x", "prestart (a duration"),
    ("yolo: yes please\n", "x", "yolo: expected true or false"),
    ("env: {1BAD: x}\n", "x", "env: invalid environment variable name '1BAD'"),
    ("env: [a]\n", "x", "env: expected a mapping"),
    ("engine: kas\n", "x", "engine: 'kas' is not supported"),
    ("colour: blue\n", "x", "unknown field(s) 'colour'"),
    ("", "Hello [[who]]", "uses [[who]] but the flow has no script"),
])
def test_bad_fields_are_named(extra: str, body: str, needle: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse(flow(extra, body))
    assert needle in str(err.value) and str(err.value).startswith("f.flow.md: ")


@pytest.mark.parametrize("field", ["name", "schedule", "agent_profile"])
def test_required_fields(field: str) -> None:
    lines = [line for line in flow().splitlines() if not line.startswith(field + ":")]
    with pytest.raises(InvalidInput, match=f"field '{field}' is required"):
        parse("\n".join(lines))


@pytest.mark.parametrize("name", ["../etc", "a/b", "has space", "x" * 60, ""])
def test_bad_names(name: str) -> None:
    with pytest.raises(InvalidInput, match="name"):
        parse(flow().replace("name: f", f"name: '{name}'"))


def test_bad_schedule_names_the_field() -> None:
    with pytest.raises(InvalidInput, match=r"field 'hour' \('25'\) is not valid"):
        parse(flow().replace("0 9 * * 1-5", "0 25 * * *"))


def test_no_frontmatter() -> None:
    with pytest.raises(InvalidInput, match="missing YAML frontmatter"):
        parse("just a prompt")


def test_script_must_exist_and_be_executable(tmp_path: Path) -> None:
    spec = parse(flow("script: gate.sh\n"), tmp_path)
    with pytest.raises(InvalidInput, match="does not exist"):
        check_script(spec)
    (tmp_path / "gate.sh").write_text("#!/bin/sh\necho '{}'\n")
    with pytest.raises(InvalidInput, match="is not executable; make it so with: chmod \\+x"):
        check_script(spec)
    (tmp_path / "gate.sh").chmod(0o755)
    check_script(spec)
