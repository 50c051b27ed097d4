"""Scopes and keys: which memories a terminal sees, and the rules for what may be stored.

A terminal's scopes: ``session`` (its session's name), ``project`` (the git remote of its working
directory, normalised and without credentials, else the repository's top folder, else the working
directory itself), ``agent`` (its profile's name) and ``global``.
"""

from __future__ import annotations

import contextlib
import re
import time
from dataclasses import dataclass
from pathlib import Path

from cao import validation
from cao.errors import InvalidInput
from cao.services.memory.config import SCOPES

KEY = re.compile(r"^[a-z0-9][a-z0-9-]{0,59}$")
MAX_CONTENT_BYTES = 16 * 1024
MAX_QUERY_CHARS = 1000
MAX_LIMIT = 100
PROJECT_CACHE_S = 60.0
_projects: dict[str, tuple[float, str]] = {}  # working directory → (when resolved, project id)


def key(value: str) -> str:
    if not isinstance(value, str) or not KEY.fullmatch(value):
        raise InvalidInput(f"invalid memory key {validation.shown(value)}: use 1-60 lowercase letters, digits "
                           "and '-', starting with a letter or digit (e.g. build-commands)")
    return value


def scope(value: str) -> str:
    if value not in SCOPES:
        raise InvalidInput(f"invalid memory scope {validation.shown(value)}: use one of {', '.join(SCOPES)}")
    return value


def content(value: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("memory content is empty: give the text to remember")
    if "\x00" in value:
        raise InvalidInput("memory content contains a NUL byte")
    size = len(value.encode())
    if size > MAX_CONTENT_BYTES:
        raise InvalidInput(f"memory content is too long ({size} bytes; limit {MAX_CONTENT_BYTES // 1024} KiB): "
                           "store the essentials, or split it under several keys")
    return value.strip()


def limit(value: int | None, default: int = 10) -> int:
    value = default if value is None else value
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_LIMIT:
        raise InvalidInput(f"invalid limit {value!r:.40}: give a whole number from 1 to {MAX_LIMIT}")
    return value


def query(value: str | None) -> str:
    value = value or ""
    if len(value) > MAX_QUERY_CHARS:
        raise InvalidInput(f"query is too long ({len(value)} characters; limit {MAX_QUERY_CHARS})")
    return value


def slug(text: str) -> str:
    """A key made from the first words of ``text`` (as the public CAO does when no key is given)."""
    words = re.findall(r"[a-z0-9]+", text.lower())[:6]
    made = "-".join(words)[:60].strip("-")
    return made or "memory"


@dataclass(frozen=True)
class TerminalScopes:
    """The scope ids one terminal reads and writes, nearest scope first."""

    session: str
    project: str
    agent: str

    def id_of(self, scope_name: str) -> str:
        return {"session": self.session, "project": self.project, "agent": self.agent, "global": ""}[scope_name]

    def pairs(self, only: str | None = None) -> list[tuple[str, str]]:
        return [(s, self.id_of(s)) for s in SCOPES if only is None or s == only]


def project_id(working_directory: str | Path) -> str:
    """The project a working directory belongs to (cached for a minute: a remote rarely changes).

    Read from the repository's own ``config`` file (no ``git`` process: terminal start stays fast);
    worktrees and submodules (a ``.git`` file naming the git directory) are followed.
    """
    path = str(working_directory)
    now = time.monotonic()
    cached = _projects.get(path)
    if cached is not None and now - cached[0] < PROJECT_CACHE_S:
        return cached[1]
    project = path
    with contextlib.suppress(OSError, UnicodeError):
        found = _repository(Path(path))
        if found is not None:
            top, git_dir = found
            remote = _origin_url(git_dir / "config")
            project = normalise_remote(remote) if remote else str(top)
    _projects[path] = (now, project)
    return project


def _repository(start: Path) -> tuple[Path, Path] | None:
    """(the repository's top folder, its git directory holding ``config``) for ``start``, or None."""
    for folder in (start, *start.parents):
        dot = folder / ".git"
        if dot.is_dir():
            return folder, dot
        if dot.is_file():
            text = dot.read_text(errors="replace").strip()
            if not text.startswith("gitdir:"):
                return None
            git_dir = folder / text.removeprefix("gitdir:").strip()
            common = git_dir / "commondir"  # a worktree's config is the main repository's
            if common.is_file():
                git_dir = git_dir / common.read_text().strip()
            return folder, git_dir.resolve()
    return None


_SECTION = re.compile(r'^\s*\[\s*([^\]\s"]+)(?:\s+"((?:[^"\\]|\\.)*)")?\s*\]')


def _origin_url(config: Path) -> str | None:
    section: tuple[str, ...] | None = None
    for line in config.read_text(errors="replace").splitlines():
        header = _SECTION.match(line)
        if header:
            name, sub = header.group(1).lower(), header.group(2)
            section = (name, sub) if sub is not None else tuple(name.split(".", 1))  # [remote.origin], old style
            line = line[header.end():]
        option, sep, value = line.partition("=")
        if sep and section == ("remote", "origin") and option.strip().lower() == "url":
            value = re.split(r"\s[#;]", value, maxsplit=1)[0].strip().strip('"')
            return value or None
    return None


def normalise_remote(url: str) -> str:
    """``git@github.com:org/repo.git``, ``https://user:tok@github.com/org/repo/`` → ``github.com/org/repo``."""
    url = url.strip()
    scp = re.fullmatch(r"(?:[^@/\s]+@)?([^:/\s]+):(?!//)(.+)", url)
    if scp and "://" not in url:
        host, rest = scp.groups()
    else:
        rest = re.sub(r"^[A-Za-z][A-Za-z0-9+.-]*://", "", url)
        rest = rest.rsplit("@", 1)[-1] if "@" in rest.split("/", 1)[0] else rest  # drop user:password@
        host, _, rest = rest.partition("/")
        host = re.sub(r":\d+$", "", host)
    rest = rest.strip("/").removesuffix(".git").strip("/")
    return f"{host.lower()}/{rest}" if rest else host.lower()
