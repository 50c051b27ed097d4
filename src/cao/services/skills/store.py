"""The skill store, ``CAO_HOME/skills/<name>/SKILL.md``: read, validate, add and remove skills.

A skill is a folder: ``SKILL.md`` (YAML frontmatter with ``name`` equal to the folder's name and a
``description``, then a Markdown body) and any files it refers to. Adding copies the folder into a
temporary folder inside the store, validates the copy, then renames it into place: a failure leaves
the store as it was, and ``--force`` replaces a skill only once its successor is complete.
"""

from __future__ import annotations

import contextlib
import fnmatch
import functools
import os
import secrets
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from cao import validation
from cao.errors import CaoError, Conflict, InvalidInput, NotFound
from cao.profile_files import split

SKILL_FILE = "SKILL.md"
MAX_FILE_BYTES = 256 * 1024  # one file; SKILL.md is read whole into an agent's context
MAX_TOTAL_BYTES = 4 * 1024 * 1024
MAX_FILES = 200
MAX_DESCRIPTION = 1024  # the Agent Skills format's limit, kept by Claude Code too
TEMP_PREFIX = "."  # a name cannot start with '.', so temporary folders never look like skills


def skills_dir(home: Path) -> Path:
    return Path(home) / "skills"


@dataclass
class Skill:
    name: str
    description: str
    path: Path  # the skill's folder
    body: str = ""
    content: str = ""  # SKILL.md as written
    files: list[str] = field(default_factory=list)  # every other file, relative to the folder
    error: str | None = None  # set when the folder in the store is not a valid skill

    @property
    def valid(self) -> bool:
        return self.error is None


def check_name(name: str) -> str:
    return validation.name(name, "skill name")


def parse(text: str, *, folder_name: str, source: str) -> tuple[str, str]:
    """``(description, body)`` of a SKILL.md whose folder is ``folder_name``; errors name the fix."""
    return _parse(text, folder_name, source)


@functools.lru_cache(maxsize=1024)
def _parse(text: str, folder_name: str, source: str) -> tuple[str, str]:
    """Cached on the text itself: each terminal's start reads every allowed skill, YAML costs ~0.5 ms."""
    try:
        data, body = split(text, source)
    except InvalidInput as exc:
        raise InvalidInput(str(exc)) from None
    name = data.get("name")
    if name is None or (isinstance(name, str) and not name.strip()):
        raise InvalidInput(f"{source}: field 'name' is required; set it to the folder's name: name: {folder_name}")
    if not isinstance(name, str):
        raise InvalidInput(f"{source}: field 'name' must be a string")
    if name != folder_name:
        raise InvalidInput(f"{source}: field 'name' is {validation.shown(name)} but the folder is "
                           f"{validation.shown(folder_name)}; rename one so they agree")
    check_name(name)
    description = data.get("description")
    if not isinstance(description, str) or not description.strip():
        raise InvalidInput(f"{source}: field 'description' is required: one or two sentences saying what the "
                           "skill is for and when to load it")
    description = " ".join(description.split())
    if len(description) > MAX_DESCRIPTION:
        raise InvalidInput(f"{source}: field 'description' has {len(description)} characters (limit "
                           f"{MAX_DESCRIPTION}); move the detail into the body")
    if not body.strip():
        raise InvalidInput(f"{source}: the body is empty; write the skill's instructions below the frontmatter")
    return description, body


def _walk(folder: Path) -> list[str]:
    """Every file under ``folder`` (relative, sorted), refusing links, special files and excess.

    os.scandir with plain strings: each terminal's start walks every allowed skill (pathlib costs 4x)."""
    found: list[str] = []
    total = 0
    pending = [("", os.fspath(folder))]
    while pending:
        prefix, directory = pending.pop()
        with os.scandir(directory) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                rel = prefix + entry.name
                if entry.is_symlink():
                    raise InvalidInput(f"{entry.path} is a symbolic link (to {os.readlink(entry.path)}); skills are "
                                       "copied as plain files, so replace the link with the file it points to")
                if entry.is_dir(follow_symlinks=False):
                    pending.append((rel + "/", entry.path))
                    continue
                if not entry.is_file(follow_symlinks=False):
                    raise InvalidInput(f"{entry.path} is not a regular file; remove it from the skill folder")
                size = entry.stat(follow_symlinks=False).st_size
                if size > MAX_FILE_BYTES:
                    raise InvalidInput(f"{entry.path} is {size // 1024} KiB, over the {MAX_FILE_BYTES // 1024} KiB "
                                       "limit for a file in a skill; split it or leave it out")
                total += size
                found.append(rel)
                if len(found) > MAX_FILES or total > MAX_TOTAL_BYTES:
                    limit = f"{MAX_FILES} files or {MAX_TOTAL_BYTES // (1024 * 1024)} MiB"
                    raise InvalidInput(f"{folder} holds more than {limit}; a skill is instructions, not a project")
    return sorted(found)


def read_folder(folder: Path, name: str | None = None) -> Skill:
    """The skill in ``folder``, fully validated; its name is the folder's (or ``name``, for a staged copy)."""
    name = name or folder.name
    files = _walk(folder)
    if SKILL_FILE not in files:
        raise InvalidInput(f"{folder} has no {SKILL_FILE}; a skill folder holds {SKILL_FILE} with frontmatter "
                           "'name' and 'description' and the instructions below it")
    source = os.path.join(folder, SKILL_FILE)
    try:
        with open(source, "rb") as handle:
            text = handle.read().decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"{source}: not UTF-8 text") from None
    description, body = parse(text, folder_name=name, source=source)
    return Skill(name, description, folder, body, text, [f for f in files if f != SKILL_FILE])


def list_skills(home: Path) -> list[Skill]:
    """Every skill folder in the store, sorted by name; broken ones carry their ``error``."""
    store = skills_dir(home)
    if not store.is_dir():
        return []
    out = []
    for entry in sorted(store.iterdir()):
        if entry.name.startswith(TEMP_PREFIX) or not entry.is_dir() or entry.is_symlink():
            continue
        try:
            check_name(entry.name)
            out.append(read_folder(entry))
        except (CaoError, OSError) as exc:
            out.append(Skill(entry.name, "", entry, error=str(exc)))
    return out


def get_skill(home: Path, name: str) -> Skill:
    check_name(name)
    folder = skills_dir(home) / name
    if not folder.is_dir() or folder.is_symlink():
        have = [s.name for s in list_skills(home) if s.valid]
        raise NotFound(f"no skill {name!r}; installed skills: {', '.join(have) or 'none'} "
                       "(add one with: cao skills add FOLDER)")
    return read_folder(folder)


def allowed(patterns: Iterable[str] | None, name: str) -> bool:
    """A profile's ``skills:`` patterns (fnmatch, case-sensitive): None = every skill, [] = none."""
    return patterns is None or any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def _copy(source: Path, files: list[str], target: Path) -> None:
    for rel in files:
        dest = target / rel
        dest.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out, open(source / rel, "rb") as src:
            out.write(src.read(MAX_FILE_BYTES + 1))


def staging_path(store: Path, kind: str, name: str) -> Path:
    """A name in the store no skill can have (it starts with a dot): for staged, replaced and removed folders."""
    return store / f"{TEMP_PREFIX}{kind}-{name}-{secrets.token_hex(4)}"


def add_skill(home: Path, folder: str | os.PathLike[str], *, force: bool = False) -> Skill:
    """Copy the skill in ``folder`` into the store; ``force`` replaces one of the same name."""
    raw = os.fspath(folder)
    if "\x00" in raw:
        raise InvalidInput("invalid skill folder: contains a NUL byte")
    source = Path(raw).expanduser().resolve()
    if not source.exists():
        raise InvalidInput(f"skill folder {raw!r} does not exist")
    if not source.is_dir():
        raise InvalidInput(f"{raw!r} is not a folder; give the folder that holds {SKILL_FILE}")
    check_name(source.name)
    skill = read_folder(source)
    store = skills_dir(home)
    store.mkdir(parents=True, exist_ok=True, mode=0o700)
    dest = store / skill.name
    if source == dest.resolve():
        raise InvalidInput(f"{source} is already the stored skill {skill.name!r}; edit it in place")
    if dest.exists() and not force:
        raise Conflict(f"skill {skill.name!r} already exists; replace it with: cao skills add --force {raw}")
    staged = staging_path(store, "add", skill.name)
    staged.mkdir(mode=0o700)
    old: Path | None = None
    try:
        _copy(source, [SKILL_FILE, *skill.files], staged)
        copied = read_folder(staged, skill.name)  # what was copied is what is checked (the source may change)
        if dest.exists():
            old = staging_path(store, "old", skill.name)
            dest.rename(old)
        staged.rename(dest)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        if old is not None and not dest.exists():
            old.rename(dest)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    copied.path = dest
    return copied


def remove_skill(home: Path, name: str) -> Path:
    """Delete the skill ``name`` from the store (renamed away first, so it vanishes at once)."""
    check_name(name)
    store = skills_dir(home)
    folder = store / name
    if folder.is_symlink() or not folder.is_dir():
        raise NotFound(f"no skill {name!r} in {store}")
    doomed = staging_path(store, "removed", name)
    folder.rename(doomed)
    with contextlib.suppress(OSError):
        shutil.rmtree(doomed)
    return folder
