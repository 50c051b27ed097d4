from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import pytest

from cao import validation
from cao.errors import InvalidInput


class Case(NamedTuple):
    test_id: str
    func: str
    value: object
    ok: bool


CASES = [
    Case("id-ok", "terminal_id", "0a1b2c3d", True),
    Case("id-upper", "terminal_id", "0A1B2C3D", False),
    Case("id-short", "terminal_id", "abc", False),
    Case("name-ok", "name", "code_supervisor-2", True),
    Case("name-leading-dash", "name", "-x", False),
    Case("name-slash", "name", "../etc", False),
    Case("name-too-long", "name", "a" * 65, False),
    Case("name-space", "name", "a b", False),
    Case("key-enter", "key", "Enter", True),
    Case("key-ctrl", "key", "C-c", True),
    Case("key-injection", "key", "Enter; kill-server", False),
    Case("env-ok", "env_pair", "FOO_1=bar=baz", True),
    Case("env-no-equals", "env_pair", "FOO", False),
    Case("env-bad-key", "env_pair", "1FOO=x", False),
    Case("env-reserved", "env_pair", "CAO_TERMINAL_ID=deadbeef", False),
    Case("env-too-long", "env_pair", "X=" + "a" * 4096, False),
    Case("message-empty", "message", "", False),
    Case("message-nul", "message", "a\x00b", False),
]


@pytest.mark.parametrize("case", CASES, ids=[c.test_id for c in CASES])
def test_validation(case: Case) -> None:
    func = getattr(validation, case.func)
    if case.ok:
        func(case.value)
    else:
        with pytest.raises(InvalidInput):
            func(case.value)


def test_env_pair_splits_on_first_equals() -> None:
    assert validation.env_pair("A=b=c") == ("A", "b=c")


def test_session_name_gets_prefix_once() -> None:
    assert validation.session_name("team") == "cao-team"
    assert validation.session_name("cao-team") == "cao-team"
    with pytest.raises(InvalidInput):
        validation.session_name("bad name")


def test_session_name_limit_is_on_what_the_user_types() -> None:
    assert validation.session_name("a" * 64) == "cao-" + "a" * 64
    assert validation.session_name("cao-" + "a" * 64) == "cao-" + "a" * 64
    with pytest.raises(InvalidInput, match="at most 64 characters, this has 65"):
        validation.session_name("a" * 65)


def test_session_name_errors_quote_what_the_user_typed() -> None:
    with pytest.raises(InvalidInput) as typed:
        validation.session_name("bad/name")
    assert str(typed.value).startswith("invalid session name 'bad/name': ")
    assert "cao-bad" not in str(typed.value)
    with pytest.raises(InvalidInput, match="give a name"):
        validation.session_name("cao-")


def test_long_input_is_shortened_in_messages() -> None:
    for func in (validation.session_name, validation.name, validation.terminal_id):
        with pytest.raises(InvalidInput) as long_input:
            func("x/" * 150)
        message = str(long_input.value)
        assert "(300 characters)" in message and len(message) < 200, message


def test_working_directory_rules(tmp_path: Path) -> None:
    assert validation.working_directory(str(tmp_path)) == tmp_path.resolve()
    for bad, words in [(tmp_path / "missing", "does not exist"), ("relative/path", "absolute"), ("/etc", "system")]:
        with pytest.raises(InvalidInput, match=words):
            validation.working_directory(str(bad))
    file = tmp_path / "f.txt"
    file.write_text("x")
    with pytest.raises(InvalidInput, match="not a directory"):
        validation.working_directory(str(file))


def test_typeable_neutralises_control_characters() -> None:
    text = "quote \" ' $HOME\nnext\tcol \x1b[201~ \x1b[2J\r\nend\x00\x7f"
    safe = validation.typeable(text)
    assert "\x1b" not in safe and "\x00" not in safe and "\r" not in safe and "\x7f" not in safe
    assert safe == "quote \" ' $HOME\nnext\tcol ␛[201~ ␛[2J\nend␀␡"
