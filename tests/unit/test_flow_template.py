"""The prompt template and the gating script's output contract."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from cao.errors import InvalidInput
from cao.services.flows.gate import GateError, parse_output, run_gate
from cao.services.flows.template import placeholders, render


def test_render_fills_placeholders() -> None:
    assert render("[[n]] commits by [[who]]: [[list]]", {"n": 3, "who": "ann", "list": ["a", "b"]}) == (
        '3 commits by ann: ["a", "b"]')
    assert render("no placeholders, [not] [[ one ]]", {}) == "no placeholders, [not] [[ one ]]"
    assert placeholders("[[a]] [[b]] [[a]]") == ["a", "b"]


def test_a_missing_placeholder_is_named_with_the_keys_there_are() -> None:
    with pytest.raises(InvalidInput) as err:
        render("Look at [[branch]] and [[sha]]", {"branch": "main", "count": 1})
    assert "[[sha]]" in str(err.value) and "it has: branch, count" in str(err.value)


def test_values_are_not_rendered_again() -> None:
    assert render("[[a]]", {"a": "[[b]]", "b": "x"}) == "[[b]]"


@pytest.mark.parametrize(("stdout", "needle"), [
    (b"not json", "not JSON"),
    (b"[1]", "wrong shape"),
    (b'{"execute": true}', "wrong shape"),
    (b'{"execute": "yes", "output": {}}', '"execute" must be true or false'),
    (b'{"execute": true, "output": [1]}', '"output" must be a JSON object'),
])
def test_output_contract(stdout: bytes, needle: str) -> None:
    with pytest.raises(GateError, match=needle):
        parse_output(stdout, "gate.sh")


def test_good_output() -> None:
    result = parse_output(b'{"execute": false, "output": {"a": 1}}', "gate.sh")
    assert (result.execute, result.output) == (False, {"a": 1})


def script(tmp_path: Path, body: str) -> str:
    path = tmp_path / "gate.sh"
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return str(path)


def test_script_runs_directly_with_env_and_cwd(tmp_path: Path) -> None:
    gate = script(tmp_path, 'printf \'{"execute": true, "output": {"cwd": "%s", "v": "%s"}}\' "$PWD" "$FLOW_V"\n')
    result = asyncio.run(run_gate(gate, cwd=str(tmp_path), env={"FLOW_V": "$(rm -rf /)"}, timeout=10))
    assert result.output == {"cwd": str(tmp_path), "v": "$(rm -rf /)"}


def test_no_script_means_execute() -> None:
    assert asyncio.run(run_gate(None, cwd=None, env={}, timeout=1)).execute is True


def test_script_failure_and_timeout(tmp_path: Path) -> None:
    with pytest.raises(GateError, match="exited with code 3: broken"):
        asyncio.run(run_gate(script(tmp_path, "echo broken >&2; exit 3\n"), cwd=None, env={}, timeout=10))
    with pytest.raises(GateError, match=r"did not finish within 0\.5s"):
        asyncio.run(run_gate(script(tmp_path, "sleep 30\n"), cwd=None, env={}, timeout=0.5))
