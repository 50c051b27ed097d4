"""The built-in skills (``skills/`` of the repository, ``cao/skills`` in the wheel) and their seeding
into ``CAO_HOME/skills/``, which never overwrites a user's edits.

``CAO_HOME/skills/.builtins.json`` records the hash of each built-in as it was last copied. At each
seeding, for each built-in:

* not in the store and never seeded → copied;
* in the store, unchanged since it was seeded, and cao ships a newer text → replaced by it;
* in the store and edited by the user (its hash differs from the recorded one) → left alone;
* seeded once and since removed by the user → left removed (``cao skills add`` brings it back).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from importlib import resources
from pathlib import Path

from cao.errors import CaoError
from cao.private_files import copy_private, write_private
from cao.services.skills.store import SKILL_FILE, read_folder, skills_dir, staging_path

log = logging.getLogger(__name__)
MANIFEST = ".builtins.json"


def builtin_dir() -> Path:
    """Packaged as ``cao/skills``, or the repository's ``skills/`` when running from a checkout."""
    packaged = Path(str(resources.files("cao") / "skills"))
    if (packaged / "cao-flows" / SKILL_FILE).is_file():
        return packaged
    return Path(__file__).resolve().parents[4] / "skills"


def builtin_names() -> list[str]:
    root = builtin_dir()
    return sorted(p.parent.name for p in root.glob(f"*/{SKILL_FILE}")) if root.is_dir() else []


def folder_hash(folder: Path) -> str:
    """sha256 over every file's relative path and bytes (links and special files are not followed)."""
    digest = hashlib.sha256()
    for root, dirs, files in os.walk(folder, followlinks=False):
        dirs.sort()
        for name in sorted(files):
            path = Path(root) / name
            digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
            if path.is_file() and not path.is_symlink():
                digest.update(path.read_bytes())
            digest.update(b"\0")
    return digest.hexdigest()


def _manifest(store: Path) -> dict[str, str]:
    try:
        data = json.loads((store / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def seeded_hashes(home: Path) -> dict[str, str]:
    """name → hash of the built-in as cao last copied it."""
    return _manifest(skills_dir(home))


def _install(source: Path, store: Path, name: str) -> None:
    """Copy ``source`` to ``store/name`` through a staged folder (replacing an unedited older copy)."""
    staged = staging_path(store, "seed", name)
    try:
        copy_private(source, staged)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    dest = store / name
    old = None
    if dest.exists():
        old = staging_path(store, "old", name)
        dest.rename(old)
    staged.rename(dest)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def seed(home: Path) -> list[str]:
    """Bring the built-ins into the store (rules above); return the names copied or updated."""
    store = skills_dir(home)
    store.mkdir(parents=True, exist_ok=True, mode=0o700)
    manifest = _manifest(store)
    changed = []
    for name in builtin_names():
        source = builtin_dir() / name
        try:
            shipped = folder_hash(source)
            dest = store / name
            recorded = manifest.get(name)
            if dest.exists() or dest.is_symlink():
                if recorded is None or recorded == shipped or folder_hash(dest) != recorded:
                    continue  # the user's own folder, already current, or edited: theirs
            elif recorded is not None:
                continue  # seeded once, removed since
            read_folder(source)  # never seed a broken built-in
            _install(source, store, name)
        except (CaoError, OSError) as exc:
            log.warning("built-in skill %s not seeded: %s", name, exc)
            continue
        manifest[name] = shipped
        changed.append(name)
    if changed:
        write_private(store / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return changed


def origin(home: Path, name: str, folder: Path, manifest: dict[str, str] | None = None) -> str:
    """``built-in``, ``built-in, edited`` or ``local``, for ``cao skills list``."""
    recorded = (seeded_hashes(home) if manifest is None else manifest).get(name)
    if recorded is None:
        return "local"
    return "built-in" if folder_hash(folder) == recorded else "built-in, edited"
