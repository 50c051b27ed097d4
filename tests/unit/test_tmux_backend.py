from __future__ import annotations

import pytest

from cao.errors import TmuxError
from cao.tmux import TmuxBackend, parse_version


@pytest.mark.parametrize(("text", "version"), [("tmux 3.3a", (3, 3)), ("tmux 3.2", (3, 2)),
                                               ("tmux next-3.6", (3, 6)), ("tmux 2.9a", (2, 9))])
def test_parse_version(text: str, version: tuple[int, int]) -> None:
    assert parse_version(text) == version


def test_missing_tmux_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(TmuxError, match="tmux is not installed; install it"):
        TmuxBackend("cao_test_missing").check()


def test_old_tmux_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    fake = tmp_path / "tmux"
    fake.write_text("#!/bin/sh\necho 'tmux 2.8'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(TmuxError, match=r"tmux 2.8 is too old; cao needs tmux 3.2 or newer"):
        TmuxBackend("cao_test_old").check()
