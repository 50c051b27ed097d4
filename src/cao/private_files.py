"""Everything under CAO_HOME is the owner's alone: files 0600, folders 0700."""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to a file only the owner can read (created 0600, never briefly wider)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(path, 0o600)


def open_private_append(path: Path) -> int:
    """A file descriptor for appending to ``path``, created 0600 (e.g. the server log)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.fchmod(fd, 0o600)
    return fd


def precreate_private(path: Path) -> None:
    """Create an empty file 0600 if it is missing (SQLite then gives its -wal/-shm files the same mode)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    os.chmod(path, 0o600)


def tighten(home: Path) -> None:
    """Make an existing CAO_HOME (e.g. one an older cao created 0644) private again; links are left alone."""
    if not home.is_dir():
        return
    with contextlib.suppress(OSError):
        os.chmod(home, 0o700)
    for root, dirs, files in os.walk(home):
        for name in dirs:
            with contextlib.suppress(OSError):
                path = os.path.join(root, name)
                if not os.path.islink(path):
                    os.chmod(path, 0o700)
        for name in files:
            with contextlib.suppress(OSError):
                path = os.path.join(root, name)
                if not os.path.islink(path):
                    os.chmod(path, 0o600)


def copy_private(source: Path, target: Path) -> None:
    """Copy the folder ``source`` to ``target`` (which must not exist): files 0600, folders 0700.

    Links and special files are skipped (a skill folder in cao's store has none; see services/skills)."""
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    for root, dirs, files in os.walk(source, followlinks=False):
        here = target / os.path.relpath(root, source)
        os.mkdir(here, 0o700)
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(root, d))]
        for name in files:
            path = os.path.join(root, name)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            fd = os.open(here / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out, open(path, "rb") as src:
                shutil.copyfileobj(src, out)
