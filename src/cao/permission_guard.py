"""``python -m cao.permission_guard deny|allow RULES``: a team's shell rules as a CLI's hooks.

For a CLI whose own rules cao cannot write per terminal (Codex CLI loads its ``.rules`` files only from
``$CODEX_HOME`` and the repository), cao installs this guard in the CLI's hook system. ``RULES`` is a
JSON list of cao's shell rules (``{"command": "rm", "prefix": true}``, from cao/teams/permissions.py).
The CLI runs it with the call's JSON on stdin; a line is read as its simple commands (split at ``;``,
``&&``, ``||``, ``|``, ``&``, parentheses and backquotes, leading ``VAR=value`` words skipped).

* ``deny``, a ``pre_tool_use`` hook: when any simple command is a denied one it exits 2, which stops the
  call, and tells the model why on stderr. A line it cannot split (an unclosed quote) is stopped too.
* ``allow``, Codex's ``PermissionRequest`` hook (before the CLI asks the person): when every simple
  command is an allowed one it answers allow on stdout; otherwise it says nothing and the person is asked.

Like the CLIs' own rules it reads the line as written: ``sh -c 'rm x'``, ``xargs rm`` or
``find . -delete`` are not seen as ``rm``.
"""

from __future__ import annotations

import json
import re
import shlex
import sys
from collections.abc import Iterator, Sequence
from typing import Any

BLOCK = 2  # the exit status that stops the call
OPERATORS = re.compile(r"^[;&|()]+$")  # shlex's punctuation tokens: ; & && | || ( )
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
MODES = ("deny", "allow")
ALLOW = {"hookSpecificOutput": {"hookEventName": "PermissionRequest", "decision": {"behavior": "allow"}}}


def tool_hook(mode: str, rules: Sequence[dict[str, Any]], matcher: str) -> dict[str, Any]:
    """This guard as a member's tool hook (``deny``: pre-tool; ``allow``: permission request) on ``matcher``."""
    wanted = [{"command": r["command"], "prefix": bool(r["prefix"])} for r in rules]
    return {"command": shlex.quote(sys.executable), "args": ["-m", "cao.permission_guard", mode, json.dumps(wanted)],
            "matcher": matcher, "timeout": 10.0, "env": {}}


def simple_commands(line: str) -> Iterator[list[str]]:
    """The words of each simple command of a shell line (ValueError: it cannot be split)."""
    # A backquoted command is a command of its own, as ``$(…)`` is (its parentheses split it already).
    lexer = shlex.shlex(line.replace("`", " ; "), posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    words: list[str] = []
    for token in lexer:
        if OPERATORS.match(token):
            if words:
                yield words
            words = []
        elif words or not ASSIGNMENT.match(token):
            words.append(token)
    if words:
        yield words


def matches(words: Sequence[str], rule: dict[str, Any]) -> bool:
    wanted = rule["command"].split()
    return list(words[:len(wanted)]) == wanted and (rule["prefix"] or len(words) == len(wanted))


def command_of(event: dict[str, Any]) -> str | None:
    tool_input = event.get("tool_input")
    command = tool_input.get("command", tool_input.get("cmd")) if isinstance(tool_input, dict) else None
    if isinstance(command, list) and all(isinstance(word, str) for word in command):
        return shlex.join(command)
    return command if isinstance(command, str) else None


def commands_of(event: dict[str, Any]) -> list[list[str]]:
    """The simple commands of the call's shell line, none for a call without one (ValueError: unsplittable)."""
    line = command_of(event)
    return list(simple_commands(line)) if line is not None else []


def verdict(event: dict[str, Any], rules: Sequence[dict[str, Any]]) -> str | None:
    """Why the call must stop (a simple command is denied), or None to let it run."""
    try:
        commands = commands_of(event)
    except ValueError:
        return "cao stopped this command: it cannot be read as shell words (an unclosed quote?); write it plainly"
    for words in commands:
        for rule in rules:
            if matches(words, rule):
                shown = rule["command"] + (" …" if rule["prefix"] else "")
                return (f"cao stopped this command: this agent's team permissions deny `{shown}`. "
                        "Do not try it another way; do the task without it or say that you cannot.")
    return None


def allowed(event: dict[str, Any], rules: Sequence[dict[str, Any]]) -> bool:
    """Whether every simple command of the call's line is an allowed one (so nobody needs to be asked)."""
    try:
        commands = commands_of(event)
    except ValueError:
        return False
    return bool(commands) and all(any(matches(words, rule) for rule in rules) for words in commands)


def main(argv: Sequence[str]) -> int:
    try:
        mode, rules = argv[0], json.loads(argv[1])
        event = json.load(sys.stdin)
    except (IndexError, ValueError, UnicodeDecodeError):
        print("cao permission guard: its rules or the hook input are not JSON; the call was stopped", file=sys.stderr)
        return BLOCK
    if mode not in MODES:
        print(f"cao permission guard: unknown mode {mode!r} (deny or allow); the call was stopped", file=sys.stderr)
        return BLOCK
    event = event if isinstance(event, dict) else {}
    if mode == "allow":
        if allowed(event, rules):
            print(json.dumps(ALLOW))
        return 0
    reason = verdict(event, rules)
    if reason is None:
        return 0
    print(reason, file=sys.stderr)
    return BLOCK


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
