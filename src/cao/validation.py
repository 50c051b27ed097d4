"""Validation of everything that crosses an edge: ids, names, paths, env pairs, keys."""

from __future__ import annotations

import os
import re
from pathlib import Path

from cao.errors import InvalidInput

TERMINAL_ID = re.compile(r"^[a-f0-9]{8}$")
NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$")
SESSION_PREFIX = "cao-"  # added to what the user types; the 64-character limit is on what they type
MAX_SHOWN = 40  # longer input is shortened when an error message quotes it
ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_ENV_VALUE = 2048
MAX_ENV_PAIRS = 64
MAX_MESSAGE_BYTES = 1024 * 1024
KEY = re.compile(r"^(Up|Down|Left|Right|Enter|Tab|BTab|Escape|Space|BSpace|PageUp|PageDown|Home|End|"
                 r"[A-Za-z0-9]|[CMS]-[A-Za-z0-9])$")
# Keys a user must not override: they define who the agent is and where it runs.
RESERVED_ENV = {"CAO_TERMINAL_ID", "TMUX", "TMUX_PANE"}
FORBIDDEN_DIRS = {"/", "/bin", "/sbin", "/usr/bin", "/usr/sbin", "/etc", "/var", "/dev", "/proc",
                  "/sys", "/boot", "/lib", "/lib64"}


def shown(value: object) -> str:
    """Quote user input for an error message, shortened when long (a message must stay one line)."""
    text = str(value)
    if len(text) <= MAX_SHOWN:
        return repr(text)
    return f"{text[:MAX_SHOWN]!r}… ({len(text)} characters)"


def terminal_id(value: str) -> str:
    if not TERMINAL_ID.fullmatch(value or ""):
        raise InvalidInput(f"invalid terminal id {shown(value)}: expected 8 lowercase hex characters")
    return value


def name(value: str, what: str = "name") -> str:
    if not NAME.fullmatch(value or ""):
        raise InvalidInput(
            f"invalid {what} {shown(value)}: use 1-64 letters, digits, '_' or '-' (not starting with '-')"
        )
    return value


def session_name(value: str) -> str:
    """Normalise a session name to its tmux form ``cao-<name>`` and validate it.

    The user may type the name with or without ``cao-``; the rules (and the 64-character limit)
    apply to the part after it, and an error quotes exactly what the user typed.
    """
    typed = value or ""
    bare = typed.removeprefix(SESSION_PREFIX)
    if not bare:
        raise InvalidInput(f"invalid session name {shown(typed)}: give a name (cao adds the 'cao-' prefix itself)")
    if not NAME.fullmatch(bare):
        too_long = len(bare) > 64 and NAME.fullmatch(bare[:64])
        rule = (f"at most 64 characters, this has {len(bare)}" if too_long
                else "use 1-64 letters, digits, '_' or '-' (not starting with '-')")
        raise InvalidInput(f"invalid session name {shown(typed)}: {rule}")
    return SESSION_PREFIX + bare


def env_pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep:
        raise InvalidInput(f"invalid --env {text!r}: expected KEY=VALUE")
    return env_item(key, value)


def env_item(key: str, value: str) -> tuple[str, str]:
    if not ENV_KEY.fullmatch(key) or not key.isascii():
        raise InvalidInput(f"invalid environment variable name {key!r}: use letters, digits and '_'")
    if key in RESERVED_ENV:
        raise InvalidInput(f"environment variable {key} is set by cao and cannot be overridden")
    if len(value.encode()) >= MAX_ENV_VALUE:
        raise InvalidInput(f"environment variable {key} is too long (limit {MAX_ENV_VALUE} bytes)")
    if "\x00" in value:
        raise InvalidInput(f"environment variable {key} contains a NUL byte")
    return key, value


def env_vars(pairs: dict[str, str] | None) -> dict[str, str]:
    pairs = pairs or {}
    if len(pairs) > MAX_ENV_PAIRS:
        raise InvalidInput(f"too many environment variables ({len(pairs)}; limit {MAX_ENV_PAIRS})")
    return dict(env_item(k, v) for k, v in pairs.items())


def working_directory(value: str | os.PathLike[str] | None) -> Path:
    raw = os.fspath(value) if value is not None else os.getcwd()
    if "\x00" in raw:
        raise InvalidInput("invalid working directory: contains a NUL byte")
    path = Path(raw).expanduser()
    if not path.is_absolute():
        raise InvalidInput(f"invalid working directory {raw!r}: give an absolute path")
    resolved = path.resolve()
    if not resolved.exists():
        raise InvalidInput(f"working directory {raw!r} does not exist")
    if not resolved.is_dir():
        raise InvalidInput(f"working directory {raw!r} is not a directory")
    if str(resolved) in FORBIDDEN_DIRS:
        raise InvalidInput(f"working directory {str(resolved)!r} is a system directory; use a project folder")
    return resolved


def key(value: str) -> str:
    if not KEY.fullmatch(value or ""):
        raise InvalidInput(
            f"invalid key {value!r}: use a tmux key name such as Enter, Escape, Up, C-c or a single character"
        )
    return value


def message(value: str) -> str:
    if not value:
        raise InvalidInput("message is empty")
    if len(value.encode()) > MAX_MESSAGE_BYTES:
        raise InvalidInput(f"message is too long (limit {MAX_MESSAGE_BYTES // 1024} KiB)")
    if "\x00" in value:
        raise InvalidInput("message contains a NUL byte")
    return value


_CONTROL = {c: 0x2400 + c for c in range(0x20) if chr(c) not in "\t\n"}
_CONTROL.update({0x7F: 0x2421, **{c: 0xFFFD for c in range(0x80, 0xA0)}})


def typeable(text: str) -> str:
    """Make text safe to type into an agent: control characters become visible symbols.

    An escape sequence in a message must not drive the agent's terminal, and above all must not
    end a bracketed paste early (``ESC [201~``) and turn the rest of the message into keystrokes.
    Carriage returns become newlines; tabs and newlines are kept.
    """
    return text.replace("\r\n", "\n").replace("\r", "\n").translate(_CONTROL)
