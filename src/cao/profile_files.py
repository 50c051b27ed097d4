"""Profile files without the model: where they are, and how one splits into frontmatter and body.

Light on purpose (no pydantic): ``cao launch`` reads a profile's frontmatter here to warn about
fields cao ignores, without paying for the full profile model.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from cao.errors import CaoError, InvalidProfile


@functools.cache
def _yaml_handler() -> Any:
    """python-frontmatter's YAML handler, imported on first use (it and PyYAML are not needed for
    cao-server to start). The frontmatter opens and closes with a line of exactly three dashes
    (python-frontmatter's own boundary would also take '----' and swallow blank lines after it)."""
    import frontmatter

    return frontmatter.YAMLHandler(fm_boundary=re.compile(r"^---[ \t]*\r?$", re.MULTILINE))


def split(text: str, source: str) -> tuple[dict[str, Any], str]:
    """Frontmatter and body, with python-frontmatter's YAML handler.

    Its steps are called one by one, not ``frontmatter.loads``: that one accepts a file without
    frontmatter, drops a frontmatter that is not a mapping and strips the body, where a profile needs
    one-line errors that say what is wrong, and the body as written.
    """
    import yaml

    handler = _yaml_handler()
    text = text.removeprefix("\ufeff")
    try:
        if not handler.detect(text):
            raise ValueError
        raw, body = handler.split(text)
    except ValueError:
        raise InvalidProfile(f"{source}: missing YAML frontmatter (the file must start with a '---' line "
                             "and the frontmatter must end with another '---' line)") from None
    try:
        data = handler.load(raw) if raw.strip() else {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""  # raw starts on the '---' line
        problem = getattr(exc, "problem", None) or "syntax error"
        raise InvalidProfile(f"{source}: invalid YAML frontmatter{where}: {problem}") from None
    if not isinstance(data, dict):
        raise InvalidProfile(f"{source}: the frontmatter must be a YAML mapping of fields")
    return data, body.strip("\r\n")


def builtin_profiles_dir() -> Path:
    """The built-in profiles: packaged as ``cao/agent_store``, or the repository's ``agent_store/``."""
    try:
        packaged = Path(str(resources.files("cao") / "agent_store"))
    except (ModuleNotFoundError, TypeError):  # pragma: no cover - cao is always importable here
        packaged = None
    if packaged is not None and packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "agent_store"


def local_store_dir(home: Path) -> Path:
    return Path(home) / "agent-store"


def find(name: str, home: Path) -> Path | None:
    """The file a profile name loads: the local store first, then the built-ins."""
    for directory in (local_store_dir(home), builtin_profiles_dir()):
        path = directory / f"{name}.md"
        if path.is_file():
            return path
    return None


def ignored_fields(name: str, data: Mapping[str, Any], home: Path) -> list[str]:
    """Warnings for fields a profile sets that will not do what they say: ``skills:`` patterns that
    match no skill in the store."""
    skills = data.get("skills")
    if not skills or not isinstance(skills, list):
        return []
    from cao.services.skills import list_skills, seed

    seed(home)
    names = [skill.name for skill in list_skills(home) if skill.valid]
    unmatched = [str(p) for p in skills if not any(fnmatch.fnmatchcase(n, str(p)) for n in names)]
    if not unmatched:
        return []
    return [f"profile {name!r} lists skills ({', '.join(unmatched)}) that match no installed skill: the agent "
            "starts without them (see: cao skills list)"]


def launch_warnings(name: str, home: Path) -> list[str]:
    """``ignored_fields`` for the profile ``name`` loads; nothing when it cannot be read (the server says why)."""
    path = find(name, home)
    if path is None:
        return []
    try:
        data, _ = split(path.read_text(encoding="utf-8"), str(path))
    except (CaoError, OSError, UnicodeDecodeError):
        return []
    return ignored_fields(str(data.get("name") or name), data, home)
