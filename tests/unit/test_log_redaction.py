"""cao-server's log filter: secrets in messages, their arguments and tracebacks are masked."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from cao.server import log_redaction

TOKEN = "ghp_" + "a1B2c3D4e5F6g7H8i9J0" * 2  # a GitHub token's shape


@pytest.fixture
def logged() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    log_redaction.install()
    log_redaction.install()  # twice: still one filter
    assert sum(isinstance(f, log_redaction.RedactSecrets) for f in handler.filters) == 1
    yield logging.getLogger("cao.test"), out
    root.removeHandler(handler)


def test_a_secret_in_the_message_or_its_arguments_is_masked(logged: tuple[logging.Logger, io.StringIO]) -> None:
    log, out = logged
    log.warning(f"hook said {TOKEN}")
    log.warning("hook %s said %s", "check", f"Authorization: Bearer {TOKEN}")
    log.warning("%d hooks ran", 3)  # nothing secret: left as it is
    text = out.getvalue()
    assert TOKEN not in text
    assert text.splitlines() == ["WARNING hook said [secret:github-token]",
                                 "WARNING hook check said Authorization: Bearer [secret:github-token]",
                                 "WARNING 3 hooks ran"]


def test_a_secret_in_a_traceback_is_masked(logged: tuple[logging.Logger, io.StringIO]) -> None:
    log, out = logged
    try:
        raise RuntimeError(f"cannot reach https://deploy:{TOKEN}@git.example.com/repo")
    except RuntimeError:
        log.exception("push failed")
    text = out.getvalue()
    assert TOKEN not in text and "RuntimeError: cannot reach https://deploy:[secret:" in text
